//! Reading a stdin pipe in steps, so that a multilog killed at any instant
//! loses and repeats nothing: the next one, started on the same pipe (as
//! supervise does), logs exactly what this one had not.
//!
//! A step is: peek input ([`PipeInput::peek`]); let the engine put lines
//! into the directories' buffers, stopping at the first rotation point;
//! record the step ([`Record::begin`]: each `current`'s size before and
//! after, how many input bytes it logs); write the buffers; take exactly
//! those input bytes off stdin ([`PipeInput::consume`]); rotate if a
//! directory is at a rotation point (after making the record idle). An
//! incomplete line stays in the pipe until its newline arrives; when the
//! pipe holds nothing else, it is moved into the record (the *carry*) so
//! that multilog can wait in `poll`.
//!
//! Settling a step at start-up ([`start`]): if every `current` has its
//! recorded final size, the step's writes are complete and its input is
//! taken off stdin if that had not happened (the witness in the record,
//! and the first byte of the pipe, tell how much had); otherwise every
//! `current` is cut back to its recorded start and the step is simply
//! done again. Either way `current` is consistent and is continued, not
//! archived as `.u`.

use std::os::fd::OwnedFd;
use std::time::Instant;

use rustix::io::Errno;

use super::engine::Engine;
use super::inflight::{Found, Record, Step, MAX_DIRS, NAME};
use super::input::{PipeInput, STEP};
use super::logdir::{booted, Locked, LogDir};
use super::script::Script;
use super::{wait_input, Signals};
use crate::error::{Fatal, Unable};

/// The pipe, the record and the carry of a stepwise multilog.
pub(crate) struct Stepper {
    input: PipeInput,
    rec: Record,
    carry: Vec<u8>,
    first: OwnedFd,
}

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
    discard_if_before_boot(startfd, &script.dirs[0].name);
    // Was the step in flight complete? Every `current` is looked at
    // before the first one is cut back.
    let seen = Record::look(startfd, &script.dirs[0].name, &names);
    let complete = match &seen {
        Found::Step(s) => script
            .dirs
            .iter()
            .zip(&s.dirs)
            .all(|(d, &(_, b, _, _))| current_len(startfd, &d.name) == Some(b)),
        _ => true,
    };
    let keep = !matches!(seen, Found::Nothing);
    let mut dirs = Vec::with_capacity(n);
    let mut first = None;
    for (k, spec) in script.dirs.iter().enumerate() {
        let l = LogDir::lock(startfd, spec)?;
        if let (Found::Step(s), false) = (&seen, complete) {
            cut_current(&l, s.dirs[k].0)?;
        }
        if k == 0 {
            first = Some(
                rustix::io::fcntl_dupfd_cloexec(l.dirfd(), 0)
                    .unable(|| format!("open directory {}", l.name()))?,
            );
        }
        dirs.push(l.start(keep)?);
    }
    let first = first.expect("at least one directory");
    let (mut rec, found) = Record::open(&first, &dir_name(&script.dirs[0].name), &names)?;
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
    let len = rustix::fs::statat(l.dirfd(), "current", rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| st.st_size as u64);
    if len.is_none_or(|n| n <= a) {
        return Ok(());
    }
    let f = rustix::fs::openat(
        l.dirfd(),
        "current",
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .unable(|| format!("write to {}/current", l.name()))?;
    rustix::fs::ftruncate(&f, a).unable(|| format!("write to {}/current", l.name()))
}

/// Finish what a killed predecessor's step left (see the module doc).
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

impl Stepper {
    /// After a clean exit: the record is no longer needed.
    pub(crate) fn finish(self) {
        self.rec.remove(&self.first);
    }
}

/// Split the step's stdin bytes: `(j, b0)` such that `p[j] != p[0]` when
/// `j > 0`; `j` is as large as possible, so the witness is small.
fn split(p: &[u8]) -> (u64, u8) {
    match p.first() {
        None => (0, 0),
        Some(&b0) => (p.iter().rposition(|&c| c != b0).unwrap_or(0) as u64, b0),
    }
}

/// Record, write and consume one step the engine has just buffered.
fn commit(engine: &mut Engine, st: &mut Stepper, step: &mut Step, pipe_bytes: &[u8]) {
    let (j, b0) = split(pipe_bytes);
    step.npipe = pipe_bytes.len() as u64;
    step.j = j;
    step.b0 = b0;
    step.logged0 = st.rec.logged;
    step.w0 = st.rec.end;
    let (after, sel) = engine.long_state();
    step.long_after = after;
    for ((d, rec), &s) in engine.dirs().iter().zip(&mut step.dirs).zip(sel) {
        rec.1 = d.written() + d.buffered() as u64;
        rec.3 = s;
    }
    st.rec.begin(step);
    st.rec.long.0 = step.long_after;
    for (r, d) in st.rec.long.1.iter_mut().zip(&step.dirs) {
        *r = d.3;
    }
    engine.flush();
    if step.npipe > 0 {
        let j = usize::try_from(j).unwrap_or(0);
        st.input.consume(j, pipe_bytes.len() - j, &mut st.rec);
        st.rec.logged = st.rec.end;
    } else {
        st.rec.logged += step.carry_used;
    }
    if engine.rotation_due() {
        st.rec.idle();
        engine.rotate_due();
    }
}

/// The state of the engine before a step, for its record.
fn before(engine: &Engine) -> Step {
    let (long, sel) = engine.long_state();
    Step {
        long_before: long,
        dirs: engine
            .dirs()
            .iter()
            .zip(sel)
            .map(|(d, &s)| (d.written(), 0, s, false))
            .collect(),
        ..Step::default()
    }
}

/// `doit` for a stdin pipe: returns at EOF, on a read error, or after
/// SIGTERM at a line boundary.
pub(crate) fn doit(engine: &mut Engine, signals: &mut Signals, st: &mut Stepper) {
    let mut inbuf = vec![0u8; STEP].into_boxed_slice();
    // inbuf[..c] is the carry; an incomplete line of `held` bytes starts
    // the buffer, of which `held - c` are still in the pipe.
    let mut c = st.carry.len();
    inbuf[..c].copy_from_slice(&st.carry);
    st.carry = Vec::new();
    let mut held = c;
    let mut eof = false;
    loop {
        engine.flush();
        if signals.alarm() {
            st.rec.idle();
            engine.rotate_nonempty();
        }
        // `R`: a rotation by age, like every rotation, between steps and
        // with the record idle; it also happens while the pipe is empty.
        let now = Instant::now();
        if engine.timer_due(now) {
            st.rec.idle();
        }
        let timeout = engine.timers_at(now);
        let terminating = signals.terminating();
        if terminating && held == 0 && !engine.in_long_line() {
            break;
        }
        if !wait_input(signals, timeout) {
            continue;
        }
        if engine.rotation_due() {
            st.rec.idle();
            engine.rotate_due();
        }
        // No need to stop short of the next rotation point: a step ends
        // there, and unwritten input stays in the pipe anyway.
        let want = STEP - c;
        let n = match st.input.peek(&mut inbuf[c..c + want]) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => n,
            Err(Errno::INTR | Errno::AGAIN) => continue,
            Err(_) => break,
        };
        let in_pipe = held - c;
        if n <= in_pipe {
            // Only the incomplete line: take it into the carry, so that
            // poll waits for more.
            st.rec.idle();
            st.input.consume(0, n, &mut st.rec);
            c += n;
            continue;
        }
        let mut len = c + n;
        if terminating {
            // Finish the current line only; the rest stays in the pipe.
            if let Some(i) = memchr::memchr(b'\n', &inbuf[..len]) {
                len = i + 1;
            }
        }
        let mut pos = 0;
        while pos < len {
            let mut step = before(engine);
            let k = engine.process(&inbuf[pos..len], held);
            if k == 0 && engine.dirs().iter().all(|d| d.buffered() == 0) {
                break;
            }
            held = 0;
            let from_carry = k.min(c.saturating_sub(pos));
            step.carry_used = from_carry as u64;
            let pipe_bytes = &inbuf[pos + from_carry..pos + k];
            commit(engine, st, &mut step, pipe_bytes);
            pos += k;
        }
        c = c.saturating_sub(pos);
        inbuf.copy_within(pos..len, 0);
        held = len - pos;
        st.rec.maybe_reset();
    }
    if eof {
        if engine.rotation_due() {
            st.rec.idle();
            engine.rotate_due();
        }
        let mut step = before(engine);
        engine.eof(&inbuf[..held]);
        if c > 0 || engine.dirs().iter().any(|d| d.buffered() > 0) {
            step.carry_used = c as u64;
            commit(engine, st, &mut step, &[]);
        }
    }
}
