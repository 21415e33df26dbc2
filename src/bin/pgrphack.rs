//! The `pgrphack` program; see [`daemontools::chain::pgrphack`].
daemontools::std_main!(daemontools::chain::pgrphack);
