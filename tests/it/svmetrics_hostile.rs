//! svmetrics against hostile clients (issue 20, item 3): a huge
//! `Content-Length` with no body, hundreds of stalled connections, a head
//! sent a byte at a time, pipelined junk, a descriptor limit hit, no
//! threads to be had. In each case a normal scrape still answers within
//! [`ANSWER`] and the process stays up.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::http::{free_port, get, Server};
use crate::support::{installed, ours, wait_for, SOON};

/// How soon a scrape must answer while the server is under attack.
const ANSWER: Duration = Duration::from_secs(1);

/// svmetrics on a free port for `scan`, run through `wrap` (a command
/// prefix, may be empty); stderr goes to `scan/../stderr`.
fn start(scan: &Path, wrap: &[PathBuf]) -> (Server, String, PathBuf) {
    let addr = format!("127.0.0.1:{}", free_port());
    let err = scan.with_file_name("stderr");
    let mut cmd = match wrap {
        [] => Command::new(ours("svmetrics")),
        [first, rest @ ..] => {
            let mut c = Command::new(first);
            c.args(rest).arg(ours("svmetrics"));
            c
        }
    };
    let child = cmd
        .arg("-l")
        .arg(&addr)
        .arg(scan)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let s = Server(child);
    assert!(
        wait_for(SOON, || get(&addr, "/metrics").is_ok()),
        "svmetrics on {addr} never answered"
    );
    (s, addr, err)
}

/// A scan directory with one service `a` (a status record only).
fn scan_dir(root: &Path) -> PathBuf {
    let scan = root.join("service");
    fs::create_dir_all(scan.join("a/supervise")).unwrap();
    scan
}

/// A scrape answers 200 within [`ANSWER`], and the process is alive.
fn scrape_answers(srv: &mut Server, addr: &str, what: &str) {
    let t = Instant::now();
    let r = get(addr, "/metrics");
    let took = t.elapsed();
    assert!(
        srv.0.try_wait().unwrap().is_none(),
        "{what}: svmetrics died"
    );
    let r = r.unwrap_or_else(|e| panic!("{what}: no answer after {took:?}: {e}"));
    assert_eq!(r.code, 200, "{what}: {r:?}");
    assert!(r.body.contains("daemontools_service_up"), "{what}");
    assert!(took < ANSWER, "{what}: answered after {took:?}");
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Everything the server sends until it closes (or a read fails).
fn read_all(s: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// How many descriptors process `pid` has open.
fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn huge_content_length_is_never_read() {
    let t = tempfile::tempdir().unwrap();
    let (mut srv, addr, _) = start(&scan_dir(t.path()), &[]);
    let mut huge = connect(&addr);
    huge.write_all(
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000000000000\r\n\r\n",
    )
    .unwrap();
    let mut announced = connect(&addr);
    announced
        .write_all(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .unwrap();
    scrape_answers(&mut srv, &addr, "after a huge Content-Length");
    // Both are answered without their bodies, and the connections closed.
    let r = read_all(&mut huge);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("\r\nConnection: close\r\n"), "{r}");
    let r = read_all(&mut announced);
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    scrape_answers(&mut srv, &addr, "after the answers");
}

#[test]
fn stalled_connections_are_capped() {
    let t = tempfile::tempdir().unwrap();
    let (mut srv, addr, err) = start(&scan_dir(t.path()), &[]);
    let mut held = Vec::new();
    for i in 0..300 {
        let mut s = connect(&addr);
        let part: &[u8] = match i % 3 {
            0 => b"",
            1 => b"GET /metr",
            _ => b"GET /metrics HTTP/1.1\r\nHost: x\r\n",
        };
        s.write_all(part).unwrap();
        held.push(s);
    }
    scrape_answers(&mut srv, &addr, "300 stalled connections");
    let fds = open_fds(srv.0.id());
    assert!(fds <= 64 + 8, "{fds} descriptors open");
    drop(held);
    let e = fs::read_to_string(err).unwrap();
    assert!(
        e.contains("svmetrics: warning: connection limit 64 reached: closed "),
        "{e}"
    );
}

#[test]
fn slow_head_is_cut_off() {
    let t = tempfile::tempdir().unwrap();
    let (mut srv, addr, _) = start(&scan_dir(t.path()), &[]);
    let mut slow = connect(&addr);
    slow.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n";
    let mut got = None;
    // One byte a second, at most 10: the server must close the connection
    // (its head deadline is 5 s) while scrapes go on being answered.
    for b in head.iter().take(10) {
        if slow.write_all(&[*b]).is_err() {
            got = Some(String::new());
            break;
        }
        let mut buf = [0u8; 512];
        match slow.read(&mut buf) {
            Ok(n) => {
                got = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                got = Some(String::new());
                break;
            }
            Err(_) => {}
        }
        scrape_answers(&mut srv, &addr, "a head coming a byte a second");
    }
    let got = got.expect("slow connection still open after 10 bytes in 10 seconds");
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 408 "), "{got}");
    scrape_answers(&mut srv, &addr, "after the slow head");
}

#[test]
fn pipelined_junk_gets_one_answer() {
    let t = tempfile::tempdir().unwrap();
    let (mut srv, addr, _) = start(&scan_dir(t.path()), &[]);
    let mut s = connect(&addr);
    let mut req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    for i in 0..1000u32 {
        req.extend_from_slice(b"JUNK\x00\xff\r\n");
        req.extend_from_slice(&i.to_le_bytes());
    }
    req.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(&req).unwrap();
    let r = read_all(&mut s);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert_eq!(r.matches("HTTP/1.").count(), 1, "{r}");
    // Junk with no line end at all: refused once the head limit is past.
    let mut s = connect(&addr);
    s.write_all(&[0xAB; 20_000]).unwrap();
    let r = read_all(&mut s);
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
    // A broken request line: refused at once.
    let mut s = connect(&addr);
    s.write_all(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n\n")
        .unwrap();
    let r = read_all(&mut s);
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    scrape_answers(&mut srv, &addr, "after pipelined junk");
}

#[test]
fn descriptor_limit_is_survived() {
    let t = tempfile::tempdir().unwrap();
    let wrap = [ours("softlimit"), PathBuf::from("-o"), PathBuf::from("40")];
    let (mut srv, addr, err) = start(&scan_dir(t.path()), &wrap);
    // More connections than svmetrics has descriptors.
    let held: Vec<TcpStream> = (0..100).map(|_| connect(&addr)).collect();
    scrape_answers(&mut srv, &addr, "100 connections under 40 descriptors");
    let e = fs::read_to_string(&err).unwrap();
    assert!(e.contains("connection limit 16 reached"), "{e}");
    // The limit lowered under the running server: accept fails (EMFILE).
    let Some(prlimit) = installed("prlimit", "util-linux") else {
        return;
    };
    let pid = srv.0.id().to_string();
    let st = Command::new(prlimit)
        .args(["--pid", &pid, "--nofile=20:20"])
        .status()
        .unwrap();
    assert!(st.success());
    let more: Vec<TcpStream> = (0..100).map(|_| connect(&addr)).collect();
    scrape_answers(&mut srv, &addr, "100 more connections under 20 descriptors");
    drop((held, more));
    let e = fs::read_to_string(&err).unwrap();
    assert!(
        e.contains("svmetrics: warning: unable to accept a connection (")
            && e.contains("process cannot open more files"),
        "{e}"
    );
    scrape_answers(&mut srv, &addr, "after the connections closed");
}

/// No thread can be created (`RLIMIT_NPROC` of 1, as an unprivileged
/// user): a scrape large enough to be split between threads is done by
/// the one thread there is.
#[test]
fn no_threads_to_be_had() {
    use daemontools::supervise::status::Status;
    use daemontools::tai64::Tai64N;
    let t = tempfile::tempdir().unwrap();
    let scan = scan_dir(t.path());
    for i in 0..220u32 {
        let d = scan.join(format!("s{i:03}"));
        fs::create_dir_all(d.join("supervise")).unwrap();
        let st = Status {
            when: Tai64N::now(),
            pid: 10_000 + i,
            paused: false,
            want: b'u',
        };
        fs::write(d.join("supervise/status"), st.encode()).unwrap();
    }
    let mut wrap = Vec::new();
    if rustix::process::geteuid().is_root() {
        // Root is not held to RLIMIT_NPROC.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
        wrap.extend([ours("setuidgid"), PathBuf::from("nobody")]);
    }
    wrap.extend([ours("softlimit"), PathBuf::from("-p"), PathBuf::from("1")]);
    let (mut srv, addr, _) = start(&scan, &wrap);
    scrape_answers(&mut srv, &addr, "no threads");
    let r = get(&addr, "/metrics").unwrap();
    let pids = r
        .body
        .lines()
        .filter(|l| l.starts_with("daemontools_service_pid{service=\"s"))
        .count();
    assert_eq!(pids, 220);
}
