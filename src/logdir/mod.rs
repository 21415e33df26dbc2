//! The log directory's format, in one place: what multilog writes and
//! every reader (svlog, the follower, logship, svmetrics) reads.
//!
//! - `names.rs`: the names of a log directory (`current`, `previous`,
//!   `processed`, `state`, `lock`, `inflight`, `compressing`), archive
//!   names `@<label>.s`, `.u`, `.s.zst` and the names an archive has later
//!   (`.u` → `.s` → `.s.zst`) when it is renamed while someone reads it.
//! - `files.rs`: the archives in the order multilog wrote them, one per
//!   label, and reading at an offset.
//! - `open.rs`: opening a file of the directory under its later names,
//!   never waiting on a FIFO nor following a symbolic link, and only a
//!   regular file.
//! - `zst.rs`: a `.s.zst` decompressed as it is read (bounded memory), or
//!   whole into a memory file for the follower.
//! - `tail.rs`: where the last N lines start, reading backwards.
//! - `service.rs`: which log directory a service directory stands for.
//!
//! This module sits below multilog, the follower and every reader: it
//! imports none of them.

pub(crate) mod files;
pub mod names;
pub(crate) mod open;
pub(crate) mod service;
pub(crate) mod tail;
pub(crate) mod zst;

pub(crate) use files::{archives, read_at_as, LogFile, ReadAt};
pub(crate) use names::archive_kind;
pub(crate) use service::{resolve, service_name};
pub(crate) use tail::tail_start;
pub(crate) use zst::decompress;
