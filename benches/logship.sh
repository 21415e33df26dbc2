#!/usr/bin/env bash
# logship over RELP against the existing way, rsyslog's imfile tailing
# `current` and forwarding over RELP (omrelp), side by side on the same
# log directory in one run; then logship's CPU at a paced 10,000 lines/s.
#
# usage: benches/logship.sh [LINES [RATE_SECONDS]]
#   LINES         lines written at full speed through multilog (default 1000000)
#   RATE_SECONDS  seconds of the paced 10,000 lines/s run (default 10)
# env: BIN (our binaries, default target/release; built unless NO_BUILD=1)
# (TLS, and a whole directory shipped as a backlog: benches/logship-cpu.sh.)
#
# Three rsyslogd on loopback, each with its own configuration and work
# directory: A (imrelp) receives from logship; B (imfile on DIR/current,
# omrelp) forwards to C (imrelp). Both receivers write one line per message
# to a file. A writer feeds multilog (`t s16777215 n100`) LINES lines of 100
# bytes at full speed; logship and B follow the directory from the start.
# Reported: seconds from the first line written to the last line received,
# lines/s, lines received (imfile loses lines across rotations), and CPU
# seconds used by logship and by rsyslogd B.
set -euo pipefail
LINES=${1:-1000000}
SECS=${2:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/rsyslog-common.sh
. "$ROOT/benches/rsyslog-common.sh"
receiver() {
    printf '%s\n' 'module(load="imrelp")' \
        "input(type=\"imrelp\" port=\"$1\" address=\"127.0.0.1\")" \
        'template(name="m" type="string" string=".\n")' \
        "action(type=\"omfile\" file=\"$2\" template=\"m\")"
}

PA=$(port); PC=$(port)
rsyslog A "$(receiver "$PA" "$WORK/A.out")"
A=$RPID
rsyslog C "$(receiver "$PC" "$WORK/C.out")"
wait_port "$PA"; wait_port "$PC"
LOG=$WORK/svc/log/main
mkdir -p "$LOG"
# multilog makes `current`; imfile and logship start on it.
: | "$BIN/multilog" t s16777215 n100 "$LOG"
rsyslog B "module(load=\"imfile\" mode=\"inotify\")
input(type=\"imfile\" file=\"$LOG/current\" tag=\"app\" readMode=\"0\" freshStartTail=\"off\")
module(load=\"omrelp\")
action(type=\"omrelp\" target=\"127.0.0.1\" port=\"$PC\" windowSize=\"1024\")"
B=$RPID
(cd "$WORK" && exec "$BIN/logship" "relp://127.0.0.1:$PA" "$LOG") &
L=$!
PIDS+=($L)
sleep 1
echo "## full speed: $LINES lines of 100 bytes through multilog"
t0=$(date +%s.%N)
python3 -c "
import sys
line = b'x' * 85
out = sys.stdout.buffer
for i in range($LINES):
    out.write(b'%014d ' % i + line[:84] + b'\n')
" | "$BIN/multilog" t s16777215 n100 "$LOG"
tw=$(date +%s.%N)
ta=""; tc=""; last_c=-1; still=0
while :; do
    now=$(date +%s.%N)
    a=$(lines "$WORK/A.out"); c=$(lines "$WORK/C.out")
    [ -z "$ta" ] && [ "$a" -ge "$LINES" ] && ta=$now
    if [ -z "$tc" ]; then
        if [ "$c" -ge "$LINES" ]; then tc=$now
        elif [ "$c" = "$last_c" ]; then still=$((still + 1)); [ $still -ge 50 ] && tc=$now
        else still=0; last_c=$c; fi
    fi
    [ -n "$ta" ] && [ -n "$tc" ] && break
    [ -n "${DEBUG:-}" ] && echo "A=$a C=$c" >&2
    sleep 0.1
done
a=$(lines "$WORK/A.out"); c=$(lines "$WORK/C.out")
printf '| way | seconds | lines/s | lines received | CPU s of the shipper |\n|---|---|---|---|---|\n'
printf '| logship relp | %.2f | %.0f | %d | %s |\n' "$(echo "$ta - $t0" | bc)" "$(echo "$a / ($ta - $t0)" | bc -l)" "$a" "$(cpu $L)"
printf '| rsyslog imfile + omrelp | %.2f | %.0f | %d | %s |\n' "$(echo "$tc - $t0" | bc)" "$(echo "$c / ($tc - $t0)" | bc -l)" "$c" "$(cpu $B)"
printf '(multilog itself took %.2f s)\n' "$(echo "$tw - $t0" | bc)"

echo
echo "## paced: 10,000 lines/s for $SECS s"
c0=$(cpu $L); a0=$(lines "$WORK/A.out")
t0=$(date +%s.%N)
python3 -c "
import sys, time
out = sys.stdout.buffer
start = time.time()
n = 0
for tick in range($SECS * 100):
    for _ in range(100):
        out.write(b'%014d ' % n + b'y' * 84 + b'\n'); n += 1
    out.flush()
    d = start + (tick + 1) / 100 - time.time()
    if d > 0: time.sleep(d)
" | "$BIN/multilog" t s16777215 n100 "$LOG"
want=$((a0 + SECS * 10000))
while [ "$(lines "$WORK/A.out")" -lt "$want" ]; do sleep 0.1; done
t1=$(date +%s.%N); c1=$(cpu $L)
printf 'logship CPU: %.2f s over %.2f s = %.1f%% of a core\n' "$(echo "$c1 - $c0" | bc)" "$(echo "$t1 - $t0" | bc)" "$(echo "100 * ($c1 - $c0) / ($t1 - $t0)" | bc -l)"
grep VmHWM "/proc/$L/status"

echo
echo "## backlog: the whole directory again, with a fresh cursor, to A"
total=$((LINES + SECS * 10000))
a0=$(lines "$WORK/A.out")
mkdir -p "$WORK/c2"
t0=$(date +%s.%N); ca0=$(cpu $A)
"$BIN/logship" -c "$WORK/c2" "relp://127.0.0.1:$PA" "$LOG" &
L2=$!
PIDS+=($L2)
while [ "$(lines "$WORK/A.out")" -lt $((a0 + total)) ]; do sleep 0.05; done
t1=$(date +%s.%N)
printf 'logship: %d lines in %.2f s = %.0f lines/s, CPU %s s; receiving rsyslogd CPU %.2f s\n' "$total" "$(echo "$t1 - $t0" | bc)" "$(echo "$total / ($t1 - $t0)" | bc -l)" "$(cpu $L2)" "$(echo "$(cpu $A) - $ca0" | bc)"
