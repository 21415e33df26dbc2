//! daemontools-rs: a drop-in reimplementation of daemontools 0.76.
//!
//! | program | module |
//! |---|---|
//! | `multilog` | [`multilog`] |
//! | `tai64n` | [`filters::tai64n`] |
//! | `tai64nlocal` | [`filters::tai64nlocal`] |
//! | `tai64nfrac` | [`filters::tai64nfrac`] |
//! | `supervise` | [`supervise::supervise`] |
//! | `svscan` | [`supervise::svscan`] |
//! | `svscanboot` | [`supervise::svscanboot`] |
//! | `svinit` | [`supervise::svinit`] |
//! | `svc` | [`supervise::svc`] |
//! | `svstat` | [`supervise::svstat`] |
//! | `svstat-json` | [`supervise::svstat_json`] |
//! | `svok` | [`supervise::svok`] |
//! | `readproctitle` | [`supervise::readproctitle`] |
//! | `setuidgid` | [`chain::setuidgid`] |
//! | `envuidgid` | [`chain::envuidgid`] |
//! | `envdir` | [`chain::envdir`] |
//! | `softlimit` | [`chain::softlimit`] |
//! | `setlock` | [`chain::setlock`] |
//! | `pgrphack` | [`chain::pgrphack`] |
//! | `fghack` | [`chain::fghack`] |
//! | `svlog` | [`svlog`] |
//! | `svwait` | [`supervise::svwait`] |
//! | `svmetrics` | [`supervise::svmetrics`] |
//! | `logship` | [`logship`] |
//!
//! # Entry convention
//!
//! Every program module has `pub fn run(args: MainArgs) -> u8`
//! ([`sys::cmain::MainArgs`]: argv and envp): it prints its own messages
//! (through [`error`]) and returns the process's exit code. A start-up
//! failure travels as an [`error::Fatal`], which carries its exit code and is
//! turned into the code by [`error::Fatal::report`] inside `run`. Each binary
//! in `src/bin/` is one line:
//!
//! * `c_main!(module)` ([`c_main!`]) for the supervision programs that must
//!   not have std's runtime start-up (`supervise`, `svscan`, `svinit`, `svc`,
//!   `svstat`, `svok`, `readproctitle`);
//! * `std_main!(module)` ([`std_main!`]) for the others, whose `MainArgs` come
//!   from std ([`sys::cmain::MainArgs::from_std`]).
//!
//! Shared by several programs:
//!
//! | module | what |
//! |---|---|
//! | [`tai64`] | TAI64N labels and local time |
//! | [`logdir`] | the log directory's names, archive order, opening, `.s.zst`, service → log directory |
//! | [`error`] | daemontools' message forms, djb's errno wording, exit codes |
//! | [`djb`] | djb's `sgetopt` and `scan_ulong` |
//! | [`cli`] | `--help`, `--version` and usage errors of the new programs |
//! | [`chain::prologue`] | messages and exec-or-die of the chain-loading tools |
//! | [`supervise::status`] | the 18-byte `supervise/status` record |
//! | [`supervise::extstatus`] | the 32-byte `supervise/extstatus` record |
//! | [`supervise::control`] | `svc`'s command letters |
//! | [`sys`] | the system-call layer, the only place with `unsafe` |
#![deny(unsafe_op_in_unsafe_fn)]

pub mod chain;
pub mod cli;
pub mod djb;
pub mod error;
pub mod filters;
pub(crate) mod follow;
pub mod logdir;
pub mod logship;
pub mod multilog;
pub mod supervise;
pub mod svlog;
pub mod sys;
pub mod tai64;

#[cfg(test)]
mod readers_agree;
