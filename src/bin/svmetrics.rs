//! The `svmetrics` program; see [`daemontools::svmetrics`].
daemontools::std_main!(daemontools::svmetrics);
