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
pub mod logdir;
pub mod pattern;
pub mod retry;
pub mod script;
pub mod statusfile;

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustix::event::{PollFd, PollFlags};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Fatal, Unable};
use engine::Engine;
use script::Script;

/// Size of the input buffer.
pub const INBUF: usize = 128 * 1024;

/// Entry point of the `multilog` binary.
pub fn main() -> ExitCode {
    match run(std::env::args_os().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report("multilog"),
    }
}

struct Signals {
    term: Arc<AtomicBool>,
    alrm: Arc<AtomicBool>,
    wake: UnixStream,
}

fn install_signals() -> io::Result<Signals> {
    let term = Arc::new(AtomicBool::new(false));
    let alrm = Arc::new(AtomicBool::new(false));
    let (wake, tx) = UnixStream::pair()?;
    wake.set_nonblocking(true)?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&term))?;
    signal_hook::flag::register(signal_hook::consts::SIGALRM, Arc::clone(&alrm))?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGTERM, tx.try_clone()?)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGALRM, tx)?;
    Ok(Signals { term, alrm, wake })
}

impl Signals {
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
pub fn run(args: Vec<OsString>) -> Result<(), Fatal> {
    rustix::process::umask(Mode::from_raw_mode(0o022));
    let startfd: OwnedFd = rustix::fs::open(
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unable(|| "switch to current directory".into())?;
    let signals = install_signals().unable(|| "install signal handlers".into())?;
    let script = Script::parse(&args);
    let mut engine = Engine::start(&script, &startfd)?;
    doit(&mut engine, &signals);
    engine.quit();
    Ok(())
}

/// Is stdin readable right now (so a read would not block)?
fn stdin_ready() -> bool {
    let stdin = rustix::stdio::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    matches!(rustix::event::poll(&mut fds, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0)
}

/// Block until stdin is readable or a signal arrives; true if stdin is
/// readable and no signal came (signals are handled before reading more).
fn wait_input(signals: &Signals) -> bool {
    let stdin = rustix::stdio::stdin();
    let mut fds = [
        PollFd::new(&stdin, PollFlags::IN),
        PollFd::new(&signals.wake, PollFlags::IN),
    ];
    match rustix::event::poll(&mut fds, None) {
        Ok(_) => {
            if !fds[1].revents().is_empty() {
                signals.drain();
                return false;
            }
            !fds[0].revents().is_empty()
        }
        Err(Errno::INTR) => false,
        // poll itself failed: let read() report what is wrong with stdin.
        Err(_) => true,
    }
}

/// `doit`: the reading loop. Returns at EOF, on a read error (treated as
/// EOF, as daemontools does), or after SIGTERM at a line boundary.
fn doit(engine: &mut Engine, signals: &Signals) {
    let mut inbuf = vec![0u8; INBUF].into_boxed_slice();
    let mut held = 0usize;
    loop {
        // flushread: flush before blocking, then act on ALRM and TERM.
        if !stdin_ready() {
            engine.flush();
        }
        if signals.alrm.swap(false, Ordering::SeqCst) {
            engine.flush();
            engine.rotate_nonempty();
        }
        let terminating = signals.term.load(Ordering::SeqCst);
        if terminating && held == 0 && !engine.in_long_line() {
            break;
        }
        if !terminating && !wait_input(signals) {
            continue;
        }
        // After TERM, read one byte at a time so nothing past the current
        // line is consumed.
        let want = if terminating { held + 1 } else { INBUF };
        let n = match rustix::io::read(rustix::stdio::stdin(), &mut inbuf[held..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::INTR | Errno::AGAIN) => continue,
            Err(_) => break,
        };
        let end = held + n;
        let consumed = engine.process(&inbuf[..end], held);
        inbuf.copy_within(consumed..end, 0);
        held = end - consumed;
    }
    engine.eof(&inbuf[..held]);
}
