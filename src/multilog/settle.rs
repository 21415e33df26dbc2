//! Starting a multilog that reads a pipe in steps ([`super::steps`]):
//! settling the step a killed predecessor left in flight.
//!
//! The record is read before any directory is touched and is acted on
//! only if it was made on this pipe, for this script, and every field is
//! in range (see [`super::inflight::codec`]); a `step` record must also
//! agree with every `current` (each between its sizes before and after
//! the step). Anything else is ignored with a warning, and the
//! directories recover as daemontools does (`current` archived as `.u`).
//!
//! Then: if every `current` has its recorded final size, the step's
//! writes are complete and its input is taken off stdin if that had not
//! happened (the witness in the record, and the first byte of the pipe,
//! tell how much had); otherwise every `current` is cut back to its
//! recorded start and the step is simply done again. Either way `current`
//! is consistent and is continued, not archived as `.u`.

use std::os::fd::OwnedFd;

use super::engine::Engine;
use super::inflight::{refusal, Found, Record, Step, MAX_DIRS, NAME};
use super::input::PipeInput;
use super::logdir::{booted, Locked, LogDir};
use super::script::Script;
use super::steps::Stepper;
use crate::error::{self, Fatal, Unable};
use crate::logdir::names::CURRENT;

/// Start the engine; stepwise (with `Some(Stepper)`) when stdin is a pipe
/// and there are between 1 and [`MAX_DIRS`] directories.
///
/// # Errors
/// Start-up failures, with daemontools' messages.
pub(crate) fn start(
    script: &Script,
    startfd: &OwnedFd,
) -> Result<(Engine, Option<Stepper>), Fatal> {
    let n = script.dirs.len();
    let input = if (1..=MAX_DIRS).contains(&n) {
        PipeInput::open()
    } else {
        None
    };
    let Some(mut input) = input else {
        let engine = Engine::start(script, startfd)?;
        if let Some(d) = script.dirs.first() {
            // Read as daemontools reads, `current` has just been archived
            // as `.u` if it was not closed cleanly: a record left by an
            // earlier run on a pipe no longer describes it, and must not
            // be applied by a later one.
            let mut path = d.name.clone();
            path.extend_from_slice(b"/");
            path.extend_from_slice(NAME.as_bytes());
            let _ = rustix::fs::unlinkat(startfd, &path[..], rustix::fs::AtFlags::empty());
        }
        return Ok((engine, None));
    };
    let (regex, status) = Engine::prepare(script, startfd)?;
    let names: Vec<&[u8]> = script.dirs.iter().map(|d| &d.name[..]).collect();
    let dir0 = dir_name(&script.dirs[0].name);
    discard_if_before_boot(startfd, &script.dirs[0].name);
    let pipe = input.id();
    // A refusal is announced once the first directory is locked: a
    // multilog still running there fails to lock it, and says only that.
    let mut refused = None;
    let mut seen =
        Record::look(startfd, &script.dirs[0].name, &names, pipe).unwrap_or_else(|why| {
            refused = Some(refusal(&dir0, &why));
            Found::Nothing
        });
    // Was the step in flight complete? Every `current` is looked at
    // before the first one is cut back; one outside the step's sizes
    // means the record is not about these files.
    let mut complete = true;
    if let Found::Step(s) = &seen {
        let lens: Vec<u64> = script
            .dirs
            .iter()
            .map(|d| current_len(startfd, &d.name).unwrap_or(0))
            .collect();
        let odd = lens
            .iter()
            .zip(&s.dirs)
            .position(|(&n, &(a, b, _, _))| n < a || n > b);
        if let Some(k) = odd {
            let d = dir_name(&script.dirs[k].name);
            refused = Some(format!(
                "ignoring {dir0}/{NAME}: it does not match {d}/current"
            ));
            seen = Found::Nothing;
        } else {
            complete = lens.iter().zip(&s.dirs).all(|(&n, d)| n == d.1);
        }
    }
    let keep = !matches!(seen, Found::Nothing);
    let mut dirs = Vec::with_capacity(n);
    let mut first = None;
    for (k, spec) in script.dirs.iter().enumerate() {
        let l = LogDir::lock(startfd, spec)?;
        if let (Found::Step(s), false) = (&seen, complete) {
            cut_current(&l, s.dirs[k].0)?;
        }
        if k == 0 {
            if let Some(why) = refused.take() {
                error::warn("multilog", &why, None);
            }
            first = Some(
                rustix::io::fcntl_dupfd_cloexec(l.dirfd(), 0)
                    .unable(|| format!("open directory {}", l.name()))?,
            );
        }
        dirs.push(l.start(keep)?);
    }
    let first = first.expect("at least one directory");
    let (mut rec, found) = Record::open(&first, &dir0, &names, pipe, &seen)?;
    let mut engine = Engine::assemble(script, regex, status, dirs);
    rec.free = engine.dirs()[0].space_freer(NAME);
    engine.set_stepwise();
    match found {
        Found::Step(s) => settle(&mut engine, &mut input, &mut rec, &s, complete),
        Found::Idle(_, long, sel) => engine.set_long_state(long, &sel),
        Found::Nothing => {}
    }
    let (long, sel) = engine.long_state();
    rec.long = (long, sel.to_vec());
    rec.idle();
    let carry = rec.carry()?;
    if !carry.is_empty() {
        engine.restamp_held();
    }
    Ok((
        engine,
        Some(Stepper {
            input,
            rec,
            carry,
            first,
        }),
    ))
}

/// A record last changed before the system booted was left by a power
/// cut: the pipe it describes is gone, and what it says of `current` may
/// not have reached the disk. It is removed, so `current` is archived as
/// `.u` as daemontools does (the boot-time rule of `logdir::recover`).
fn discard_if_before_boot(startfd: &OwnedFd, dir: &[u8]) {
    let mut path = dir.to_vec();
    path.extend_from_slice(b"/");
    path.extend_from_slice(NAME.as_bytes());
    let Ok(st) = rustix::fs::statat(startfd, &path[..], rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
    else {
        return;
    };
    let changed = (st.st_ctime, i64::try_from(st.st_ctime_nsec).unwrap_or(0));
    if changed < booted() {
        let _ = rustix::fs::unlinkat(startfd, &path[..], rustix::fs::AtFlags::empty());
    }
}

fn dir_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Size of directory `dir`'s `current`, if it has one.
fn current_len(startfd: &OwnedFd, dir: &[u8]) -> Option<u64> {
    let mut path = dir.to_vec();
    path.extend_from_slice(b"/current");
    rustix::fs::statat(startfd, &path[..], rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| st.st_size as u64)
}

/// Cut `current` back to `a` bytes (never extend it).
fn cut_current(l: &Locked, a: u64) -> Result<(), Fatal> {
    let len = rustix::fs::statat(l.dirfd(), CURRENT, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| st.st_size as u64);
    if len.is_none_or(|n| n <= a) {
        return Ok(());
    }
    let f = rustix::fs::openat(
        l.dirfd(),
        CURRENT,
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .unable(|| format!("write to {}/current", l.name()))?;
    rustix::fs::ftruncate(&f, a).unable(|| format!("write to {}/current", l.name()))
}

/// Finish what a killed predecessor's step left (see the module doc).
/// The record has passed `codec::decode`'s range checks, so every
/// subtraction here is exact and every count at most a step.
fn settle(engine: &mut Engine, input: &mut PipeInput, rec: &mut Record, s: &Step, complete: bool) {
    if !complete {
        let sel: Vec<bool> = s.dirs.iter().map(|d| d.2).collect();
        engine.set_long_state(s.long_before, &sel);
        rec.logged = s.logged0;
        return;
    }
    let sel: Vec<bool> = s.dirs.iter().map(|d| d.3).collect();
    engine.set_long_state(s.long_after, &sel);
    if s.npipe == 0 {
        rec.logged = s.logged0 + s.carry_used;
        return;
    }
    let w = s.npipe - s.j;
    let seen = rec.end.saturating_sub(s.w0);
    let (j, left) = if seen >= w {
        (0, 0)
    } else if seen > 0 || s.j == 0 {
        // The unwitnessed part went first, so it is gone.
        (0, w - seen)
    } else {
        // Nothing witnessed: the pipe starts with the step's first byte
        // if nothing was taken, with a different byte (chosen so) if the
        // unwitnessed part was.
        let mut one = [0u8; 1];
        match input.peek(&mut one) {
            Ok(1) if one[0] == s.b0 => (s.j, w),
            Ok(1) => (0, w),
            _ => (0, 0),
        }
    };
    let (j, left) = (
        usize::try_from(j).unwrap_or(0),
        usize::try_from(left).unwrap_or(0),
    );
    input.consume(j, left, rec);
    rec.logged = rec.end;
}
