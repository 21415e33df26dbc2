//! The `logship` program; see [`daemontools::logship`].
daemontools::std_main!(daemontools::logship);
