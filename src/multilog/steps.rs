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
//! Settling a step left by a killed predecessor is [`super::settle`]'s.

use std::os::fd::OwnedFd;
use std::time::Instant;

use rustix::io::Errno;

use super::engine::Engine;
use super::inflight::{Record, Step};
use super::input::{PipeInput, STEP};
use super::{wait_input, Signals};

/// The pipe, the record and the carry of a stepwise multilog.
pub(crate) struct Stepper {
    pub(super) input: PipeInput,
    pub(super) rec: Record,
    pub(super) carry: Vec<u8>,
    pub(super) first: OwnedFd,
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
