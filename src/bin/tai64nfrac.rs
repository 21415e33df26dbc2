//! The `tai64nfrac` program; see [`daemontools::filters::tai64nfrac`].
daemontools::std_main!(daemontools::filters::tai64nfrac);
