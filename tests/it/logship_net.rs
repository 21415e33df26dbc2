//! logship against RELP servers that misbehave (`support::relp_peer`): a
//! server that stops answering after `open` (the acknowledgement timeout
//! `-t`, then the window sent again), one that never accepts (the connect
//! timeout `-T`, and SIGTERM answered at once while connecting), one that
//! answers one byte at a time, garbage answers (refused, memory bounded),
//! and answers to transactions never sent (refused, the cursor not moved).

use std::time::{Duration, Instant};

use crate::support::relp_peer::{syn_sent, Blackhole, Mode, Peer};
use crate::support::ship::{Logger, Ship};
use crate::support::{wait_for, SOON};

/// The line number in a message's data (the last `line NNNNNNNN`).
fn num(data: &[u8]) -> Option<usize> {
    let s = String::from_utf8_lossy(data);
    let at = s.rfind("line ")?;
    s.get(at + 5..at + 13)?.parse().ok()
}

/// `err` without its `logship: info:` notices, and how many there were.
fn warnings(err: &str) -> (String, usize) {
    let notice = |l: &&str| l.starts_with("logship: info: ");
    let n = err.lines().filter(notice).count();
    let rest = err.lines().filter(|l| !notice(l)).map(|l| format!("{l}\n"));
    (rest.collect(), n)
}

fn nums(v: &[Vec<u8>]) -> Vec<usize> {
    v.iter().filter_map(|d| num(d)).collect()
}

/// Wait until the peer acknowledged every line of `0..n`.
fn wait_acked(p: &Peer, n: usize, ship: &Ship) {
    let ok = wait_for(SOON, || {
        let a = nums(&p.acked());
        (0..n).all(|i| a.contains(&i))
    });
    assert!(
        ok,
        "acknowledged: {:?}; logship: {}",
        nums(&p.acked()),
        ship.stderr()
    );
}

/// SIGTERM, and the time logship takes to exit (0).
fn stop_timed(ship: Ship) -> Duration {
    let t = Instant::now();
    ship.stop();
    t.elapsed()
}

#[test]
fn silent_server_times_out_and_the_window_is_sent_again() {
    let root = tempfile::tempdir().unwrap();
    let peer = Peer::start(vec![Mode::SilentAfterOpen, Mode::Normal]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 200);
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&["-t", "1", &peer.url(), &dir], root.path());
    // The first session takes every line and acknowledges none.
    assert!(wait_for(SOON, || peer.received(0).len() >= 200));
    let want = format!(
        "logship: warning: unable to get acknowledgements from {}, pausing: timed out\n",
        peer.url()
    );
    assert!(
        wait_for(SOON, || ship.stderr().contains(&want)),
        "{}",
        ship.stderr()
    );
    wait_acked(&peer, 200, &ship);
    // The second session got the whole window again, in order, once.
    assert_eq!(nums(&peer.received(1)), (0..200).collect::<Vec<_>>());
    assert_eq!(peer.connections(), 2);
    let err = ship.stop();
    // The one warning, then the notice that the outage ended.
    let (warning, rest) = err.split_at(want.len().min(err.len()));
    assert_eq!(warning, want, "only the one warning: {err}");
    let notice = format!("logship: info: {}: sending again after ", peer.url());
    assert!(
        rest.starts_with(&notice) && rest.lines().count() == 1,
        "{err}"
    );
    lg.finish();
}

#[test]
fn connect_timeout_and_sigterm_while_connecting_or_opening() {
    let root = tempfile::tempdir().unwrap();
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 10);
    let dir = lg.dir.to_str().unwrap().to_string();
    // A listener with a full backlog: the SYN is never answered.
    let bh = Blackhole::start();
    let url = format!("relp://127.0.0.1:{}", bh.port);
    let ship = Ship::start(&["-T", "1", &url, &dir], root.path());
    let want = format!("logship: warning: unable to connect to {url}, pausing: timed out");
    assert!(
        wait_for(SOON, || ship.stderr().contains(&want)),
        "{}",
        ship.stderr()
    );
    // Connecting again: SIGTERM is answered at once.
    let pid = ship.child.id();
    assert!(wait_for(SOON, || syn_sent(pid)));
    let took = stop_timed(ship);
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");
    let ship = Ship::start(&["-T", "30", &url, &dir], root.path());
    let pid = ship.child.id();
    assert!(wait_for(SOON, || syn_sent(pid)));
    let took = stop_timed(ship);
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");
    // A server that accepts and never answers `open`: the same.
    let peer = Peer::start(vec![Mode::SilentOpen]);
    let ship = Ship::start(&["-T", "1", &peer.url(), &dir], root.path());
    let want = format!(
        "logship: warning: unable to open a session with {}, pausing: timed out",
        peer.url()
    );
    assert!(
        wait_for(SOON, || ship.stderr().contains(&want)),
        "{}",
        ship.stderr()
    );
    assert!(wait_for(SOON, || peer.opened(1)));
    let took = stop_timed(ship);
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");
    lg.finish();
}

#[test]
fn server_answering_one_byte_at_a_time() {
    let root = tempfile::tempdir().unwrap();
    let peer = Peer::start(vec![Mode::Slow(Duration::from_millis(2))]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 50);
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&["-t", "5", &peer.url(), &dir], root.path());
    wait_acked(&peer, 50, &ship);
    let err = ship.stop();
    assert!(err.is_empty(), "{err}");
    // The cursor moved on those acknowledgements: a restart sends only
    // what is new.
    let ship = Ship::start(&[&peer.url(), &dir], root.path());
    lg.write(50, 51);
    assert!(wait_for(SOON, || nums(&peer.acked()).contains(&50)));
    assert_eq!(nums(&peer.received(1)), [50]);
    ship.stop();
    lg.finish();
}

/// The peak RSS of a process, in kB.
fn vm_hwm(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn garbage_answers_are_refused_with_a_bounded_buffer() {
    let root = tempfile::tempdir().unwrap();
    let mb = 1 << 20;
    // 64 MB each: a command that never ends, a number that never ends,
    // data longer than its length says.
    let letters = [b"2 ".to_vec(), vec![b'a'; mb]].concat();
    let digits = vec![b'7'; mb];
    let mut long = b"2 rsp 65536 200 OK ".to_vec();
    long.resize(mb, b'x');
    let peer = Peer::start(vec![
        Mode::Garbage(letters, 64),
        Mode::Garbage(digits, 64),
        Mode::Garbage(long, 64),
        Mode::Normal,
    ]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&[&peer.url(), &dir], root.path());
    wait_acked(&peer, 20, &ship);
    let hwm = vm_hwm(ship.child.id());
    let err = ship.stop();
    let bad = format!("logship: warning: {}: bad frame, pausing\n", peer.url());
    // Three sessions refused, then one that works again: one notice.
    assert_eq!(warnings(&err), (bad.repeat(3), 1), "{err}");
    assert!(err.lines().last().unwrap().starts_with("logship: info: "));
    assert!(hwm < 24 * 1024, "peak RSS {hwm} kB");
    lg.finish();
}

#[test]
fn answers_to_transactions_not_sent_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let peer = Peer::start(vec![Mode::WrongTxnr(500), Mode::DoubleAck, Mode::Normal]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 20);
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&[&peer.url(), &dir], root.path());
    wait_acked(&peer, 20, &ship);
    assert!(wait_for(SOON, || peer.acked_on(2).len() >= 19));
    // 502 was never sent: nothing was taken as acknowledged, all sent
    // again from line 0. Transaction 2 acknowledged twice: the first
    // counted (line 0 is not sent again), the second refused.
    let again = nums(&peer.received(1));
    assert!(
        !again.is_empty() && again.iter().enumerate().all(|(i, &n)| i == n),
        "{again:?}"
    );
    assert_eq!(nums(&peer.received(2)), (1..20).collect::<Vec<_>>());
    let err = ship.stop();
    let url = peer.url();
    // Each session that got an acknowledgement through after a failure
    // (the second before refusing its double one, the third) says so.
    assert_eq!(
        warnings(&err),
        (
            format!(
                "logship: warning: {url}: response to transaction 502, which is not awaiting one, pausing\n\
                 logship: warning: {url}: response to transaction 2, which is not awaiting one, pausing\n"
            ),
            2
        ),
        "{err}"
    );
    // The cursor is at the end: a restart sends only what is new.
    let ship = Ship::start(&[&peer.url(), &dir], root.path());
    lg.write(20, 21);
    assert!(wait_for(SOON, || nums(&peer.acked()).contains(&20)));
    assert_eq!(nums(&peer.received(3)), [20]);
    ship.stop();
    lg.finish();
}
