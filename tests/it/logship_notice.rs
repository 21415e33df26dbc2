//! logship says when a broken session works again: after the warning
//! that began an outage, `logship: info: URL: sending again after N s, M
//! lines behind` once, at the first acknowledgement (RELP) or write the
//! kernel took (TCP). And `-e`: with no cursor yet, only the lines
//! written after the start are shipped.

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::relp_peer::{Mode, Peer};
use crate::support::ship::{Logger, Ship};
use crate::support::{wait_for, SOON};

/// The notice lines of `err` for `url`, each checked for its form, as
/// (seconds, lines behind).
fn notices(err: &str, url: &str) -> Vec<(u64, usize)> {
    let head = format!("logship: info: {url}: sending again after ");
    err.lines()
        .filter_map(|l| l.strip_prefix(&head))
        .map(|rest| {
            let (secs, rest) = rest.split_once(" s, ").expect(rest);
            let rest = rest.strip_prefix("at least ").unwrap_or(rest);
            let behind = rest.strip_suffix(" lines behind").expect(rest);
            (secs.parse().expect(secs), behind.parse().expect(behind))
        })
        .collect()
}

#[test]
fn relp_session_that_works_again_is_announced_once() {
    let root = tempfile::tempdir().unwrap();
    // The first session stops answering: `-t 1` gives it up.
    let peer = Peer::start(vec![Mode::SilentAfterOpen, Mode::Normal]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 50);
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&["-t", "1", &peer.url(), &dir], root.path());
    assert!(
        wait_for(SOON, || !notices(&ship.stderr(), &peer.url()).is_empty()),
        "{}",
        ship.stderr()
    );
    assert!(wait_for(SOON, || peer.acked().len() >= 50));
    // More lines, acknowledged: no further notice.
    lg.write(50, 60);
    assert!(wait_for(SOON, || peer.acked().len() >= 60));
    let err = ship.stop();
    let warn = err.find("logship: warning: unable to get acknowledgements from");
    let info = err.find("logship: info: ");
    assert!(warn.is_some() && warn < info, "{err}");
    let n = notices(&err, &peer.url());
    assert_eq!(n.len(), 1, "{err}");
    // At most the 50 lines sent again were behind.
    assert!(n[0].1 <= 50, "{err}");
    lg.finish();
}

#[test]
fn tcp_receiver_started_again_is_announced() {
    let root = tempfile::tempdir().unwrap();
    // A port with nobody listening: connecting is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 5);
    let dir = lg.dir.to_str().unwrap().to_string();
    let ship = Ship::start(&[&url, &dir], root.path());
    let refused = format!("logship: warning: unable to connect to {url}, pausing: ");
    assert!(
        wait_for(SOON, || ship.stderr().contains(&refused)),
        "{}",
        ship.stderr()
    );
    assert!(notices(&ship.stderr(), &url).is_empty());
    // The receiver starts again on its port.
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut b = [0u8; 4096];
            while let Ok(n) = c.read(&mut b) {
                if n == 0 {
                    break;
                }
                g.lock().unwrap().extend_from_slice(&b[..n]);
            }
        }
    });
    assert!(
        wait_for(SOON, || !notices(&ship.stderr(), &url).is_empty()),
        "{}",
        ship.stderr()
    );
    assert!(wait_for(SOON, || String::from_utf8_lossy(
        &got.lock().unwrap()
    )
    .contains("line 00000004")));
    let err = ship.stop();
    assert_eq!(notices(&err, &url).len(), 1, "{err}");
    lg.finish();
}

/// The line numbers acknowledged so far.
fn acked_lines(p: &Peer) -> Vec<usize> {
    p.acked()
        .iter()
        .filter_map(|d| {
            let s = String::from_utf8_lossy(d);
            let at = s.rfind("line ")?;
            s.get(at + 5..at + 13)?.parse().ok()
        })
        .collect()
}

#[test]
fn dash_e_starts_at_the_end_without_a_cursor_only() {
    let root = tempfile::tempdir().unwrap();
    let peer = Peer::start(vec![Mode::Normal]);
    let mut lg = Logger::start(root.path(), &["t"]);
    lg.write(0, 10);
    let dir = lg.dir.to_str().unwrap().to_string();
    // Every old line is in `current` before logship looks for its end.
    assert!(wait_for(SOON, || std::fs::read(lg.dir.join("current"))
        .is_ok_and(
            |b| String::from_utf8_lossy(&b).contains("line 00000009")
        )));
    let ship = Ship::start(&["-e", &peer.url(), &dir], root.path());
    // Connected: the directory was opened (at its end) before.
    assert!(wait_for(SOON, || peer.opened(0)), "{}", ship.stderr());
    lg.write(10, 15);
    assert!(
        wait_for(SOON, || acked_lines(&peer).len() >= 5),
        "{}",
        ship.stderr()
    );
    let err = ship.stop();
    assert_eq!(acked_lines(&peer), (10..15).collect::<Vec<_>>(), "{err}");
    // With a cursor, -e changes nothing: what was written while logship
    // was stopped is shipped.
    lg.write(15, 20);
    let ship = Ship::start(&["-e", &peer.url(), &dir], root.path());
    assert!(
        wait_for(SOON, || acked_lines(&peer).len() >= 10),
        "{}",
        ship.stderr()
    );
    let err = ship.stop();
    assert_eq!(acked_lines(&peer), (10..20).collect::<Vec<_>>(), "{err}");
    lg.finish();
}
