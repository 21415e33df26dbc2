#!/usr/bin/env bash
# Whole-process throughput of our tai64n, tai64nlocal and tai64nfrac against
# daemontools (/usr/bin/tai64n, /usr/bin/tai64nlocal), s6 (s6-tai64n,
# s6-tai64nlocal) and cat, reading a file and writing to /dev/null.
#
# usage: benches/compare-filters.sh [SIZE [RUNS]]
#   SIZE  input size for gen-log (default 100M = 10^8 bytes)
#   RUNS  runs per program, alternating between programs (default 5);
#         the median is reported
# env:    BIN (our binaries, default target/release; built unless NO_BUILD=1)
#         GEN (default /work/shared/bench/gen-log), OUT (default /dev/null)
#
# Prints a Markdown table: median seconds, MB/s (10^6 bytes of input per
# second) and our speed as a multiple of each other program's.
set -euo pipefail

SIZE=${1:-100M}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release}
GEN=${GEN:-/work/shared/bench/gen-log}
OUT=${OUT:-/dev/null}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin tai64n --bin tai64nlocal --bin tai64nfrac)
fi

"$GEN" "$SIZE" "$WORK/in.log" >/dev/null
"$BIN/tai64n" <"$WORK/in.log" >"$WORK/stamped.log"

# time_ns TZ-or-"-" INPUT PROG...: wall time of one run in nanoseconds.
time_ns() {
    local tz=$1 input=$2
    shift 2
    local t0 t1
    t0=$(date +%s%N)
    if [ "$tz" = - ]; then
        env -u TZ "$@" <"$input" >"$OUT"
    else
        env TZ="$tz" "$@" <"$input" >"$OUT"
    fi
    t1=$(date +%s%N)
    echo $((t1 - t0))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# group TITLE TZ INPUT NAME=PROG ...: alternate runs, print table rows.
group() {
    local title=$1 tz=$2 input=$3
    shift 3
    local bytes names=() progs=() i r
    bytes=$(stat -c %s "$input")
    for spec in "$@"; do
        local prog=${spec#*=}
        if [ -x "${prog%% *}" ] || command -v "${prog%% *}" >/dev/null; then
            names+=("${spec%%=*}")
            progs+=("$prog")
        fi
    done
    for i in "${!progs[@]}"; do : >"$WORK/t$i"; done
    for r in $(seq "$RUNS"); do
        for i in "${!progs[@]}"; do
            # shellcheck disable=SC2086
            time_ns "$tz" "$input" ${progs[$i]} >>"$WORK/t$i"
        done
    done
    local ours_ns
    ours_ns=$(median <"$WORK/t0")
    echo
    echo "### $title ($((bytes / 1000000)) MB input, TZ=${tz/#-/unset}, median of $RUNS)"
    echo
    echo "| program | seconds | MB/s | ours is × faster |"
    echo "|---|---:|---:|---:|"
    for i in "${!progs[@]}"; do
        local ns
        ns=$(median <"$WORK/t$i")
        awk -v n="${names[$i]}" -v ns="$ns" -v b="$bytes" -v o="$ours_ns" \
            'BEGIN { printf "| %s | %.3f | %.0f | %.2f |\n", n, ns/1e9, b/1e6/(ns/1e9), ns/o }'
    done
}

echo "## compare-filters.sh $SIZE $RUNS — $(date -u "+%Y-%m-%d %H:%M UTC"), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg)"

group "tai64n" - "$WORK/in.log" \
    "ours tai64n=$BIN/tai64n" \
    "daemontools tai64n=/usr/bin/tai64n" \
    "s6-tai64n=/usr/bin/s6-tai64n" \
    "cat=/bin/cat"

group "tai64nlocal, DST zone" America/New_York "$WORK/stamped.log" \
    "ours tai64nlocal=$BIN/tai64nlocal" \
    "daemontools tai64nlocal=/usr/bin/tai64nlocal" \
    "s6-tai64nlocal=/usr/bin/s6-tai64nlocal" \
    "cat=/bin/cat"

group "tai64nlocal, TZ unset (/etc/localtime)" - "$WORK/stamped.log" \
    "ours tai64nlocal=$BIN/tai64nlocal" \
    "daemontools tai64nlocal=/usr/bin/tai64nlocal" \
    "s6-tai64nlocal=/usr/bin/s6-tai64nlocal" \
    "cat=/bin/cat"

group "tai64nfrac" - "$WORK/stamped.log" \
    "ours tai64nfrac=$BIN/tai64nfrac" \
    "cat=/bin/cat"
