//! `multilog`: read a log from stdin, select lines, stamp them, and keep them
//! in automatically rotated log directories (ports `multilog.c`).
//!
//! Layers:
//! * [`script`] compiles argv into actions before any directory is touched;
//! * [`pattern`] is djb's non-backtracking matcher;
//! * [`engine`] splits input blocks into lines with `memchr` and applies the
//!   script, copying each line once into the output buffers;
//! * [`logdir`] writes `current`, rotates, finishes and trims;
//! * [`retry`] is the single "pausing" loop for every disk error.
//!
//! Differences from daemontools (all invisible in the files produced):
//! input is read in 128 KiB blocks and output written in up to 256 KiB
//! blocks; lines read together share one `t` timestamp; rotated files are
//! finished on a background thread; SIGPIPE does not kill multilog (a `e`
//! write to a closed stderr is ignored, as daemontools ignores other stderr
//! errors). See [`logdir`] for the durability improvements.

pub mod engine;
pub mod inflight;
pub(crate) mod input;
pub(crate) mod logdir;
pub mod pattern;
pub(crate) mod regexsel;
pub(crate) mod retry;
pub mod script;
pub(crate) mod settle;
pub mod stamp;
pub(crate) mod statusfile;
pub(crate) mod steps;

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;

use rustix::event::{PollFd, PollFlags};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;

use crate::error::{Fatal, Unable};
use crate::sys::cmain::MainArgs;
use crate::sys::signals::{self, Sigpipe};
use engine::Engine;
use script::Script;

/// Size of the input buffer.
pub const INBUF: usize = 128 * 1024;
/// The smallest read, even when a rotation is due sooner.
pub(crate) const MIN_READ: usize = 4096;

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Ignore;

/// Entry point of the `multilog` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    match multilog(main.argv.into_iter().skip(1).collect()) {
        Ok(()) => 0,
        Err(f) => f.report("multilog"),
    }
}

/// SIGTERM and SIGALRM through the process's self-pipe
/// ([`signals::selfpipe_catch`]).
pub(crate) struct Signals {
    /// The self-pipe's read end.
    wake: OwnedFd,
    /// SIGTERM has arrived.
    term: bool,
}

fn install_signals() -> io::Result<Signals> {
    let (wake, tx) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    signals::selfpipe_catch(&[libc::SIGTERM, libc::SIGALRM], tx)?;
    Ok(Signals { wake, term: false })
}

impl Signals {
    /// Has SIGALRM arrived since the last look?
    fn alarm(&mut self) -> bool {
        signals::caught(libc::SIGALRM)
    }

    /// Has SIGTERM arrived (ever)?
    fn terminating(&mut self) -> bool {
        self.term |= signals::caught(libc::SIGTERM);
        self.term
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = rustix::io::read(&self.wake, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}

/// Run multilog with `args` (the script) on stdin.
///
/// # Errors
/// Start-up failures, with daemontools' messages (exit 111).
pub(crate) fn multilog(args: Vec<OsString>) -> Result<(), Fatal> {
    rustix::process::umask(Mode::from_raw_mode(0o022));
    let startfd: OwnedFd = rustix::fs::open(
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unable(|| "switch to current directory".into())?;
    let mut signals = install_signals().unable(|| "install signal handlers".into())?;
    let script = Script::parse(&args);
    let (mut engine, stepper) = settle::start(&script, &startfd)?;
    match stepper {
        Some(mut st) => {
            steps::doit(&mut engine, &mut signals, &mut st);
            engine.quit();
            st.finish();
        }
        None => {
            doit(&mut engine, &mut signals);
            engine.quit();
        }
    }
    Ok(())
}

/// Block until stdin is readable, a signal arrives or `timeout` (an `R`
/// rotation) passes; true if stdin is readable and no signal came (signals
/// are handled before reading more).
pub(crate) fn wait_input(signals: &Signals, timeout: Option<std::time::Duration>) -> bool {
    let timeout = timeout.map(|t| {
        // At least a millisecond: a wake-up a little early never spins.
        let t = t.max(std::time::Duration::from_millis(1));
        rustix::time::Timespec {
            tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(t.subsec_nanos()),
        }
    });
    let stdin = rustix::stdio::stdin();
    let mut fds = [
        PollFd::new(&stdin, PollFlags::IN),
        PollFd::new(&signals.wake, PollFlags::IN),
    ];
    match rustix::event::poll(&mut fds, timeout.as_ref()) {
        Ok(_) => {
            if !fds[1].revents().is_empty() {
                signals.drain();
                return false;
            }
            !fds[0].revents().is_empty()
        }
        Err(Errno::INTR) => false,
        // poll itself failed (ENOMEM): let read() report what is wrong
        // with stdin, after a short nap so that a nonblocking stdin cannot
        // turn a lasting failure into a busy loop.
        Err(_) => {
            std::thread::sleep(std::time::Duration::from_millis(10));
            true
        }
    }
}

/// `doit`: the reading loop. Returns at EOF, on a read error (treated as
/// EOF, as daemontools does), or after SIGTERM at a line boundary.
fn doit(engine: &mut Engine, signals: &mut Signals) {
    let mut inbuf = vec![0u8; INBUF].into_boxed_slice();
    let mut held = 0usize;
    loop {
        // flushread: flush before every read, then act on ALRM and TERM.
        // Nothing read stays in memory across a read, so a SIGKILL loses at
        // most the block being processed.
        engine.flush();
        if signals.alarm() {
            engine.rotate_nonempty();
        }
        let timeout = engine.timers();
        let terminating = signals.terminating();
        if terminating && held == 0 && !engine.in_long_line() {
            break;
        }
        // Wait in poll in every state, after TERM too: stdin may be
        // O_NONBLOCK (its file description is shared with the writer's
        // side of a pipeline), and a read that fails with EAGAIN must not
        // lead straight back to read. Polling also lets ALRM rotate while
        // multilog waits for the end of a line after TERM, as daemontools'
        // interrupted read returns to flushread.
        if !wait_input(signals, timeout) {
            continue;
        }
        // After TERM, read one byte at a time so nothing past the current
        // line is consumed.
        // Otherwise read no further than the next rotation point (but at
        // least MIN_READ): a rotation that has to wait for the disk or the
        // processor then holds little unwritten input.
        let want = if terminating {
            held + 1
        } else {
            held + engine.room().clamp(MIN_READ, INBUF - held)
        };
        let n = match rustix::io::read(rustix::stdio::stdin(), &mut inbuf[held..want]) {
            Ok(0) => break,
            Ok(n) => n,
            // Back to flushread and poll: never a busy loop.
            Err(Errno::INTR | Errno::AGAIN) => continue,
            Err(_) => break,
        };
        held = absorb(engine, &mut inbuf, held, n);
    }
    engine.eof(&inbuf[..held]);
}

/// Process `n` bytes just read into `inbuf[held..]` after the `held` bytes
/// of an incomplete line; move what is still incomplete to the front and
/// return its length (always under 1000 bytes).
pub fn absorb(engine: &mut Engine, inbuf: &mut [u8], held: usize, n: usize) -> usize {
    let end = held + n;
    let consumed = engine.process(&inbuf[..end], held);
    inbuf.copy_within(consumed..end, 0);
    end - consumed
}

#[cfg(test)]
mod ext_props;
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ffi::OsString;

    /// Run a script in-process over `input` delivered in `chunks`-sized reads.
    fn run_chunked(args: &[&str], input: &[u8], chunks: &[usize]) -> tempfile::TempDir {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        run_chunked_with(&args, input, chunks, |_, _| {})
    }

    /// [`run_chunked`] with `each(engine, k)` called after the `k`-th read.
    pub(super) fn run_chunked_with(
        args: &[OsString],
        input: &[u8],
        chunks: &[usize],
        mut each: impl FnMut(&mut Engine, usize),
    ) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let startfd: OwnedFd = rustix::fs::open(
            dir.path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let mut engine = Engine::start(&Script::parse(args), &startfd).unwrap();
        let mut inbuf = vec![0u8; INBUF];
        let (mut held, mut rest, mut i) = (0, input, 0);
        while !rest.is_empty() {
            let want = chunks[i % chunks.len()]
                .clamp(1, INBUF - held)
                .min(rest.len());
            inbuf[held..held + want].copy_from_slice(&rest[..want]);
            held = absorb(&mut engine, &mut inbuf, held, want);
            rest = &rest[want..];
            i += 1;
            each(&mut engine, i);
        }
        engine.eof(&inbuf[..held]);
        engine.quit();
        dir
    }

    /// `@*` files in name order, then `current`, concatenated.
    fn logged(dir: &std::path::Path) -> (Vec<u8>, Vec<usize>) {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('@'))
            .collect();
        names.sort();
        names.push("current".into());
        let mut all = Vec::new();
        let mut sizes = Vec::new();
        for n in names {
            let b = std::fs::read(dir.join(n)).unwrap();
            sizes.push(b.len());
            all.extend(b);
        }
        (all, sizes)
    }

    /// Input made of short lines, long lines and arbitrary bytes.
    fn input() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                3 => proptest::collection::vec(any::<u8>(), 0..120),
                1 => (0usize..3000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
                1 => Just(b"ERROR here\n".to_vec()),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    /// What daemontools would log: every line, each ending in a newline.
    fn with_final_newline(input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        if v.last().is_some_and(|&c| c != b'\n') {
            v.push(b'\n');
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_chunking_and_size_logs_input_exactly(
            input in input(),
            chunks in proptest::collection::vec(1usize..5000, 1..6),
            size in 4096u64..12000,
        ) {
            let dir = run_chunked(&[&format!("s{size}"), "n1000", "./d"], &input, &chunks);
            let (all, sizes) = logged(&dir.path().join("d"));
            prop_assert_eq!(all, with_final_newline(&input));
            for s in sizes {
                prop_assert!(s as u64 <= size);
            }
        }

        #[test]
        fn selection_is_independent_of_chunking(
            input in input(),
            chunks in proptest::collection::vec(1usize..3000, 1..6),
        ) {
            let script = ["-*", "+*ERROR*", "./a", "+*", "-*\0*", "./b", "=st"];
            let one = run_chunked(&script, &input, &[INBUF]);
            let many = run_chunked(&script, &input, &chunks);
            for d in ["a", "b"] {
                prop_assert_eq!(logged(&one.path().join(d)).0, logged(&many.path().join(d)).0);
            }
            prop_assert_eq!(
                std::fs::read(one.path().join("st")).unwrap(),
                std::fs::read(many.path().join("st")).unwrap()
            );
        }
    }

    #[test]
    fn selected_lines_match_a_line_by_line_oracle() {
        let input = b"ERROR a\nok\nERRORS\nxERROR\n\nERROR\nend-ERROR-no-newline";
        let dir = run_chunked(&["-*", "+ERROR*", "./a"], input, &[3]);
        let (all, _) = logged(&dir.path().join("a"));
        let want: Vec<u8> = with_final_newline(input)
            .split_inclusive(|&c| c == b'\n')
            .filter(|l| l.starts_with(b"ERROR"))
            .flatten()
            .copied()
            .collect();
        assert_eq!(all, want);
    }
}
