//! The `multilog` program; see [`daemontools::multilog`].
daemontools::std_main!(daemontools::multilog);
