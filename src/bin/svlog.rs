//! The `svlog` program; see [`daemontools::svlog`].
daemontools::std_main!(daemontools::svlog);
