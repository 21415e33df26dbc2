#!/usr/bin/env python3
"""Throughput cost of kill-proof input and of the F<ms> fsync window:
multilog before the change (BEFORE=path to that build), ours, ours with
F100 and ours with F1000, on benches/compare.py's four workloads, in
alternation, through a pipe (so ours reads by peeking).

usage: BEFORE=/path/to/old/multilog benches/durability.py [--reps 5] [--size 100M] [--ext]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

WORKLOADS = [
    ("s16777215 n10", ["s16777215", "n10"], ["./d"]),
    ("t s16777215 n10", ["t", "s16777215", "n10"], ["./d"]),
    ("t s250000 n20", ["t", "s250000", "n20"], ["./main"]),
    ("-* +*ERROR*", ["-*", "+*ERROR*"], ["./d"]),
]

# --ext: the extensions that change what is written or finished.
EXT_WORKLOADS = [
    ("t s16777215 n10 Z", ["t", "s16777215", "n10", "Z"], ["./d"]),
    ("T s16777215 n10", ["T", "s16777215", "n10"], ["./d"]),
    ("t s250000 n5 S1000000 R1 N3", ["t", "s250000", "n5", "S1000000", "R1", "N3"], ["./d"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="100M")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ext", action="store_true", help="the extension workloads instead")
    a = ap.parse_args()
    before = os.environ.get("BEFORE")
    scratch = tempfile.mkdtemp(prefix="mlbench.", dir=os.getcwd())
    infile = os.path.join(scratch, "in.log")
    subprocess.run([sys.executable, compare.GEN, a.size, infile], check=True)
    nbytes = os.path.getsize(infile)
    print(f"# input: {nbytes} bytes, reps {a.reps}, {time.strftime('%Y-%m-%d %H:%M')}")
    try:
        for name, head, tail in EXT_WORKLOADS if a.ext else WORKLOADS:
            contenders = []
            if before:
                contenders.append(("before", [before] + head + tail))
            contenders.append(("ours", [compare.OURS] + head + tail))
            for ms in (100, 1000):
                contenders.append((f"ours F{ms}", [compare.OURS] + head + [f"F{ms}"] + tail))
            walls = {n: [] for n, _ in contenders}
            cpus = {n: [] for n, _ in contenders}
            for _ in range(a.reps):
                for n, cmd in contenders:
                    work = os.path.join(scratch, "w")
                    shutil.rmtree(work, ignore_errors=True)
                    os.mkdir(work)
                    w, c = compare.run_pipeline(cmd, infile, work)
                    walls[n].append(w)
                    cpus[n].append(c)
            ref = statistics.median(walls["before" if before else "ours"])
            print(f"\n### multilog {name}\n")
            print("| contender | MB/s (median) | wall s | CPU s/GB | throughput vs before |")
            print("|---|---:|---:|---:|---:|")
            for n, _ in contenders:
                w = statistics.median(walls[n])
                c = statistics.median(cpus[n])
                print(f"| {n} | {nbytes / w / 1e6:.0f} | {w:.3f} | "
                      f"{c / nbytes * 1e9:.2f} | {ref / w:.2f}x |")
            sys.stdout.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
