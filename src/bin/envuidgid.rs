//! The `envuidgid` program; see [`daemontools::chain::envuidgid`].
daemontools::std_main!(daemontools::chain::envuidgid);
