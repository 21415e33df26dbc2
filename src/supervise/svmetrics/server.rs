//! svmetrics' connections: one thread, one `poll(2)` loop, non-blocking
//! sockets, so that no client can hold the server up and nothing grows
//! with the number of clients:
//!
//! * at most [`MAX_CONNECTIONS`] connections (fewer under a low
//!   `RLIMIT_NOFILE`: [`FD_RESERVE`] descriptors stay free for a scrape).
//!   A connection arriving beyond the cap is accepted and the oldest one
//!   that has not sent a complete request is closed to make room, so a
//!   crowd of silent clients cannot keep a scraper in the listen backlog;
//! * a request head must be complete within [`HEAD_DEADLINE`] of the
//!   accept (408 otherwise) and [`http::HEAD_MAX`] bytes; a response must
//!   make progress every [`WRITE_IDLE`];
//! * a request body is never read: after the response the connection is
//!   shut down for writing and what the client still sends is discarded
//!   ([`LINGER`], at most [`LINGER_BYTES`]) before the close, so that the
//!   kernel does not reset the connection under the unread response;
//! * `accept` failing for want of descriptors or memory (`EMFILE`,
//!   `ENFILE`, `ENOMEM`, `ENOBUFS`) is survived: the cap comes down to what
//!   the descriptor limit allows, idle connections are closed, and if none
//!   can be, accepting pauses for [`ACCEPT_PAUSE`]; the listener stays
//!   open. Such events are reported in a warning at most every
//!   `rare::WARN_EVERY`, with counts.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant, SystemTime};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{accept_with, recv, send, shutdown, RecvFlags, SendFlags, Shutdown, SocketFlags};

use super::http::{self, Method, Parse, HEAD_MAX};
use super::rare::Rare;
use super::reply::Reply;
use super::PROG;
use crate::error;

/// The most connections open at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// Descriptors kept free for a scrape (up to 4 threads, each holding a
/// service's directory, its log directory and a file), the listener and
/// standard input, output and error.
pub(crate) const FD_RESERVE: u64 = 24;
/// Time from the accept to the end of the request head.
pub(crate) const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// Longest time a response may go without a byte taken by the kernel.
pub(crate) const WRITE_IDLE: Duration = Duration::from_secs(10);
/// How long input is discarded after the response.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// How much input is discarded after the response, at most.
pub(crate) const LINGER_BYTES: usize = 64 * 1024;
/// Pause of the accepts after a failure that closing nothing could cure.
pub(crate) const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Time after the last `EMFILE` at which the cap is worked out again.
const RESTORE_AFTER: Duration = Duration::from_secs(60);
/// Accepts per round of the loop, so that connections with data are not
/// starved by a flood of new ones.
const ACCEPTS_PER_ROUND: usize = 256;

enum State {
    /// Receiving the request head.
    Reading { buf: Vec<u8> },
    /// Sending `head` then `body` from byte `off` of the two.
    Writing {
        head: Vec<u8>,
        body: std::rc::Rc<[u8]>,
        off: usize,
    },
    /// Response sent, write side shut down: discarding input until the
    /// client closes.
    Lingering { drained: usize },
}

struct Conn {
    fd: OwnedFd,
    state: State,
    deadline: Instant,
}

/// What became of a connection after some work on it.
#[derive(PartialEq, Eq)]
enum Step {
    Keep,
    Close,
}

/// The connection cap the descriptor limit allows.
fn cap_for_limit() -> usize {
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    lim.current.map_or(MAX_CONNECTIONS, |n| {
        usize::try_from(n.saturating_sub(FD_RESERVE))
            .unwrap_or(MAX_CONNECTIONS)
            .clamp(1, MAX_CONNECTIONS)
    })
}

/// The server: a listening socket, its connections, its handler.
pub(crate) struct Server<'h> {
    listener: OwnedFd,
    conns: Vec<Conn>,
    cap: usize,
    paused_until: Option<Instant>,
    handler: &'h mut dyn FnMut(http::Request<'_>) -> Reply,
    shed: Rare,
    accept_failed: Rare,
    /// The last accept failure that lowered the cap; the cap is worked
    /// out again from the limit [`RESTORE_AFTER`] later.
    lowered: Option<Instant>,
}

impl<'h> Server<'h> {
    /// Serve on `listener` (bound and listening), answering every request
    /// with `handler`.
    pub(crate) fn new(
        listener: OwnedFd,
        handler: &'h mut dyn FnMut(http::Request<'_>) -> Reply,
    ) -> Self {
        Server {
            listener,
            conns: Vec::new(),
            cap: cap_for_limit(),
            paused_until: None,
            handler,
            shed: Rare::default(),
            accept_failed: Rare::default(),
            lowered: None,
        }
    }

    /// Serve for ever.
    pub(crate) fn run(&mut self) -> ! {
        loop {
            self.round();
        }
    }

    /// One wait for events and the work they bring.
    fn round(&mut self) {
        let now = Instant::now();
        if self.lowered.is_some_and(|t| now >= t + RESTORE_AFTER) {
            self.lowered = None;
            self.cap = cap_for_limit();
        }
        let accepting = self.paused_until.is_none_or(|t| now >= t);
        let mut wake = self.conns.iter().map(|c| c.deadline).min();
        for t in [self.paused_until.filter(|_| !accepting), self.shed.due()]
            .into_iter()
            .chain([self.accept_failed.due()])
            .flatten()
        {
            wake = Some(wake.map_or(t, |w| w.min(t)));
        }
        let timeout = wake.map(|w| {
            let d = w.saturating_duration_since(now) + Duration::from_millis(1);
            Timespec::try_from(d).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            })
        });
        let mut fds: Vec<PollFd<'_>> = self
            .conns
            .iter()
            .map(|c| {
                let ev = match c.state {
                    State::Writing { .. } => PollFlags::OUT,
                    _ => PollFlags::IN,
                };
                PollFd::new(&c.fd, ev)
            })
            .collect();
        if accepting {
            fds.push(PollFd::new(&self.listener, PollFlags::IN));
        }
        if let Err(e) = poll(&mut fds, timeout.as_ref()) {
            if e != Errno::INTR {
                // Only EINVAL or ENOMEM are possible: wait a little.
                error::warn(PROG, "unable to poll", Some(&std::io::Error::from(e)));
                std::thread::sleep(ACCEPT_PAUSE);
            }
            return;
        }
        let ready: Vec<bool> = fds.iter().map(|p| !p.revents().is_empty()).collect();
        drop(fds);
        let now = Instant::now();
        let mut keep = Vec::with_capacity(self.conns.len());
        for (i, c) in std::mem::take(&mut self.conns).into_iter().enumerate() {
            let r = ready.get(i).copied().unwrap_or(false);
            if let Some(c) = self.work(c, r, now) {
                keep.push(c);
            }
        }
        self.conns = keep;
        if accepting && ready.last().copied().unwrap_or(false) {
            self.paused_until = None;
            self.accept_some(now);
        }
        let cap = self.cap;
        self.shed.flush(now, |n| {
            format!("connection limit {cap} reached: closed {n} connections that had sent no complete request")
        });
        self.accept_failed.flush(now, |n| {
            format!("unable to accept a connection ({n} times)")
        });
    }

    /// Progress on `c` if it is `ready`, then its deadline; `None` once it
    /// is closed (dropping it closes the socket).
    fn work(&mut self, mut c: Conn, ready: bool, now: Instant) -> Option<Conn> {
        if ready && self.step(&mut c, now) == Step::Close {
            return None;
        }
        if now < c.deadline {
            return Some(c);
        }
        if let State::Reading { .. } = c.state {
            // RFC 9110 §15.5.9: tell the client, if it can take it at once.
            let r = Reply::text(408, "Request Timeout", "request timeout\n");
            let mut all = r.head(SystemTime::now());
            all.extend_from_slice(&r.body);
            let _ = send(&c.fd, &all, SendFlags::NOSIGNAL | SendFlags::DONTWAIT);
        }
        None
    }

    /// Whatever `c` can do now without blocking.
    fn step(&mut self, c: &mut Conn, now: Instant) -> Step {
        match &mut c.state {
            State::Reading { buf } => {
                let mut tmp = [0u8; HEAD_MAX];
                let room = HEAD_MAX - buf.len();
                let n = match recv(&c.fd, &mut tmp[..room], RecvFlags::empty()) {
                    Ok((0, _)) => return Step::Close,
                    Ok((n, _)) => n,
                    Err(Errno::AGAIN | Errno::INTR) => return Step::Keep,
                    Err(_) => return Step::Close,
                };
                buf.extend_from_slice(&tmp[..n]);
                let (reply, head_only) = match http::parse(buf) {
                    Parse::Partial => return Step::Keep,
                    Parse::Done(req) => ((self.handler)(req), req.method == Method::Head),
                    Parse::Refused(r) => {
                        let (code, reason) = r.status();
                        let text = format!("{}\n", reason.to_ascii_lowercase());
                        (Reply::text(code, reason, &text), false)
                    }
                };
                c.state = State::Writing {
                    head: reply.head(SystemTime::now()),
                    body: if head_only {
                        Vec::new().into()
                    } else {
                        reply.body
                    },
                    off: 0,
                };
                c.deadline = now + WRITE_IDLE;
                // The socket can most likely take the answer at once.
                self.step(c, now)
            }
            State::Writing { head, body, off } => {
                loop {
                    let chunk = if *off < head.len() {
                        &head[*off..]
                    } else {
                        &body[*off - head.len()..]
                    };
                    if chunk.is_empty() {
                        break;
                    }
                    match send(&c.fd, chunk, SendFlags::NOSIGNAL) {
                        Ok(n) => {
                            *off += n;
                            c.deadline = now + WRITE_IDLE;
                        }
                        Err(Errno::INTR) => {}
                        Err(Errno::AGAIN) => return Step::Keep,
                        Err(_) => return Step::Close,
                    }
                }
                if shutdown(&c.fd, Shutdown::Write).is_err() {
                    return Step::Close;
                }
                c.state = State::Lingering { drained: 0 };
                c.deadline = now + LINGER;
                Step::Keep
            }
            State::Lingering { drained } => {
                let mut tmp = [0u8; 4096];
                loop {
                    match recv(&c.fd, &mut tmp, RecvFlags::empty()) {
                        Ok((0, _)) => return Step::Close,
                        Ok((n, _)) => {
                            *drained += n;
                            if *drained > LINGER_BYTES {
                                return Step::Close;
                            }
                        }
                        Err(Errno::INTR) => {}
                        Err(Errno::AGAIN) => return Step::Keep,
                        Err(_) => return Step::Close,
                    }
                }
            }
        }
    }

    /// Close the oldest connection that has not sent a complete request
    /// (or is lingering after its response); false if there is none.
    fn shed_one(&mut self) -> bool {
        let idle = self
            .conns
            .iter()
            .position(|c| !matches!(c.state, State::Writing { .. }));
        match idle {
            Some(i) => {
                if let State::Reading { .. } = self.conns[i].state {
                    self.shed.note(1, None);
                }
                self.conns.remove(i);
                true
            }
            None => false,
        }
    }

    /// Accept what is waiting, up to [`ACCEPTS_PER_ROUND`].
    fn accept_some(&mut self, now: Instant) {
        for _ in 0..ACCEPTS_PER_ROUND {
            let fd = match accept_with(&self.listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
            {
                Ok(fd) => fd,
                Err(Errno::AGAIN) => return,
                // The client's trouble, or the network's (accept(2):
                // "should be treated like EAGAIN"): next one.
                Err(
                    Errno::INTR
                    | Errno::CONNABORTED
                    | Errno::PROTO
                    | Errno::NOPROTOOPT
                    | Errno::NETDOWN
                    | Errno::NETUNREACH
                    | Errno::HOSTDOWN
                    | Errno::HOSTUNREACH
                    | Errno::OPNOTSUPP
                    | Errno::NONET
                    | Errno::PERM,
                ) => continue,
                Err(e) => {
                    self.cannot_accept(e, now);
                    return;
                }
            };
            if self.conns.len() >= self.cap && !self.shed_one() {
                // Every connection is being answered: this one is closed
                // at once (it is dropped here).
                continue;
            }
            let mut c = Conn {
                fd,
                state: State::Reading {
                    buf: Vec::with_capacity(HEAD_MAX),
                },
                deadline: now + HEAD_DEADLINE,
            };
            // The request usually came with the connection.
            if self.step(&mut c, now) == Step::Keep {
                self.conns.push(c);
            }
        }
    }

    /// `accept` failed with `e`: make room if descriptors ran out, or
    /// pause the accepts.
    fn cannot_accept(&mut self, e: Errno, now: Instant) {
        self.accept_failed.note(1, Some(e));
        if matches!(e, Errno::MFILE | Errno::NFILE) {
            // The limit may have come down since the start, or other
            // files hold descriptors: keep half of what is open at most.
            self.cap = cap_for_limit().min(self.conns.len() / 2).max(1);
            self.lowered = Some(now);
            let mut freed = false;
            while self.conns.len() >= self.cap && self.shed_one() {
                freed = true;
            }
            if freed {
                return;
            }
        }
        self.paused_until = Some(now + ACCEPT_PAUSE);
    }
}
