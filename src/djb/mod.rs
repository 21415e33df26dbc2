//! djb's conventions shared by several programs: the pieces of daemontools'
//! own library (`sgetopt`, `scan_ulong`) whose exact behaviour is
//! observable, each written once.
//!
//! * [`getopt`]: `sgetopt`/`subgetopt`, the option parser of `svc`,
//!   `setlock` and `softlimit`, with its error messages.
//! * [`scan`]: `scan_ulong`, the number reader of `multilog`'s `s`/`n`
//!   actions and `softlimit`'s arguments.
//!
//! Nothing here makes system calls; those are in [`crate::sys`].

pub mod getopt;
pub(crate) mod scan;
