//! The `setuidgid` program; see [`daemontools::chain::setuidgid`].
daemontools::std_main!(daemontools::chain::setuidgid);
