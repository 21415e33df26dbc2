#!/usr/bin/env bash
# RSS and latency of our supervise/svscan against daemontools' (/usr/bin).
#
#   benches/supervise.sh [N]      N services for the RSS test (default 50)
#
# Prints, for each implementation:
#   rss       VmRSS (kB) of svscan and of its N supervise children (sum, median)
#   restart   ms from `kill -9` of a long-running ./run to the new pid in status
#   crashloop mean seconds between starts of a ./run that exits at once
#   new       ms from `mv` of a service into the scan dir to its ./run pid in status
set -euo pipefail
N=${1:-50}
TRIALS=${TRIALS:-5}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin supervise --bin svscan --bin svc
OURS=$PWD/target/release
REF=/usr/bin
[ -x $REF/supervise ] || { echo "daemontools not installed (apt-get install daemontools)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/supervise-bench.XXXXXX)
BG=()

cleanup() {
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
    for d in "$WORK"/*/* "$WORK"/*/*/*; do
        [ -p "$d/supervise/control" ] && "$OURS/svc" -dx "$d" 2>/dev/null || true
    done
    sleep 0.5
    rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
pid_of() { od -An -tu4 -j12 -N4 "$1/supervise/status" 2>/dev/null | tr -d ' \n' || true; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
mkservice() { mkdir -p "$1"; printf '#!/bin/sh\n%s\n' "$2" > "$1/run"; chmod +x "$1/run"; }
wait_up() { # dir [old pid] -> waits until status shows a pid != 0 and != old
    local d=$1 old=${2:-0} end=$(( $(now_ms) + 20000 ))
    while :; do
        local p; p=$(pid_of "$d")
        [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$old" ] && return 0
        [ "$(now_ms)" -gt "$end" ] && { echo "timeout waiting for $d" >&2; return 1; }
    done
}

rss() { # label bindir
    local label=$1 bin=$2 scan=$WORK/$1/rss
    for i in $(seq 1 "$N"); do mkservice "$scan/s$i" 'exec sleep 100000'; done
    PATH="$bin:$PATH" "$bin/svscan" "$scan" >/dev/null 2>&1 &
    local sv=$!; BG+=("$sv")
    for i in $(seq 1 "$N"); do wait_up "$scan/s$i"; done
    sleep 1.5
    local kids; kids=$(pgrep -P "$sv")
    local list; list=$(for c in $kids; do awk '/^VmRSS/{print $2}' "/proc/$c/status"; done)
    local sum; sum=$(echo "$list" | awk '{s+=$1} END {print s}')
    local med; med=$(echo "$list" | median)
    local own; own=$(awk '/^VmRSS/{print $2}' "/proc/$sv/status")
    printf '%-10s rss: svscan %s kB; %s supervise: sum %s kB, median %s kB\n' \
        "$label" "$own" "$(echo "$kids" | wc -w)" "$sum" "$med"
    "$OURS/svc" -dx "$scan"/*
    kill "$sv"
}

restart() { # label supervise
    local label=$1 sup=$2 d=$WORK/$1/restart times=()
    mkservice "$d" 'exec sleep 100000'
    "$sup" "$d" >/dev/null 2>&1 &
    BG+=("$!")
    wait_up "$d"
    for _ in $(seq 1 "$TRIALS"); do
        sleep 1.2 # past supervise's one-second pause after a start
        local p; p=$(pid_of "$d")
        local t0; t0=$(date +%s%N)
        kill -9 "$p"
        wait_up "$d" "$p"
        times+=($(( ($(date +%s%N) - t0) / 1000 )))
    done
    printf '%-10s restart after kill -9: median %s us (%s)\n' "$label" \
        "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
    "$OURS/svc" -dx "$d"
}

crashloop() { # label supervise
    local label=$1 sup=$2 d=$WORK/$1/crash
    mkservice "$d" 'date +%s%N >> ../crash.starts; exit 1'
    "$sup" "$d" >/dev/null 2>&1 &
    BG+=("$!")
    local end=$(( $(now_ms) + 20000 ))
    while [ "$(wc -l < "$WORK/$label/crash.starts" 2>/dev/null || echo 0)" -lt 7 ]; do
        [ "$(now_ms)" -gt "$end" ] && break
        sleep 0.1
    done
    "$OURS/svc" -dx "$d"
    awk 'NR>1 {s+=($1-p)/1e9; n++} {p=$1} END {printf "%-10s crash loop: mean %.3f s between starts over %d restarts\n", L, s/n, n}' \
        L="$label" "$WORK/$label/crash.starts"
}

newservice() { # label bindir
    local label=$1 bin=$2 scan=$WORK/$1/scan times=()
    mkdir -p "$scan"
    PATH="$bin:$PATH" "$bin/svscan" "$scan" >/dev/null 2>&1 &
    local sv=$!; BG+=("$sv")
    sleep 1
    for i in $(seq 1 "$TRIALS"); do
        # Prepared elsewhere, then moved in (the documented practice).
        mkservice "$WORK/$label/new$i" 'exec sleep 100000'
        sleep 0.$((1 + RANDOM % 9))
        local t0; t0=$(date +%s%N)
        mv "$WORK/$label/new$i" "$scan/new$i"
        wait_up "$scan/new$i"
        times+=($(( ($(date +%s%N) - t0) / 1000000 )))
    done
    # Created and moved in at once: ours holds a directory modified less
    # than 50 ms ago (svscan.rs YOUNG) for a rescan.
    local fresh=()
    for i in $(seq 1 "$TRIALS"); do
        mkservice "$WORK/$label/fresh$i" 'exec sleep 100000'
        local t0; t0=$(date +%s%N)
        mv "$WORK/$label/fresh$i" "$scan/fresh$i"
        wait_up "$scan/fresh$i"
        fresh+=($(( ($(date +%s%N) - t0) / 1000000 )))
        sleep 0.$((RANDOM % 10))
    done
    printf '%-10s new service to running: median %s ms (%s)\n' "$label" \
        "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
    printf '%-10s just-created service to running: median %s ms (%s)\n' "$label" \
        "$(printf '%s\n' "${fresh[@]}" | median)" "${fresh[*]}"
    "$OURS/svc" -dx "$scan"/*
    kill "$sv"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -r) $(nproc) cores; N=$N TRIALS=$TRIALS"
for impl in ours:$OURS daemontools:$REF; do
    label=${impl%%:*} bin=${impl#*:}
    mkdir -p "$WORK/$label"
    rss "$label" "$bin"
    restart "$label" "$bin/supervise"
    crashloop "$label" "$bin/supervise"
    newservice "$label" "$bin"
done
