//! The `svscanboot` program; see [`daemontools::supervise::svscanboot`].
daemontools::std_main!(daemontools::supervise::svscanboot);
