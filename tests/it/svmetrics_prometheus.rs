//! svmetrics end to end: a real Prometheus (Debian's `prometheus`, started
//! here on a free loopback port with its own configuration and data
//! directory, killed at the end) scrapes svmetrics, and its query API
//! returns the expected values while a service goes up, down and crashes.
//!
//! The deaths/last-signal figures come from supervise's own
//! `supervise/extstatus`.

use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::http::{free_port, get, Server};
use crate::support::supervise::{control, status, wait_status};
use crate::support::{installed, wait_for, SOON};
use crate::svmetrics::{scan_dir, svmetrics};

/// Prometheus query API: the single value of an instant vector, if any.
fn query(prom: &str, q: &str) -> Option<String> {
    let enc: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let r = get(prom, &format!("/api/v1/query?query={enc}")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    let res = v["data"]["result"].as_array()?;
    res.first()?["value"][1].as_str().map(str::to_string)
}

/// The end-to-end test: a real Prometheus scrapes svmetrics every 500 ms;
/// its query API shows the service up, then down, then up again with a
/// new pid after a crash, and the extended facts.
#[test]
fn prometheus_scrapes_svmetrics() {
    let Some(prometheus) = installed("prometheus", "prometheus") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let scan = t.path().join("service");
    fs::create_dir(&scan).unwrap();
    let (a, _b) = scan_dir(&scan);
    let (_srv, target) = svmetrics(&scan);
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let config = t.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n\
             scrape_configs:\n  - job_name: daemontools\n    static_configs:\n\
             \x20     - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let log = fs::File::create(t.path().join("prometheus.log")).unwrap();
    let _prom = Server(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                t.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .current_dir(t.path())
            .spawn()
            .unwrap(),
    );
    let up = "daemontools_service_up{service=\"a\"}";
    let pid_q = "daemontools_service_pid{service=\"a\"}";
    // Prometheus hands its first targets to the scraper after its 5 s
    // discovery throttle: the first scrape comes 5-6 s after start-up.
    let first = wait_for(Duration::from_secs(20), || {
        query(&prom_addr, up).as_deref() == Some("1")
    });
    let plog = || fs::read_to_string(t.path().join("prometheus.log")).unwrap_or_default();
    assert!(first, "no scrape seen; prometheus log:\n{}", plog());
    let pid = status(&a.dir).unwrap().pid.to_string();
    assert_eq!(query(&prom_addr, pid_q), Some(pid));
    assert_eq!(
        query(&prom_addr, "daemontools_log_archives{service=\"a\"}").as_deref(),
        Some("2")
    );
    assert_eq!(
        query(&prom_addr, "daemontools_service_normally_up{service=\"b\"}").as_deref(),
        Some("0")
    );

    assert!(control(&a.dir, b"d"));
    let down = wait_for(SOON, || {
        query(&prom_addr, up).as_deref() == Some("0")
            && query(&prom_addr, "daemontools_service_want_up{service=\"a\"}").as_deref()
                == Some("0")
    });
    assert!(down, "down never seen by prometheus");

    assert!(control(&a.dir, b"u"));
    let first_pid = wait_status(&a.dir, "up", |s| s.pid != 0).pid;
    assert!(control(&a.dir, b"k"));
    let new_pid = wait_status(&a.dir, "restarted", |s| s.pid != 0 && s.pid != first_pid).pid;
    // Two deaths: svc -d (TERM) and svc -k (KILL).
    let crashed = wait_for(SOON, || {
        query(&prom_addr, pid_q) == Some(new_pid.to_string())
            && query(&prom_addr, up).as_deref() == Some("1")
            && query(
                &prom_addr,
                "daemontools_service_deaths_total{service=\"a\"}",
            )
            .as_deref()
                == Some("2")
            && query(&prom_addr, "daemontools_service_last_signal{service=\"a\"}").as_deref()
                == Some("9")
    });
    assert!(crashed, "crash never seen by prometheus");
    // Prometheus marks the target healthy.
    assert_eq!(
        query(&prom_addr, &format!("up{{instance=\"{target}\"}}")).as_deref(),
        Some("1")
    );
}
