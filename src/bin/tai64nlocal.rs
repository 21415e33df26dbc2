//! The `tai64nlocal` program; see [`daemontools::filters::tai64nlocal`].
daemontools::std_main!(daemontools::filters::tai64nlocal);
