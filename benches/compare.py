#!/usr/bin/env python3
"""Whole-process comparison: our multilog vs daemontools' multilog, s6-log
and the cat baseline, on the same input fed through a pipe.

usage: benches/compare.py [--size 100M] [--reps 5] [--input FILE] [--only NAME]

The input is made by ../shared/bench/gen-log (deterministic) unless --input
is given. Every configuration runs all its contenders in alternation, --reps
times; the table shows medians of wall-clock MB/s and of the logger's CPU
seconds (user+sys) per GB, and ratios against the other contenders.
The log directories live in a scratch directory on the same disk as the
current directory (not tmpfs), and each run starts from an empty one after a
sync, so every run pays for its own writes and fsyncs.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OURS = os.path.join(ROOT, "target", "release", "multilog")
GEN = os.path.join(ROOT, "..", "shared", "bench", "gen-log")


def have(path):
    return shutil.which(path) is not None or os.path.exists(path)


def run_pipeline(cmd, infile, cwd, shell=False):
    """cat INFILE | cmd, in cwd. Returns (wall seconds, cpu seconds of cmd)."""
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    cat = subprocess.Popen(["cat", infile], stdout=subprocess.PIPE)
    proc = subprocess.Popen(cmd, stdin=cat.stdout, cwd=cwd, shell=shell,
                            stdout=subprocess.DEVNULL)
    cat.stdout.close()
    _, status, ru = os.wait4(proc.pid, 0)
    t1 = time.perf_counter()
    cat.wait()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{cmd!r} failed with {proc.returncode}")
    return t1 - t0, ru.ru_utime + ru.ru_stime


CAT_SYNC = "cat > f && sync f"

# The twenty `~+` expressions of the regex configuration (the same as
# TWENTY_REGEXES in benches/inner/multilog.rs).
TWENTY_REGEXES = [
    "ERROR", "WARN ", "panic", "timeout", r"status=5\d\d", r'" 5\d\d ',
    r"db\.pool", "attempt=[0-9]{3,}", "(?i)fatal", "connection (refused|reset)",
    r"trace_id=9\d+", "latency_ms=[0-9]{4,}", "user=admin", "POST /api/v1/",
    r"\[io-\d+\]", "segfault", "out of memory", "deadlock", r"shard=1\d{4}\b",
    "^tick 99",
]


def zstd_ratio(work):
    """Uncompressed bytes over bytes on disk of the .s.zst archives in
    work/d (decompressed with the zstd command)."""
    d = os.path.join(work, "d")
    names = [n for n in os.listdir(d) if n.endswith(".s.zst")]
    if not names:
        return None
    disk = sum(os.path.getsize(os.path.join(d, n)) for n in names)
    plain = 0
    for n in names:
        out = subprocess.run(["zstd", "-dc", os.path.join(d, n)],
                             stdout=subprocess.PIPE, check=True).stdout
        plain += len(out)
    return plain / disk


def configs():
    c = []
    c.append(("s16777215 n10", [
        ("ours", [OURS, "s16777215", "n10", "./d"]),
        ("daemontools", ["/usr/bin/multilog", "s16777215", "n10", "./d"]),
        ("s6-log", ["s6-log", "-b", "--", "s16777215", "n10", "./d"]),
        ("cat \\| cat > f; sync f", CAT_SYNC),
    ]))
    c.append(("t s16777215 n10", [
        ("ours", [OURS, "t", "s16777215", "n10", "./d"]),
        ("daemontools", ["/usr/bin/multilog", "t", "s16777215", "n10", "./d"]),
        ("s6-log", ["s6-log", "-b", "--", "t", "s16777215", "n10", "./d"]),
        ("cat \\| cat > f; sync f", CAT_SYNC),
    ]))
    c.append(("t s250000 n20", [
        ("ours", [OURS, "t", "s250000", "n20", "./main"]),
        ("daemontools", ["/usr/bin/multilog", "t", "s250000", "n20", "./main"]),
        ("s6-log", ["s6-log", "-b", "--", "t", "s250000", "n20", "./main"]),
        ("cat \\| cat > f; sync f", CAT_SYNC),
    ]))
    c.append(("T s16777215 n10 (RFC 3339 stamps)", [
        ("ours", [OURS, "T", "s16777215", "n10", "./d"]),
        ("ours t", [OURS, "t", "s16777215", "n10", "./d"]),
        ("cat \\| cat > f; sync f", CAT_SYNC),
    ]))
    c.append(("t s16777215 n10 Z", [
        ("ours", [OURS, "t", "s16777215", "n10", "Z", "./d"]),
        ("ours Z3", [OURS, "t", "s16777215", "n10", "Z3", "./d"]),
        ("ours without Z", [OURS, "t", "s16777215", "n10", "./d"]),
        ("ours !zstd", [OURS, "t", "s16777215", "n10", "!zstd -1 -q", "./d"]),
        ("daemontools !zstd", ["/usr/bin/multilog", "t", "s16777215", "n10",
                               "!zstd -1 -q", "./d"]),
        # (s6-log's processor needs execlineb, not installed here.)
    ]))
    # s16777215: a third of gen-log's lines match one of the twenty, and
    # with the default s the run would measure 360 rotations, not matching.
    c.append(("s16777215 -* ~+ (20 regexes)", [
        ("ours", [OURS, "s16777215", "-*"]
         + ["~+" + r for r in TWENTY_REGEXES] + ["./d"]),
        ("ours -* +*ERROR*", [OURS, "s16777215", "-*", "+*ERROR*", "./d"]),
        ("cat \\| cat > f; sync f", CAT_SYNC),
    ]))
    c.append(("-* +*ERROR*", [
        ("ours", [OURS, "-*", "+*ERROR*", "./d"]),
        ("daemontools", ["/usr/bin/multilog", "-*", "+*ERROR*", "./d"]),
        ("s6-log", ["s6-log", "-b", "--", "-.*", "+ERROR", "./d"]),
        ("cat \\| cat > f; sync f", CAT_SYNC),
    ]))
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="100M")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--input")
    ap.add_argument("--only")
    a = ap.parse_args()
    if not os.path.exists(OURS):
        subprocess.run(["cargo", "build", "--release", "--bin", "multilog"],
                       cwd=ROOT, check=True)
    scratch = tempfile.mkdtemp(prefix="mlbench.", dir=os.getcwd())
    infile = a.input or os.path.join(scratch, "in.log")
    if not a.input:
        subprocess.run([sys.executable, GEN, a.size, infile], check=True)
    nbytes = os.path.getsize(infile)
    print(f"# input: {nbytes} bytes ({infile}), reps {a.reps}, "
          f"{os.cpu_count()} cpus, {time.strftime('%Y-%m-%d')}")
    try:
        for name, contenders in configs():
            if a.only and a.only != name:
                continue
            contenders = [(n, c) for n, c in contenders
                          if isinstance(c, str) or have(c[0])]
            walls = {n: [] for n, _ in contenders}
            cpus = {n: [] for n, _ in contenders}
            ratios = {}
            for _ in range(a.reps):
                for n, cmd in contenders:
                    work = os.path.join(scratch, "w")
                    shutil.rmtree(work, ignore_errors=True)
                    os.mkdir(work)
                    w, c = run_pipeline(cmd, infile, work, shell=isinstance(cmd, str))
                    walls[n].append(w)
                    cpus[n].append(c)
                    if " Z" in name and n.startswith("ours") and have("zstd"):
                        ratios[n] = zstd_ratio(work)
            print(f"\n## multilog {name}\n")
            print("| contender | MB/s (median) | wall s | CPU s/GB | ours is |")
            print("|---|---:|---:|---:|---:|")
            ours_w = statistics.median(walls["ours"])
            for n, _ in contenders:
                w = statistics.median(walls[n])
                c = statistics.median(cpus[n])
                ratio = "" if n == "ours" else f"{w / ours_w:.2f}x faster" \
                    if w >= ours_w else f"{ours_w / w:.2f}x slower"
                print(f"| {n} | {nbytes / w / 1e6:.0f} | {w:.3f} | "
                      f"{c / nbytes * 1e9:.2f} | {ratio} |")
            for n, r in ratios.items():
                if r is not None:
                    print(f"\n{n}: compression ratio {r:.2f} "
                          f"(archived bytes / bytes on disk)")
            sys.stdout.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
