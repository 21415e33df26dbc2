//! Service supervision: `supervise`, `svscan`, `svscanboot`, `svc`,
//! `svstat`, `svok`, `readproctitle` (daemontools 0.76 §6–§11), and
//! `svinit`, which runs svscan's loop as a container's init. One module
//! per program; the chain-loading tools are in [`crate::chain`].
//!
//! # Theory of operation
//!
//! `svscan` reads its directory every 5 seconds (and on inotify events) and
//! starts one `supervise NAME` per service directory, plus `supervise log`
//! in `NAME` when `NAME/log` exists, joined by a pipe that svscan keeps open.
//! `supervise` runs `./run`, restarts it one second after each start when it
//! exits, and listens for one-byte commands on the `supervise/control` FIFO
//! (written by `svc`). It publishes its state as an 18-byte record in
//! `supervise/status` ([`status`]), read by `svstat`; `svok` and `svstat`
//! test whether supervise is alive by opening the `supervise/ok` FIFO for
//! writing, which fails with ENXIO when nobody holds it open for reading.
//! `svscanboot` starts `svscan` at boot with its errors going to
//! `readproctitle`.
//!
//! Opt-in extensions, following s6: files in the service directory
//! (`extfiles`: `notification-fd`, `finish`, `timeout-finish`,
//! `down-signal`, `timeout-kill`, `process-group`, `backoff`) switch on
//! readiness, a finish step, another down signal, a kill timeout, whole
//! process-group signalling and crash-loop back-off (`ext`). supervise
//! publishes the extra state in a second record, `supervise/extstatus`
//! ([`extstatus`]), for every service; `svstat` adds it to its line for
//! services using the files and `svstat-json` prints it as JSON.
//!
//! Shared pieces: [`servicedir`] (the names and opens of the files in a
//! service directory), [`status`] (the status record), [`extstatus`] (the
//! extra 32-byte state record beside it), [`observe`] (reading both from
//! outside, for `svwait` and `svmetrics`), [`control`] (the command
//! letters).

pub(crate) mod control;
pub(crate) mod ext;
pub(crate) mod extfiles;
pub mod extstatus;
pub(crate) mod observe;
pub mod readproctitle;
pub(crate) mod servicedir;
pub mod status;
#[allow(clippy::module_inception)]
pub mod supervise;
pub mod svc;
pub mod svinit;
pub mod svmetrics;
pub mod svok;
pub mod svscan;
pub mod svscanboot;
pub mod svstat;
pub mod svstat_json;
pub mod svwait;
