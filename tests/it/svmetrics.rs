//! svmetrics: the exposition (checked by `promtool check metrics` when
//! installed), its values while services go up, down and crash, the log
//! directory figures, HTTP paths and methods. The end-to-end test with a
//! real Prometheus is in `svmetrics_prometheus.rs`.
//!
//! Services run under our supervise, whose `supervise/extstatus` gives
//! the deaths, last death, readiness (a real `notification-fd` newline),
//! permanent failure (a real `./finish` exiting 125) and restart delay.
//! Only the 1000-service report writes records by hand, without processes.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use std::io::Write;

use daemontools::supervise::extstatus::{Death, ExtStatus};

use crate::support::http::{free_port, get, request, Server};
use crate::support::supervise::{
    control, notifying_service, open_gate, service, status, wait_status, write_extstatus,
    write_script, Sup,
};
use crate::support::{installed, ours, wait_for, SOON};

const SLEEPER: &str = "#!/bin/sh\nexec sleep 100\n";

/// Start svmetrics on a free port for `scan`; its address once it answers.
pub(crate) fn svmetrics(scan: &Path) -> (Server, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(ours("svmetrics"))
        .arg("-l")
        .arg(&addr)
        .arg(scan)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server(child);
    assert!(
        wait_for(SOON, || get(&addr, "/metrics").is_ok()),
        "svmetrics on {addr} never answered"
    );
    (s, addr)
}

/// `(metric name, escaped service label) -> value text` of an exposition.
fn samples(body: &str) -> HashMap<(String, String), String> {
    let mut m = HashMap::new();
    for l in body.lines().filter(|l| !l.starts_with('#')) {
        let (key, value) = l.rsplit_once(' ').expect("sample line");
        let (name, labels) = key.split_once("{service=\"").expect("service label");
        let label = labels.strip_suffix("\"}").expect("one label");
        m.insert((name.to_string(), label.to_string()), value.to_string());
    }
    m
}

fn scrape(addr: &str) -> HashMap<(String, String), String> {
    let r = get(addr, "/metrics").unwrap();
    assert_eq!(r.code, 200, "{r:?}");
    samples(&r.body)
}

fn value(m: &HashMap<(String, String), String>, name: &str, svc: &str) -> Option<String> {
    m.get(&(format!("daemontools_{name}"), svc.to_string()))
        .cloned()
}

/// `promtool check metrics` on the body, when promtool is installed.
fn promtool_accepts(body: &str) {
    let Some(promtool) = installed("promtool", "prometheus") else {
        return;
    };
    let out = crate::support::run_input(
        Command::new(promtool).args(["check", "metrics"]),
        body.as_bytes(),
        SOON,
    );
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scan directory: `a` (up, with a logger directory holding `current` and
/// two archives), `b` (normally down), `odd"\name` (never started).
pub(crate) fn scan_dir(root: &Path) -> (Sup, Sup) {
    let a = service(root, "a", SLEEPER);
    fs::create_dir_all(a.join("log/main")).unwrap();
    crate::support::supervise::write_script(&a.join("log/run"), SLEEPER);
    fs::write(a.join("log/main/current"), "12345").unwrap();
    fs::write(a.join("log/main/@400000006b050f393447a0fc.s"), "abc").unwrap();
    fs::write(a.join("log/main/@400000006b050f403447a0fc.u"), "de").unwrap();
    fs::write(a.join("log/main/state"), "").unwrap();
    let b = service(root, "b", SLEEPER);
    fs::write(b.join("down"), "").unwrap();
    service(root, "odd\"\\name", SLEEPER);
    fs::write(root.join("plainfile"), "").unwrap();
    service(root, ".hidden", SLEEPER);
    let sa = Sup::running(&ours("supervise"), &a);
    let sb = Sup::running(&ours("supervise"), &b);
    wait_status(&a, "up", |s| s.pid != 0);
    (sa, sb)
}

#[test]
fn values_follow_up_down_and_crash() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = scan_dir(t.path());
    let (_srv, addr) = svmetrics(t.path());
    let r = get(&addr, "/metrics").unwrap();
    assert!(
        r.head
            .contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{}",
        r.head
    );
    promtool_accepts(&r.body);
    let m = samples(&r.body);
    let pid = status(&a.dir).unwrap().pid;
    assert_eq!(value(&m, "supervise_running", "a").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_up", "a").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_pid", "a"), Some(pid.to_string()));
    assert_eq!(value(&m, "service_want_up", "a").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_normally_up", "a").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_ready", "a").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_up", "b").as_deref(), Some("0"));
    assert_eq!(value(&m, "service_want_up", "b").as_deref(), Some("0"));
    assert_eq!(value(&m, "service_normally_up", "b").as_deref(), Some("0"));
    assert_eq!(
        value(&m, "supervise_running", "a/log").as_deref(),
        Some("0")
    );
    assert_eq!(
        value(&m, "supervise_running", "odd\\\"\\\\name").as_deref(),
        Some("0"),
        "escaped label"
    );
    assert!(!m.keys().any(|(_, s)| s == ".hidden" || s == "plainfile"));
    // supervise's record: no death yet; no notification-fd, so ready from
    // the start.
    assert_eq!(value(&m, "service_deaths_total", "a").as_deref(), Some("0"));
    assert_eq!(
        value(&m, "service_ready_timestamp_seconds", "a"),
        value(&m, "service_state_change_timestamp_seconds", "a")
    );
    // The log directory a/log/main.
    assert_eq!(value(&m, "log_current_bytes", "a").as_deref(), Some("5"));
    assert_eq!(value(&m, "log_archives", "a").as_deref(), Some("2"));
    assert_eq!(value(&m, "log_archive_bytes", "a").as_deref(), Some("5"));
    let mtime: f64 = value(&m, "log_last_write_timestamp_seconds", "a")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - mtime).abs() < 60.0, "{mtime} vs {now}");
    let changed: f64 = value(&m, "service_state_change_timestamp_seconds", "a")
        .unwrap()
        .parse()
        .unwrap();
    assert!((now - changed).abs() < 60.0, "{changed} vs {now}");

    // Down.
    assert!(control(&a.dir, b"d"));
    wait_status(&a.dir, "down", |s| s.pid == 0);
    let m = scrape(&addr);
    assert_eq!(value(&m, "service_up", "a").as_deref(), Some("0"));
    assert_eq!(value(&m, "service_pid", "a").as_deref(), Some("0"));
    assert_eq!(value(&m, "service_want_up", "a").as_deref(), Some("0"));
    assert_eq!(value(&m, "service_ready", "a").as_deref(), Some("0"));

    // Up, paused, continued, then a crash (SIGKILL): supervise restarts it
    // with a new pid.
    assert!(control(&a.dir, b"u"));
    let first = wait_status(&a.dir, "up", |s| s.pid != 0).pid;
    assert!(control(&a.dir, b"p"));
    wait_status(&a.dir, "paused", |s| s.paused);
    let m = scrape(&addr);
    assert_eq!(value(&m, "service_paused", "a").as_deref(), Some("1"));
    assert!(control(&a.dir, b"c"));
    wait_status(&a.dir, "continued", |s| !s.paused);
    assert_eq!(
        value(&scrape(&addr), "service_paused", "a").as_deref(),
        Some("0")
    );
    assert!(control(&a.dir, b"k"));
    let second = wait_status(&a.dir, "restarted", |s| s.pid != 0 && s.pid != first).pid;
    // Two deaths (svc -d, svc -k) and two restarts (svc -u, after the kill).
    assert!(wait_for(SOON, || {
        ExtStatus::read(&a.dir).is_ok_and(|e| e.restarts == 2 && e.last_death == Death::Killed(9))
    }));
    let r = get(&addr, "/metrics").unwrap();
    promtool_accepts(&r.body);
    let m = samples(&r.body);
    assert_eq!(value(&m, "service_pid", "a"), Some(second.to_string()));
    assert_eq!(value(&m, "service_up", "a").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_deaths_total", "a").as_deref(), Some("2"));
    assert_eq!(
        value(&m, "service_restarts_total", "a").as_deref(),
        Some("2")
    );
    assert_eq!(value(&m, "service_last_signal", "a").as_deref(), Some("9"));
    assert_eq!(value(&m, "service_last_exit_code", "a"), None);
    assert_eq!(value(&m, "service_ready", "a").as_deref(), Some("1"));
    // b once: ./run exits 3, ./finish exits 125 and b stays down for good.
    write_script(&b.dir.join("run"), "#!/bin/sh\nexit 3\n");
    write_script(&b.dir.join("finish"), "#!/bin/sh\nexit 125\n");
    assert!(control(&b.dir, b"o"));
    assert!(wait_for(SOON, || {
        ExtStatus::read(&b.dir).is_ok_and(|e| e.permanent_failure)
    }));
    let m = scrape(&addr);
    assert_eq!(value(&m, "service_deaths_total", "b").as_deref(), Some("1"));
    assert_eq!(
        value(&m, "service_last_exit_code", "b").as_deref(),
        Some("3")
    );
    assert_eq!(
        value(&m, "service_permanent_failure", "b").as_deref(),
        Some("1")
    );
    // The fixed pause, shortened for the tests (DTOOLS_TEST_SUPERVISE_PAUSE_MS).
    assert_eq!(
        value(&m, "service_restart_delay_seconds", "b").as_deref(),
        Some("0.050")
    );
}

#[test]
fn ready_follows_the_notification_newline() {
    let t = tempfile::tempdir().unwrap();
    let d = notifying_service(t.path(), "n");
    let _s = Sup::running(&ours("supervise"), &d);
    wait_status(&d, "up", |s| s.pid != 0);
    let (_srv, addr) = svmetrics(t.path());
    let m = scrape(&addr);
    assert_eq!(value(&m, "service_up", "n").as_deref(), Some("1"));
    assert_eq!(value(&m, "service_ready", "n").as_deref(), Some("0"));
    assert_eq!(value(&m, "service_ready_timestamp_seconds", "n"), None);
    let mut gate = open_gate(&d);
    gate.write_all(b"\n").unwrap();
    assert!(wait_for(SOON, || {
        ExtStatus::read(&d).is_ok_and(|e| e.ready.is_some())
    }));
    let m = scrape(&addr);
    assert_eq!(value(&m, "service_ready", "n").as_deref(), Some("1"));
    let at: f64 = value(&m, "service_ready_timestamp_seconds", "n")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - at).abs() < 60.0, "{at} vs {now}");
}

#[test]
fn only_get_metrics_is_served() {
    let t = tempfile::tempdir().unwrap();
    let (_srv, addr) = svmetrics(t.path());
    let r = get(&addr, "/metrics?x=1").unwrap();
    assert_eq!(r.code, 200);
    assert!(r.body.contains("# TYPE daemontools_service_up gauge"));
    assert_eq!(get(&addr, "/").unwrap().code, 404);
    assert_eq!(get(&addr, "/metricsx").unwrap().code, 404);
    let r = request(&addr, "POST", "/metrics").unwrap();
    assert_eq!(r.code, 405);
    assert!(r.head.contains("\r\nAllow: GET, HEAD\r\n"), "{}", r.head);
    assert!(r.head.contains("\r\nConnection: close"), "{}", r.head);
    // HEAD: the head of the GET answer, its length included, no body.
    let r = request(&addr, "HEAD", "/metrics").unwrap();
    assert_eq!(r.code, 200);
    assert!(r.body.is_empty(), "{r:?}");
    let len: usize = r
        .head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(len > 1000, "{}", r.head);
    assert_eq!(request(&addr, "HEAD", "/x").unwrap().code, 404);
}

#[test]
fn usage_and_start_up_failures() {
    let t = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = crate::support::run(
            &ours("svmetrics"),
            &args.iter().map(std::ffi::OsStr::new).collect::<Vec<_>>(),
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (c, err) = run(&["-l", "nonsense", "/"]);
    assert_eq!(c, Some(100));
    assert!(err.contains("svmetrics: usage: svmetrics"), "{err}");
    assert_eq!(run(&["-q"]).0, Some(100));
    // Unknown options, short or long, are refused (djb's getopt would end
    // the options at `--down` and take the default directory).
    for bad in [
        &["--down", "/"][..],
        &["--listen=127.0.0.1:1", "/"],
        &["-l", "127.0.0.1:0", "--x", "/"],
        &["-x", "/"],
    ] {
        let (c, err) = run(bad);
        assert_eq!(c, Some(100), "{bad:?}: {err}");
        assert!(
            err.contains("svmetrics: usage: svmetrics"),
            "{bad:?}: {err}"
        );
    }
    let missing = t.path().join("none");
    let (c, err) = run(&["-l", "127.0.0.1:0", missing.to_str().unwrap()]);
    assert_eq!(c, Some(111));
    assert!(err.contains("unable to open directory"), "{err}");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (c, err) = run(&["-l", &addr, t.path().to_str().unwrap()]);
    assert_eq!(c, Some(111));
    assert!(
        err.contains(&format!(
            "svmetrics: fatal: unable to listen on {addr}: address already used"
        )),
        "{err}"
    );
}

/// Many services (more than `PARALLEL_FROM`, 200, in src/supervise/svmetrics/collect.rs:
/// enough for the scrape to be split between threads on a
/// multi-core machine): every one is there, once, in name order, with its
/// own values.
#[test]
fn many_services_in_order() {
    use daemontools::supervise::status::Status;
    use daemontools::tai64::Tai64N;
    let t = tempfile::tempdir().unwrap();
    let n = 220u32;
    for i in 0..n {
        let d = t.path().join(format!("s{i:03}"));
        fs::create_dir_all(d.join("supervise")).unwrap();
        let st = Status {
            when: Tai64N::now(),
            pid: 10_000 + i,
            paused: false,
            want: b'u',
        };
        fs::write(d.join("supervise/status"), st.encode()).unwrap();
    }
    let (_srv, addr) = svmetrics(t.path());
    let r = get(&addr, "/metrics").unwrap();
    promtool_accepts(&r.body);
    let order: Vec<&str> = r
        .body
        .lines()
        .filter(|l| l.starts_with("daemontools_service_pid{"))
        .collect();
    let want: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "daemontools_service_pid{{service=\"s{i:03}\"}} {}",
                10_000 + i
            )
        })
        .collect();
    assert_eq!(order, want);
}

/// Scrape time for 1000 services (each with a status, an extstatus and a
/// log directory with `current` and 3 archives; supervise's records
/// written directly, no processes), 30 scrapes over one keep-alive-less
/// connection each.
/// `cargo test --release --test it svmetrics::report_scrape_1000 -- --ignored --nocapture`
#[test]
#[ignore = "report"]
fn report_scrape_1000() {
    use daemontools::supervise::status::Status;
    use daemontools::tai64::Tai64N;
    let t = tempfile::tempdir().unwrap();
    for i in 0..1000 {
        let d = t.path().join(format!("svc{i:04}"));
        fs::create_dir_all(d.join("supervise")).unwrap();
        fs::create_dir_all(d.join("log/main")).unwrap();
        fs::create_dir_all(d.join("log/supervise")).unwrap();
        let st = Status {
            when: Tai64N::now(),
            pid: 1000 + i,
            paused: false,
            want: b'u',
        };
        fs::write(d.join("supervise/status"), st.encode()).unwrap();
        fs::write(d.join("log/supervise/status"), st.encode()).unwrap();
        write_extstatus(
            &d,
            &ExtStatus {
                deaths: i,
                ..ExtStatus::default()
            },
        );
        fs::write(d.join("log/main/current"), "x".repeat(100)).unwrap();
        for a in 0..3 {
            fs::write(
                d.join(format!("log/main/@400000006b050f3{a}3447a0fc.s")),
                "y",
            )
            .unwrap();
        }
    }
    let (srv, addr) = svmetrics(t.path());
    let cpu = || {
        let s = fs::read_to_string(format!("/proc/{}/stat", srv.0.id())).unwrap();
        let f: Vec<u64> = s
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|x| x.parse().unwrap())
            .collect();
        f[0] + f[1]
    };
    let cpu0 = cpu();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..30 {
        let start = std::time::Instant::now();
        let r = get(&addr, "/metrics").unwrap();
        times.push(start.elapsed());
        assert_eq!(r.code, 200);
        bytes = r.body.len();
    }
    // Clock ticks (1/100 s) of svmetrics' CPU time, user + system.
    let ticks = cpu() - cpu0;
    let m = scrape(&addr);
    assert_eq!(
        value(&m, "service_deaths_total", "svc0999").as_deref(),
        Some("999")
    );
    times.sort();
    println!(
        "svmetrics, 1000 services (+1000 log services, 1000 log dirs): {bytes} bytes, \
         30 scrapes: median {:?}, max {:?}; svmetrics CPU {} ms per scrape",
        times[15],
        times[29],
        ticks * 10 / 30
    );
}

/// The log directory's archives of every kind multilog leaves: `.s`,
/// `.u` and compressed `.s.zst` (`Z`), counted with their bytes on disk;
/// other names are not archives.
#[test]
fn log_archives_include_compressed() {
    let t = tempfile::tempdir().unwrap();
    let main = t.path().join("a/log/main");
    fs::create_dir_all(&main).unwrap();
    fs::create_dir_all(t.path().join("a/supervise")).unwrap();
    fs::write(main.join("current"), "1").unwrap();
    fs::write(main.join("@400000006b050f393447a0fc.s"), "abc").unwrap();
    fs::write(main.join("@400000006b050f403447a0fc.s.zst"), "zstd!!!").unwrap();
    fs::write(main.join("@400000006b050f413447a0fc.s.zst"), "zz").unwrap();
    fs::write(main.join("@400000006b050f423447a0fc.u"), "de").unwrap();
    for other in ["@400000006b050f433447a0fc.zst", "@nothex.s.zst", "state"] {
        fs::write(main.join(other), "xxxxxxxxxx").unwrap();
    }
    let (_srv, addr) = svmetrics(t.path());
    let m = scrape(&addr);
    assert_eq!(value(&m, "log_archives", "a").as_deref(), Some("4"));
    assert_eq!(value(&m, "log_archive_bytes", "a").as_deref(), Some("14"));
}

/// `-l localhost:PORT` listens on 127.0.0.1 (no resolver asked); `--`
/// still ends the options.
#[test]
fn listens_on_localhost_port() {
    let t = tempfile::tempdir().unwrap();
    let port = free_port();
    let _srv = Server(
        Command::new(ours("svmetrics"))
            .args(["-l", &format!("localhost:{port}"), "--"])
            .arg(t.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr = format!("127.0.0.1:{port}");
    assert!(wait_for(SOON, || get(&addr, "/metrics").is_ok_and(|r| r.code == 200)));
}
