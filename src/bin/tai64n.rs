//! The `tai64n` program; see [`daemontools::filters::tai64n`].
daemontools::std_main!(daemontools::filters::tai64n);
