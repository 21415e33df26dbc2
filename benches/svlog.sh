#!/usr/bin/env bash
# svlog against `cat @*.s current | tai64nlocal` (ours and daemontools'),
# and the cost of `-n 100` and of `--since`/`--until` on a large directory.
#
# usage: benches/svlog.sh [SIZE [RUNS]]
#   SIZE  bytes of gen-log input written through our `multilog t s16777215`
#         (default 1G = 10^9 bytes)
#   RUNS  runs per command, the median is reported (default 3)
# env:    BIN (default target/release; built unless NO_BUILD=1),
#         GEN (default /work/shared/bench/gen-log)
#
# Prints a Markdown table of median wall-clock seconds (output to /dev/null).
set -euo pipefail

SIZE=${1:-1G}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release}
GEN=${GEN:-/work/shared/bench/gen-log}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin svlog --bin multilog --bin tai64nlocal)
fi

"$GEN" "$SIZE" "$WORK/in.log" >/dev/null
"$BIN/multilog" t s16777215 n10000 "$WORK/log" <"$WORK/in.log"
rm -f "$WORK/in.log"
D=$WORK/log
bytes=$(cat "$D"/@*.s "$D"/current | wc -c)
files=$(ls "$D" | grep -c '^@')
# A range of one second in the middle: from the label of the middle
# archive's middle line.
mid=$(ls "$D"/@*.s | sed -n "$(( (files + 1) / 2 ))p")
since=$(sed -n "$(( $(wc -l <"$mid") / 2 ))p" "$mid" | cut -c1-25)
until=$(printf '@%016x%s' $(( 0x${since:1:16} + 1 )) "${since:17:8}")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() {
    for _ in $(seq "$RUNS"); do
        s=$(date +%s.%N)
        bash -c "$1" >/dev/null
        e=$(date +%s.%N)
        echo "$e - $s" | bc
    done | median
}

echo "directory: $bytes bytes in $files archives + current; range $since .. $until"
echo
echo "| command | median s |"
echo "|---|---|"
row() { echo "| \`$1\` | $(time_cmd "$2") |"; }
row "svlog DIR" "'$BIN/svlog' '$D'"
row "cat @*.s current | tai64nlocal (ours)" "cat '$D'/@*.s '$D'/current | '$BIN/tai64nlocal'"
if [ -x /usr/bin/tai64nlocal ]; then
    row "cat @*.s current | tai64nlocal (daemontools)" "cat '$D'/@*.s '$D'/current | /usr/bin/tai64nlocal"
fi
row "svlog -n 100 DIR" "'$BIN/svlog' -n 100 '$D'"
row "svlog --since T --until T+1s DIR" "'$BIN/svlog' --since $since --until $until '$D'"
if command -v strace >/dev/null; then
    opened=$(strace -f -e trace=openat -o "$WORK/trace" "$BIN/svlog" --since "$since" --until "$until" "$D" >/dev/null; grep -c "$D/[@c]" "$WORK/trace" || true)
    echo
    echo "files of DIR opened by the --since run: $opened"
fi
