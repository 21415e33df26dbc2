#!/usr/bin/env bash
# Memory of supervise with and without the extension files, against
# daemontools' supervise (/usr/bin).
#
#   benches/supervise-ext-rss.sh [N]     N supervise per kind (default 20)
#
# Starts N supervise processes directly (no svscan) for each kind:
#   dt        daemontools' supervise, plain service directories
#   ours      our supervise, plain service directories
#   ours-ext  our supervise, with notification-fd, finish, down-signal,
#             timeout-kill, process-group and backoff, the service ready
# and prints the median VmRSS and RssAnon (kB) once every service is up;
# then the time from ./run's clock just before it writes the newline on
# its notification-fd to the ready stamp in supervise/extstatus (median of
# TRIALS restarts).
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin supervise --bin svc
OURS=$PWD/target/release
REF=/usr/bin
[ -x $REF/supervise ] || { echo "daemontools not installed (apt-get install daemontools)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/supervise-ext-rss.XXXXXX)
PIDS=()
cleanup() {
    for d in "$WORK"/*/*; do "$OURS/svc" -dx "$d" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
pid_of() { od -An -tu4 -j12 -N4 "$1/supervise/status" 2>/dev/null | tr -d ' \n' || true; }

measure() { # kind supervise extended(0/1)
    local kind=$1 sup=$2 ext=$3 pids=()
    for i in $(seq 1 "$N"); do
        local d=$WORK/$kind/s$i
        mkdir -p "$d"
        if [ "$ext" = 1 ]; then
            printf '#!/bin/sh\necho >&5\nexec sleep 100000\n' > "$d/run"
            echo 5 > "$d/notification-fd"
            printf '#!/bin/sh\nexit 0\n' > "$d/finish"; chmod +x "$d/finish"
            echo TERM > "$d/down-signal"; echo 2000 > "$d/timeout-kill"
            : > "$d/process-group"; echo '100 5000 10000' > "$d/backoff"
        else
            printf '#!/bin/sh\nexec sleep 100000\n' > "$d/run"
        fi
        chmod +x "$d/run"
        "$sup" "$d" >/dev/null 2>&1 &
        pids+=("$!"); PIDS+=("$!")
    done
    for i in $(seq 1 "$N"); do
        until [ -n "$(pid_of "$WORK/$kind/s$i")" ] && [ "$(pid_of "$WORK/$kind/s$i")" != 0 ]; do sleep 0.01; done
    done
    sleep 1.5
    local rss anon
    rss=$(for p in "${pids[@]}"; do awk '/^VmRSS/{print $2}' "/proc/$p/status"; done | median)
    anon=$(for p in "${pids[@]}"; do awk '/^RssAnon/{print $2}' "/proc/$p/status"; done | median)
    printf '%-9s %3s supervise: median VmRSS %s kB, median RssAnon %s kB\n' "$kind" "$N" "$rss" "$anon"
}

ready_latency() {
    local d=$WORK/ready/s times=()
    mkdir -p "$d"
    printf '#!/bin/sh\ndate +%%s%%N > ../t\necho >&5\nexec sleep 100000\n' > "$d/run"
    chmod +x "$d/run"; echo 5 > "$d/notification-fd"
    "$OURS/supervise" "$d" >/dev/null 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 "${TRIALS:-5}"); do
        until [ -s "$WORK/ready/t" ] && [ "$(od -An -tu1 -j24 -N1 "$d/supervise/extstatus" | tr -d ' ')" = 17 ]; do sleep 0.01; done
        local ready_ns
        ready_ns=$(python3 -c 'import sys,struct; b=open(sys.argv[1],"rb").read(); s,n=struct.unpack(">QI",b[:12]); print((s-(1<<62)-10)*10**9+n)' "$d/supervise/extstatus")
        times+=($(( (ready_ns - $(cat "$WORK/ready/t")) / 1000 )))
        rm -f "$WORK/ready/t"
        "$OURS/svc" -t "$d"
        sleep 1.2
    done
    printf 'ready latency (date before the newline -> extstatus stamp): median %s us (%s)\n' \
        "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
}

measure dt "$REF/supervise" 0
measure ours "$OURS/supervise" 0
measure ours-ext "$OURS/supervise" 1
ready_latency
