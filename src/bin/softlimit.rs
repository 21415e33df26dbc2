//! The `softlimit` program; see [`daemontools::chain::softlimit`].
daemontools::std_main!(daemontools::chain::softlimit);
