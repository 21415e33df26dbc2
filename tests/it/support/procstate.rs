//! What another process is doing, read from `/proc`, so a test can wait for
//! that state (with [`super::wait_for`]) instead of sleeping "long enough":
//! a pipe drained, a process asleep waiting for input, a signal handled.

use std::os::fd::AsFd;

/// Bytes written to a pipe and not read yet. `FIONREAD` answers on either
/// end of a pipe, so the writer's end (a `ChildStdin`) will do.
pub fn pipe_unread(fd: impl AsFd) -> u64 {
    rustix::io::ioctl_fionread(fd).expect("FIONREAD on a pipe")
}

/// The state letter of `pid` (`R`, `S`, `D`, `Z`, ...), `None` once it is
/// gone.
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Has `pid` exited (a zombie, or reaped)?
pub fn gone(pid: u32) -> bool {
    matches!(state(pid), None | Some('Z'))
}

/// System calls in which a process waits for input.
#[cfg(target_arch = "x86_64")]
const WAITING: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_select,
    libc::SYS_pselect6,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_pwait,
];
#[cfg(not(target_arch = "x86_64"))]
const WAITING: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_pwait,
];

/// Is `pid` asleep in a read, poll, select or epoll call (idle, waiting
/// for input), rather than running or blocked on something else? From
/// `/proc/PID/syscall`, which says `running` for a task on a CPU.
pub fn waiting_for_input(pid: u32) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/syscall")) else {
        return false;
    };
    let Some(nr) = s
        .split(' ')
        .next()
        .and_then(|f| f.parse::<libc::c_long>().ok())
    else {
        return false;
    };
    WAITING.contains(&nr) && state(pid) == Some('S')
}

/// Is signal `sig` pending for `pid` (sent, its handler not run yet)?
pub fn signal_pending(pid: u32, sig: i32) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let bit = 1u64 << (sig - 1);
    s.lines()
        .filter_map(|l| {
            l.strip_prefix("SigPnd:")
                .or_else(|| l.strip_prefix("ShdPnd:"))
        })
        .any(|m| u64::from_str_radix(m.trim(), 16).is_ok_and(|m| m & bit != 0))
}

/// Has `pid` handled `sig` and gone back to waiting for input (or exited)?
/// True only once the signal is no longer pending and the process sleeps in
/// a read or poll again, so whatever the handler leads to has been done.
pub fn signal_handled(pid: u32, sig: i32) -> bool {
    !signal_pending(pid, sig) && (waiting_for_input(pid) || gone(pid))
}
