//! The `setlock` program; see [`daemontools::chain::setlock`].
daemontools::std_main!(daemontools::chain::setlock);
