#!/usr/bin/env python3
"""svinit against what containers run today, as PID 1 of a PID namespace.

usage: sudo benches/svinit_compare.py [--reps 3] [--only NAME]

Each contender runs as PID 1 of `unshare --pid --fork --mount-proc` on its
own copy of the same scan directory:

* three services writing numbered lines as fast as they can through our
  `multilog` (the same logger everywhere, so only the init differs); on
  SIGTERM each waits 0.1/0.2/0.3 s, writes `last N` and exits; after each
  line it notes its count in a file;
* one service that double-forks 200 short-lived children at its start.

After 2 s: the zombies in the namespace are counted; then the PID 1 gets
SIGTERM, as `docker stop` sends, and SIGKILL 10 s later if it is still
there (Docker's default). Reported: zombies, lines lost (the writers'
count, from `last N` or, when they were killed, from the file, minus the
lines in the log directories, plus a missing `last` line), the
stop time (SIGTERM to the end of the namespace's PID 1) and its exit code
(from `unshare`, which says 1 when its child died of a signal).

Then svinit's resident memory against svscan's with the same services, and
the stop time of 100 idle services under svinit and under s6-svscan.

Needs root, util-linux's unshare, and the Debian packages daemontools,
tini, dumb-init, runit and s6 (missing ones are skipped).
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, "target", "release")
MULTILOG = os.path.join(BIN, "multilog")

WRITER = """#!/bin/sh
trap 'sleep {stop}; echo "last $i"; exit 0' TERM
i=0
while :; do
    echo $i
    i=$((i+1))
    echo $i > ../count
done
"""
ORPHANS = """#!/bin/sh
i=0
while [ $i -lt 200 ]; do (sleep 0.2 &); i=$((i+1)); done
exec sleep 1000
"""
IDLE = "#!/bin/sh\nexec sleep 1000\n"


def script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def make_scan(root, writers=True, idle=0):
    scan = os.path.join(root, "scan")
    os.makedirs(scan)
    if writers:
        for name, stop in (("a", "0.1"), ("b", "0.2"), ("c", "0.3")):
            d = os.path.join(scan, name)
            os.makedirs(os.path.join(d, "log"))
            script(os.path.join(d, "run"), WRITER.format(stop=stop))
            script(os.path.join(d, "log", "run"),
                   f"#!/bin/sh\nexec {MULTILOG} s16777215 n50 ./main\n")
        d = os.path.join(scan, "orphans")
        os.makedirs(d)
        script(os.path.join(d, "run"), ORPHANS)
    for i in range(idle):
        d = os.path.join(scan, f"idle{i}")
        os.makedirs(d)
        script(os.path.join(d, "run"), IDLE)
    return scan


def contenders():
    """(name, argv before the scan directory, PATH, needed executable)."""
    ours_first = f"{BIN}:/usr/bin:/bin"
    deb_first = f"/usr/bin:/bin:{BIN}"
    return [
        ("svinit", [os.path.join(BIN, "svinit")], ours_first, os.path.join(BIN, "svinit")),
        ("tini + daemontools svscan", ["/usr/bin/tini", "--", "/usr/bin/svscan"], deb_first, "/usr/bin/tini"),
        ("tini + our svscan", ["/usr/bin/tini", "--", os.path.join(BIN, "svscan")], ours_first, "/usr/bin/tini"),
        ("dumb-init + daemontools svscan", ["/usr/bin/dumb-init", "/usr/bin/svscan"], deb_first, "/usr/bin/dumb-init"),
        ("dumb-init + our svscan", ["/usr/bin/dumb-init", os.path.join(BIN, "svscan")], ours_first, "/usr/bin/dumb-init"),
        ("runit's runsvdir", ["/usr/bin/runsvdir", "-P"], deb_first, "/usr/bin/runsvdir"),
        ("s6-svscan", ["/usr/bin/s6-svscan"], deb_first, "/usr/bin/s6-svscan"),
    ]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def ns_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def zombies_in(ns):
    n = 0
    for p in os.listdir("/proc"):
        if not p.isdigit() or ns_of(p) != ns:
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2:].startswith("Z"):
            n += 1
    return n


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def start(argv, scan, path):
    env = dict(os.environ, PATH=path)
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc"] + argv + [scan],
                         env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         cwd=os.path.dirname(scan))
    deadline = time.time() + 5
    while not children(p.pid):
        if time.time() > deadline:
            sys.exit("unshare started nothing")
        time.sleep(0.005)
    return p, children(p.pid)[0]


def stop(p, pid1):
    t0 = time.perf_counter()
    os.kill(pid1, signal.SIGTERM)
    try:
        code = p.wait(timeout=10)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(pid1, signal.SIGKILL)
        code = p.wait()
        killed = True
    return time.perf_counter() - t0, code, killed


def lost_lines(scan):
    """Lines written and not in the log directories, over the writers."""
    lost, complete = 0, True
    for name in ("a", "b", "c"):
        main = os.path.join(scan, name, "log", "main")
        files = sorted(f for f in os.listdir(main) if f.startswith("@")) + ["current"]
        text = "".join(open(os.path.join(main, f), errors="replace").read() for f in files)
        lines = text.split("\n")
        cut = lines[-1] != ""
        lines = [l for l in lines if l]
        last = [l for l in lines if l.startswith("last ")]
        numbers = [l for l in lines if not l.startswith("last ")]
        logged = 0
        for i, l in enumerate(numbers):
            if l != str(i):
                complete = False
                break
            logged += 1
        try:
            written = int(open(os.path.join(scan, name, "count")).read())
        except (OSError, ValueError):
            written = logged
        if last:
            written = int(last[0].split()[1])
        else:
            complete = False
        lost += max(0, written - logged) + (0 if last else 1)
        complete = complete and not cut
    return lost, complete


def run_one(name, argv, path, reps):
    rows = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(dir=os.getcwd()) as t:
            scan = make_scan(t)
            p, pid1 = start(argv, scan, path)
            time.sleep(2)
            zombies = zombies_in(ns_of(pid1))
            took, code, killed = stop(p, pid1)
            lost, complete = lost_lines(scan)
            rows.append((zombies, lost, complete, took, code, killed))
    med = lambda i: statistics.median(r[i] for r in rows)
    return {
        "name": name,
        "zombies": int(med(0)),
        "lost": int(med(1)),
        "complete": all(r[2] for r in rows),
        "stop": med(3),
        "code": rows[-1][4],
        "killed": any(r[5] for r in rows),
    }


def rss_compare():
    out = {}
    for name, argv, path in (
        ("svinit", [os.path.join(BIN, "svinit")], f"{BIN}:/usr/bin:/bin"),
        ("our svscan", [os.path.join(BIN, "svscan")], f"{BIN}:/usr/bin:/bin"),
        ("daemontools svscan", ["/usr/bin/svscan"], f"/usr/bin:/bin:{BIN}"),
    ):
        if not os.path.exists(argv[0]):
            continue
        with tempfile.TemporaryDirectory(dir=os.getcwd()) as t:
            scan = make_scan(t, writers=False, idle=10)
            p, pid1 = start(argv, scan, path)
            time.sleep(1.5)
            out[name] = rss_kb(pid1)
            os.kill(pid1, signal.SIGKILL)
            p.wait()
    return out


def idle_stop(argv, path, reps):
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(dir=os.getcwd()) as t:
            scan = make_scan(t, writers=False, idle=100)
            p, pid1 = start(argv, scan, path)
            deadline = time.time() + 20
            while time.time() < deadline:
                up = sum(1 for i in range(100)
                         if os.path.exists(os.path.join(scan, f"idle{i}", "supervise", "status")))
                if up == 100:
                    break
                time.sleep(0.05)
            time.sleep(1.5)
            took, code, _ = stop(p, pid1)
            times.append(took)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (unshare --pid)")
    results = []
    for name, argv, path, need in contenders():
        if a.only and a.only not in name:
            continue
        if not os.path.exists(need):
            print(f"skipped: {name} ({need} not installed)", file=sys.stderr)
            continue
        r = run_one(name, argv, path, a.reps)
        results.append(r)
        print(r, file=sys.stderr)
    print("| PID 1 | zombies after 2 s | lines lost at stop | every line kept | stop time | exit code |")
    print("|---|---:|---:|---|---:|---:|")
    for r in results:
        stop_s = f"{r['stop'] * 1000:.0f} ms" + (" (SIGKILLed at 10 s)" if r["killed"] else "")
        print(f"| {r['name']} | {r['zombies']} | {r['lost']} | {'yes' if r['complete'] else 'no'} "
              f"| {stop_s} | {r['code']} |")
    if not a.only:
        rss = rss_compare()
        print()
        print("resident memory of PID 1 with 10 idle services: " +
              ", ".join(f"{k} {v} kB" for k, v in rss.items()))
        for name, argv, path in (
            ("svinit", [os.path.join(BIN, "svinit")], f"{BIN}:/usr/bin:/bin"),
            ("s6-svscan", ["/usr/bin/s6-svscan"], "/usr/bin:/bin"),
        ):
            if os.path.exists(argv[0]):
                print(f"{name} stop time, 100 idle services (median of {a.reps}): "
                      f"{idle_stop(argv, path, a.reps) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
