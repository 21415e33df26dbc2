//! The `envdir` program; see [`daemontools::chain::envdir`].
daemontools::std_main!(daemontools::chain::envdir);
