//! The `fghack` program; see [`daemontools::chain::fghack`].
daemontools::std_main!(daemontools::chain::fghack);
