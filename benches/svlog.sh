#!/usr/bin/env bash
# svlog on a large log directory, side by side in one run: the dump against
# `cat @*.s current | tai64nlocal` (ours, and daemontools' if installed),
# `-n 100`, a narrow `--since`/`--until` range (without an index, making
# it, using it; files opened), and the merge of 10 directories.
#
# usage: benches/svlog.sh [GB [RUNS]]
#   GB    gigabytes (10^9 bytes) of input written through our
#         `multilog t s16777215 n10000`: gen-log's 1G output, GB times
#         (default 10; gen-log makes ~12 MB/s, so it is made once)
#   RUNS  runs per command, the median is reported (default 5)
# env:    BIN (default target/release; built unless NO_BUILD=1),
#         GEN (default /work/shared/bench/gen-log),
#         KEEP=DIR to make the data in DIR and keep it (reused if there),
#         DAEMONTOOLS=1 to time daemontools' tai64nlocal too
#
# The range is ~10,000 lines (~1 MB) from the middle of the directory:
# multilog stamps 10 GB in well under a minute here, so "one minute" of a
# directory that took a week to fill is this many bytes, not 60 s of labels.
#
# Prints Markdown tables of median wall-clock and CPU seconds (output to
# /dev/null; the index lives in a temporary XDG_CACHE_HOME).
set -euo pipefail

GB=${1:-10}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release}
GEN=${GEN:-/work/shared/bench/gen-log}
if [ -n "${KEEP:-}" ]; then
    WORK=$KEEP
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
export XDG_CACHE_HOME=$WORK/cache
rm -rf "$XDG_CACHE_HOME"

if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin svlog --bin multilog --bin tai64nlocal)
fi

D=$WORK/log
if [ ! -e "$D/current" ]; then
    [ -e "$WORK/in.log" ] || "$GEN" 1G "$WORK/in.log" >/dev/null
    for _ in $(seq "$GB"); do cat "$WORK/in.log"; done |
        "$BIN/multilog" t s16777215 n10000 "$D"
    # Ten directories of 100 MB each for the merge.
    for i in $(seq 10); do
        head -c 100000000 "$WORK/in.log" | "$BIN/multilog" t s16777215 "$WORK/m$i"
    done
fi
bytes=$(cat "$D"/@*.s "$D"/current | wc -c)
files=$(ls "$D" | grep -c '^@')
mid=$(ls "$D"/@*.s | sed -n "$(( (files + 1) / 2 ))p")
n=$(wc -l <"$mid")
since=$(sed -n "$(( n / 2 ))p" "$mid" | cut -c1-25)
until=$(sed -n "$(( n / 2 + 10000 ))p" "$mid" | cut -c1-25)
mdirs=$(for i in $(seq 10); do printf "'%s' " "$WORK/m$i"; done)
merged=$(bash -c "'$BIN/svlog' $mdirs" | wc -c)

# Wall-clock seconds and CPU seconds (user + system, children included):
# on a loaded machine the first grows with the load, the second hardly.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
once() {
    s=$(date +%s%N)
    /usr/bin/time -f '%U %S' -o "$WORK/time" bash -c "$1" >/dev/null
    e=$(date +%s%N)
    awk -v w=$(( (e - s) / 1000 )) '{printf "%.4f %.2f\n", w / 1e6, $1 + $2}' "$WORK/time"
}
time_cmd() {
    for _ in $(seq "$RUNS"); do once "$1"; done >"$WORK/runs"
    echo "$(cut -d' ' -f1 "$WORK/runs" | median) | $(cut -d' ' -f2 "$WORK/runs" | median)"
}
mbs() { echo "scale=0; $1 / 1000000 / $2" | bc; }
opened() {
    strace -f -e trace=openat -o "$WORK/trace" bash -c "$1" >/dev/null
    grep -v ENOENT "$WORK/trace" | grep -c "$D/[@c]" || true
}

cat "$D"/@*.s "$D"/current >/dev/null # warm the page cache
echo "directory: $bytes bytes in $files archives + current"
echo "range: $since .. $until ($(sed -n "$(( n / 2 )),$(( n / 2 + 9999 ))p" "$mid" | wc -c) bytes)"
echo
echo "| command | wall s | CPU s | MB/s of wall (input; merge: output) |"
echo "|---|---|---|---|"
row() {
    t=$(time_cmd "$2")
    echo "| $1 | $t | $(mbs "$3" "${t%% *}") |"
}
row '`svlog DIR`' "'$BIN/svlog' '$D'" "$bytes"
row '`cat @*.s current \| tai64nlocal` (ours)' "cat '$D'/@*.s '$D'/current | '$BIN/tai64nlocal'" "$bytes"
# daemontools' runs at ~0.1 GB/s: minutes per run at 10 GB, so only on request.
if [ "${DAEMONTOOLS:-0}" = 1 ] && [ -x /usr/bin/tai64nlocal ]; then
    row '`cat @*.s current \| tai64nlocal` (daemontools)' "cat '$D'/@*.s '$D'/current | /usr/bin/tai64nlocal" "$bytes"
fi
row '`svlog D1 … D10` (merge of 10 × 100 MB; MB/s of output)' "'$BIN/svlog' $mdirs" "$merged"
echo
echo "| command | wall s | CPU s | files of DIR opened |"
echo "|---|---|---|---|"
tail_cmd="'$BIN/svlog' -n 100 '$D'"
echo "| \`svlog -n 100 DIR\` | $(time_cmd "$tail_cmd") | $(opened "$tail_cmd") |"
range="'$BIN/svlog' --since $since --until $until '$D'"
noindex="XDG_CACHE_HOME=/dev/null/none $range"
echo "| \`svlog --since A --until B DIR\`, no index (every archive read) | $(once "$noindex" | sed 's/ / | /') | $(opened "$noindex") |"
rm -rf "$XDG_CACHE_HOME"
echo "| same, first run (makes the index) | $(once "$range" | sed 's/ / | /') | - |"
echo "| same, index made | $(time_cmd "$range") | $(opened "$range") |"
echo "| same, index made: first byte out (\`… \| head -c 1\`) | $(time_cmd "$range | head -c 1") | - |"
