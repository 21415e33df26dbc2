//! `make install` and `make uninstall`: every program, man page and
//! completion goes where docs/install.md says, the unit names the installed
//! programs and scans `/service` unless `SCANDIR` says otherwise, and
//! install never builds (it says to run `make` when a program is missing).
//! The Debian package: its unit (`make deb-unit`) has `/usr/bin` and
//! Debian's `/etc/service`, and its assets list every program.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::skip;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `make -C ROOT ARGS...`, or `None` (after a loud skip) without make.
fn make(args: &[&str]) -> Option<std::process::Output> {
    match Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(root())
        .args(args)
        .output()
    {
        Ok(o) => Some(o),
        Err(e) => {
            skip("DTOOLS_REQUIRE_REFERENCE", &format!("make: {e}"));
            None
        }
    }
}

fn programs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("src/bin"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The directory holding the programs this test run built.
fn build_dir() -> PathBuf {
    crate::support::ours("multilog")
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn make_install_and_uninstall() {
    let t = tempfile::tempdir().unwrap();
    let dest = t.path().join("stage");
    let d = format!("DESTDIR={}", dest.display());
    let b = format!("BUILDDIR={}", build_dir().display());
    let Some(out) = make(&["install", &d, &b, "PREFIX=/usr"]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for p in programs() {
        let bin = dest.join("usr/bin").join(&p);
        assert!(bin.is_file(), "{} not installed", bin.display());
        assert!(
            dest.join(format!("usr/share/man/man8/{p}.8")).is_file(),
            "{p}.8"
        );
    }
    for p in ["svc", "svstat", "svwait", "svlog", "logship"] {
        let c = dest.join("usr/share/bash-completion/completions").join(p);
        let text = std::fs::read_to_string(&c).unwrap_or_default();
        assert!(
            text.contains(&format!("complete -F _dtools_{p} {p}\n")),
            "{} does not complete {p}",
            c.display()
        );
    }
    let unit = std::fs::read_to_string(dest.join("usr/lib/systemd/system/svscan.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/svscan "), "{unit}");
    assert!(!unit.contains("/usr/local/bin/svc"), "{unit}");
    assert!(
        unit.contains("\nEnvironment=SVSCANDIR=/service\n"),
        "{unit}"
    );
    assert!(unit.contains("\nAlias=daemontools.service\n"), "{unit}");

    let Some(out) = make(&["uninstall", &d, "PREFIX=/usr"]) else {
        return;
    };
    assert!(out.status.success());
    let left: Vec<_> = walk(&dest).into_iter().filter(|p| p.is_file()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn make_install_scandir_says_otherwise() {
    let t = tempfile::tempdir().unwrap();
    let d = format!("DESTDIR={}", t.path().display());
    let Some(out) = make(&["install-unit", &d, "SCANDIR=/etc/service"]) else {
        return;
    };
    assert!(out.status.success());
    let unit =
        std::fs::read_to_string(t.path().join("usr/local/lib/systemd/system/svscan.service"))
            .unwrap();
    assert!(
        unit.contains("\nEnvironment=SVSCANDIR=/etc/service\n"),
        "{unit}"
    );
    assert!(
        unit.contains("ExecStart=/usr/local/bin/svscan ${SVSCANDIR}"),
        "{unit}"
    );
}

/// The unit the .deb installs: Debian's paths, Debian's scan directory,
/// and the name Debian's daemontools-run gives its unit.
#[test]
fn deb_unit_uses_debian_layout() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("deb/svscan.service");
    let Some(out) = make(&["deb-unit", &format!("DEBUNIT={}", path.display())]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = std::fs::read_to_string(&path).unwrap();
    assert!(
        unit.contains("\nEnvironment=SVSCANDIR=/etc/service\n"),
        "{unit}"
    );
    assert!(
        unit.contains("ExecStart=/usr/bin/svscan ${SVSCANDIR}"),
        "{unit}"
    );
    assert!(unit.contains("'/usr/bin/svc -dx "), "{unit}");
    assert!(!unit.contains("/usr/local/bin/s"), "{unit}");
    assert!(unit.contains("\nAlias=daemontools.service\n"), "{unit}");
}

/// Cargo.toml's `[package.metadata.deb]` assets: every program, the man
/// pages, the completion under each name, and the unit from `deb-unit`.
#[test]
fn deb_assets_list_everything() {
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for p in programs() {
        let a = format!("[\"target/release/{p}\", \"usr/bin/\", \"755\"]");
        assert!(toml.contains(&a), "{p} missing from the .deb assets");
    }
    assert!(toml.contains("[\"man/*.8\", \"usr/share/man/man8/\", \"644\"]"));
    for p in ["svc", "svstat", "svwait", "svlog", "logship"] {
        let a = format!(
            "[\"completions/daemontools-rs.bash\", \"usr/share/bash-completion/completions/{p}\", \"644\"]"
        );
        assert!(
            toml.contains(&a),
            "completion for {p} missing from the .deb assets"
        );
    }
    assert!(toml.contains(
        "[\"target/deb/svscan.service\", \"usr/lib/systemd/system/svscan.service\", \"644\"]"
    ));
}

#[test]
fn make_install_never_builds() {
    let t = tempfile::tempdir().unwrap();
    let d = format!("DESTDIR={}", t.path().join("stage").display());
    let b = format!("BUILDDIR={}", t.path().join("nothing-built").display());
    // CARGO=false: if install tried to build, it would fail differently.
    let Some(out) = make(&["install", &d, &b, "CARGO=false"]) else {
        return;
    };
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is missing: run make"), "{err}");
    assert!(!t.path().join("stage/usr").exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(walk(&p));
            }
            v.push(p);
        }
    }
    v
}
