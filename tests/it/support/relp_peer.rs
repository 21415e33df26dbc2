//! A RELP server that misbehaves on purpose, for logship's tests: a
//! `TcpListener` on 127.0.0.1 whose connections each follow a [`Mode`]
//! (the first connection the first mode, and so on; the last mode for the
//! rest). Its frame reader is its own (not logship's), after librelp's
//! `doc/relp.html`: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one connection behaves.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Answers `open`, acknowledges every `syslog`, answers `close`.
    Normal,
    /// Reads `open` and never answers anything.
    SilentOpen,
    /// Answers `open`, then reads and never answers.
    SilentAfterOpen,
    /// As [`Mode::Normal`], writing its answers one byte at a time with a
    /// pause between bytes.
    Slow(Duration),
    /// Answers `open`, then answers the first `syslog` with these bytes
    /// (written over and over for `repeat` times) and reads on silently.
    Garbage(Vec<u8>, usize),
    /// Answers `open`, then answers the first `syslog` (number N) with an
    /// `rsp 200` for N + the offset, never sent, and reads on silently.
    WrongTxnr(u32),
    /// As [`Mode::Normal`], but acknowledges every `syslog` twice.
    DoubleAck,
}

/// One frame received.
#[derive(Clone, Debug)]
pub struct Frame {
    pub txnr: u32,
    pub command: String,
    pub data: Vec<u8>,
}

/// What the peer saw and did.
#[derive(Default)]
pub struct Seen {
    /// The frames of each connection, in order.
    pub conns: Vec<Vec<Frame>>,
    /// The `syslog` frames acknowledged, each connection's in order:
    /// (connection, data).
    pub acked: Vec<(usize, Vec<u8>)>,
}

/// A running peer; its threads end with the process (they only block in
/// `accept` and `read`).
pub struct Peer {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
}

const OPEN_OK: &[u8] = b"200 OK\nrelp_version=0\nrelp_software=peer\ncommands=syslog";

fn frame(txnr: u32, command: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("{txnr} {command} {}", data.len()).into_bytes();
    if !data.is_empty() {
        v.push(b' ');
        v.extend_from_slice(data);
    }
    v.push(b'\n');
    v
}

/// The first whole frame in `b` and its length.
fn parse(b: &[u8]) -> Option<(Frame, usize)> {
    let sp1 = b.iter().position(|&c| c == b' ')?;
    let sp2 = sp1 + 1 + b[sp1 + 1..].iter().position(|&c| c == b' ' || c == b'\n')?;
    let txnr = std::str::from_utf8(&b[..sp1]).ok()?.parse().ok()?;
    let command = String::from_utf8_lossy(&b[sp1 + 1..sp2]).into_owned();
    assert_ne!(b[sp2], b'\n', "a frame without DATALEN");
    let rest = &b[sp2 + 1..];
    let end = rest.iter().position(|&c| c == b' ' || c == b'\n')?;
    let len: usize = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    let at = sp2 + 1 + end;
    if len == 0 {
        return Some((
            Frame {
                txnr,
                command,
                data: Vec::new(),
            },
            at + 1,
        ));
    }
    if b.len() < at + 1 + len + 1 {
        return None;
    }
    let data = b[at + 1..at + 1 + len].to_vec();
    assert_eq!(b[at + 1 + len], b'\n', "frame not ended by LF");
    Some((
        Frame {
            txnr,
            command,
            data,
        },
        at + len + 2,
    ))
}

impl Peer {
    /// Listen on a free port of 127.0.0.1; connection `i` follows
    /// `modes[i]` (the last mode for the rest).
    pub fn start(modes: Vec<Mode>) -> Peer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for (i, c) in l.incoming().enumerate() {
                let Ok(c) = c else { continue };
                let mode = modes[i.min(modes.len() - 1)].clone();
                s.lock().unwrap().conns.push(Vec::new());
                let s = s.clone();
                std::thread::spawn(move || serve(c, i, &mode, &s));
            }
        });
        Peer { port, seen }
    }

    /// `relp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("relp://127.0.0.1:{}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.lock().unwrap().conns.len()
    }

    /// The `syslog` frames connection `conn` received.
    pub fn received(&self, conn: usize) -> Vec<Vec<u8>> {
        let s = self.seen.lock().unwrap();
        s.conns.get(conn).map_or_else(Vec::new, |f| {
            f.iter()
                .filter(|f| f.command == "syslog")
                .map(|f| f.data.clone())
                .collect()
        })
    }

    /// Whether connection `conn` got an `open`.
    pub fn opened(&self, conn: usize) -> bool {
        let s = self.seen.lock().unwrap();
        s.conns
            .get(conn)
            .is_some_and(|f| f.iter().any(|f| f.command == "open"))
    }

    /// The `syslog` data connection `conn` acknowledged.
    pub fn acked_on(&self, conn: usize) -> Vec<Vec<u8>> {
        let s = self.seen.lock().unwrap();
        s.acked
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// The `syslog` data acknowledged, over all connections.
    pub fn acked(&self) -> Vec<Vec<u8>> {
        let s = self.seen.lock().unwrap();
        s.acked.iter().map(|(_, d)| d.clone()).collect()
    }
}

fn serve(mut c: TcpStream, i: usize, mode: &Mode, seen: &Mutex<Seen>) {
    let mut buf = Vec::new();
    let mut b = [0u8; 65536];
    let mut answered_one = false;
    loop {
        let n = match c.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&b[..n]);
        while let Some((f, used)) = parse(&buf) {
            buf.drain(..used);
            seen.lock().unwrap().conns[i].push(f.clone());
            let answer = match (mode, f.command.as_str()) {
                (Mode::SilentOpen, _) => None,
                (_, "open") => Some(frame(f.txnr, "rsp", OPEN_OK)),
                (Mode::SilentAfterOpen, _) => None,
                (_, "close") => {
                    let _ = c.write_all(&frame(f.txnr, "rsp", b"200 OK"));
                    return;
                }
                (Mode::Garbage(g, repeat), "syslog") if !answered_one => {
                    answered_one = true;
                    for _ in 0..*repeat {
                        if c.write_all(g).is_err() {
                            break;
                        }
                    }
                    None
                }
                (Mode::WrongTxnr(off), "syslog") if !answered_one => {
                    answered_one = true;
                    Some(frame(f.txnr + off, "rsp", b"200 OK"))
                }
                (Mode::Garbage(..) | Mode::WrongTxnr(_), _) => None,
                (_, "syslog") => {
                    let mut a = frame(f.txnr, "rsp", b"200 OK");
                    if matches!(mode, Mode::DoubleAck) {
                        a.extend_from_slice(&frame(f.txnr, "rsp", b"200 OK"));
                    }
                    seen.lock().unwrap().acked.push((i, f.data.clone()));
                    Some(a)
                }
                _ => None,
            };
            let Some(a) = answer else { continue };
            let ok = match mode {
                Mode::Slow(pause) => a.iter().all(|&x| {
                    std::thread::sleep(*pause);
                    c.write_all(&[x]).is_ok()
                }),
                _ => c.write_all(&a).is_ok(),
            };
            if !ok {
                return;
            }
        }
    }
}

/// A listener on 127.0.0.1 that never accepts, with its backlog full: a
/// connect to it stays in SYN-SENT (the SYNs are dropped). The filling
/// connection is kept with it.
pub struct Blackhole {
    _listener: TcpListener,
    _filler: TcpStream,
    pub port: u16,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        // listen(2) again: backlog 0, Linux queues one connection, then
        // drops SYNs.
        rustix::net::listen(&l, 0).unwrap();
        let port = l.local_addr().unwrap().port();
        let filler = TcpStream::connect(("127.0.0.1", port)).unwrap();
        Blackhole {
            _listener: l,
            _filler: filler,
            port,
        }
    }
}

/// Whether process `pid` has a TCP socket in SYN-SENT (from
/// `/proc/net/tcp`, state 02, matched by the socket's inode).
pub fn syn_sent(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let inodes: Vec<String> = fds
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_string)
        })
        .collect();
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    tcp.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 9 && f[3] == "02" && inodes.iter().any(|i| i == f[9])
    })
}
