#!/usr/bin/env bash
# logship's CPU per line and rate, shipping a whole log directory (a
# backlog) over plain RELP, against rsyslog's own forwarding of the same
# directory (imfile -> omrelp to a second rsyslogd's imrelp); with
# BEFORE=<an older logship> that one too. Medians of RUNS alternated runs.
#
# usage: benches/logship-cpu.sh [SIZE [RUNS]]
#   SIZE  bytes of gen-log text put through multilog (default 180M: about
#         1.1 million lines, 200 MB with the stamps)
#   RUNS  rounds, each running every way once (default 3)
# env: BIN (our binaries, default target/release; built unless NO_BUILD=1),
#      BEFORE (another logship binary to compare, optional),
#      GEN (default ../shared/bench/gen-log beside the repository).
#
# Receivers: rsyslogd A (imrelp) for logship, rsyslogd C (imrelp) for
# rsyslogd B, which reads the directory's archives and `current` with
# imfile (from their start: a fresh work directory each run) and forwards
# with omrelp (windowSize 1024, as logship's -w). A and C write one line
# per message. A way's run ends when its receiver has every line; CPU is
# the shipper's user+system time from /proc/PID/stat at that moment.
set -euo pipefail
SIZE=${1:-180M}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release}
GEN=${GEN:-$ROOT/../shared/bench/gen-log}
RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin logship --bin multilog)
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
cpu() { awk '{printf "%.3f", ($14+$15)/100}' "/proc/$1/stat"; }

# rsyslog NAME CONFIG: rsyslogd NAME in $WORK/NAME (a fresh work directory);
# its pid in RPID.
rsyslog() {
    local d=$WORK/$1
    rm -rf "$d"; mkdir -p "$d/work"
    cat >"$d/conf" <<CONF
global(workDirectory="$d/work" maxMessageSize="64k")
main_queue(queue.size="1000000" queue.timeoutEnqueue="60000")
$2
CONF
    "$RSYSLOGD" -n -f "$d/conf" -i "$d/pid" >"$d/log" 2>&1 &
    RPID=$!
    PIDS+=($RPID)
}
receiver() {
    printf '%s\n' 'module(load="imrelp")' \
        "input(type=\"imrelp\" port=\"$1\" address=\"127.0.0.1\")" \
        'template(name="m" type="string" string=".\n")' \
        "action(type=\"omfile\" file=\"$2\" template=\"m\")"
}

LOG=$WORK/svc/log/main
mkdir -p "$LOG"
echo "making the directory: $SIZE of gen-log through multilog t s16777215 n100" >&2
"$GEN" "$SIZE" - | "$BIN/multilog" t s16777215 n100 "$LOG"
N=$(cat "$LOG"/@*.s "$LOG/current" | wc -l)
BYTES=$(cat "$LOG"/@*.s "$LOG/current" | wc -c)
echo "$N lines, $BYTES bytes in $(ls "$LOG" | grep -c '^@') archives and current" >&2

PA=$(port); PC=$(port)
rsyslog A "$(receiver "$PA" "$WORK/A.out")"
rsyslog C "$(receiver "$PC" "$WORK/C.out")"
wait_port "$PA"; wait_port "$PC"

# until OUT has N more lines than BASE: prints "seconds cpu" of PID.
until_all() {
    local out=$1 base=$2 pid=$3 t0=$4
    while [ $(($(lines "$out") - base)) -lt "$N" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "shipper $pid died" >&2; exit 1; }
        sleep 0.05
    done
    echo "$(echo "$(date +%s.%N) - $t0" | bc) $(cpu "$pid")"
}

# way_logship BINARY: one run of BINARY over the directory, fresh cursor.
way_logship() {
    local c=$WORK/cursors.$RANDOM base t0 pid r
    mkdir -p "$c"
    base=$(lines "$WORK/A.out")
    t0=$(date +%s.%N)
    "$1" -c "$c" "relp://127.0.0.1:$PA" "$LOG" 2>>"$WORK/logship.err" &
    pid=$!
    r=$(until_all "$WORK/A.out" "$base" "$pid" "$t0")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$c"
    echo "$r"
}

# way_rsyslog: rsyslogd B forwards the directory (imfile -> omrelp) to C.
way_rsyslog() {
    local base t0 r
    base=$(lines "$WORK/C.out")
    t0=$(date +%s.%N)
    rsyslog B "module(load=\"imfile\" mode=\"inotify\")
input(type=\"imfile\" file=\"$LOG/@*.s\" tag=\"app\" readMode=\"0\" freshStartTail=\"off\")
input(type=\"imfile\" file=\"$LOG/current\" tag=\"app\" readMode=\"0\" freshStartTail=\"off\")
module(load=\"omrelp\")
action(type=\"omrelp\" target=\"127.0.0.1\" port=\"$PC\" windowSize=\"1024\")"
    r=$(until_all "$WORK/C.out" "$base" "$RPID" "$t0")
    kill "$RPID"; wait "$RPID" 2>/dev/null || true
    echo "$r"
}

WAYS=(after rsyslog)
[ -n "${BEFORE:-}" ] && WAYS=(before after rsyslog)
declare -A SECS CPUS
for run in $(seq "$RUNS"); do
    for w in "${WAYS[@]}"; do
        case $w in
            before) r=$(way_logship "$BEFORE") ;;
            after) r=$(way_logship "$BIN/logship") ;;
            rsyslog) r=$(way_rsyslog) ;;
        esac
        read -r s c <<<"$r"
        echo "run $run $w: $s s, $c CPU s" >&2
        SECS[$w]+="$s "; CPUS[$w]+="$c "
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| way ($N lines, $BYTES bytes, plain RELP, window 1024) | seconds | lines/s | shipper CPU s | µs CPU per line |"
echo "|---|---:|---:|---:|---:|"
for w in "${WAYS[@]}"; do
    s=$(echo "${SECS[$w]}" | median); c=$(echo "${CPUS[$w]}" | median)
    case $w in
        before) name="logship relp:// (before: $BEFORE)" ;;
        after) name="logship relp://" ;;
        rsyslog) name="rsyslog imfile -> omrelp (rsyslogd B)" ;;
    esac
    printf '| %s | %.2f | %.0f | %.2f | %.2f |\n' "$name" "$s" "$(echo "$N / $s" | bc -l)" "$c" "$(echo "$c * 1000000 / $N" | bc -l)"
done
echo "(medians of $RUNS alternated runs; per-run figures on stderr)"
