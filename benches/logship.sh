#!/usr/bin/env bash
# logship over RELP against the existing way, rsyslog's imfile tailing
# `current` and forwarding over RELP (omrelp), side by side on the same
# log directory in one run; then logship's CPU at a paced 10,000 lines/s.
#
# usage: benches/logship.sh [LINES [RATE_SECONDS]]
#   LINES         lines written at full speed through multilog (default 1000000)
#   RATE_SECONDS  seconds of the paced 10,000 lines/s run (default 10)
# env: BIN (our binaries, default target/release; built unless NO_BUILD=1)
#      TLS_LINES (default 300000), TLS_RUNS (default 3): the TLS comparison
#      at the end (TLS_RUNS=0 skips it; TLS_ONLY=1 runs only it)
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
BIN=${BIN:-$ROOT/target/release}
RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin logship --bin multilog)
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# rsyslog NAME EXTRA-CONFIG: start rsyslogd NAME in $WORK/NAME; its pid in RPID.
rsyslog() {
    local d=$WORK/$1
    mkdir -p "$d/work"
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
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; }

tls_compare() {
    # A backlog of TLS_LINES lines shipped with a fresh cursor to one
    # rsyslogd D (imrelp plain, imrelp tls="on", imtcp plain, imtcp gtls;
    # the client certificate required), four ways, TLS_RUNS times each,
    # interleaved;
    # the medians of lines/s and of logship's CPU (user+sys) per line.
    local n=${TLS_LINES:-300000} runs=${TLS_RUNS:-3} pki=$WORK/pki
    mkdir -p "$pki"
    (cd "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout ca.key -out ca.pem -subj /CN=bench-ca -days 2 2>/dev/null
    cert() { # NAME CN SAN EKU: a key and a certificate signed by the CA
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
        printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" >"$1.ext"
        openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    }
    cert server localhost DNS:localhost,IP:127.0.0.1 serverAuth
    cert client client.bench DNS:client.bench clientAuth)
    local P1 P2 P3 P4
    P1=$(port); P2=$(port); P3=$(port); P4=$(port)
    rsyslog D "global(defaultNetstreamDriverCAFile=\"$pki/ca.pem\" defaultNetstreamDriverCertFile=\"$pki/server.pem\" defaultNetstreamDriverKeyFile=\"$pki/server.key\")
module(load=\"imrelp\")
module(load=\"imtcp\")
template(name=\"m\" type=\"string\" string=\".\\n\")
ruleset(name=\"p\") { action(type=\"omfile\" file=\"$WORK/D.relp\" template=\"m\") }
ruleset(name=\"r\") { action(type=\"omfile\" file=\"$WORK/D.relptls\" template=\"m\") }
ruleset(name=\"t\") { action(type=\"omfile\" file=\"$WORK/D.tls\" template=\"m\") }
ruleset(name=\"c\") { action(type=\"omfile\" file=\"$WORK/D.tcp\" template=\"m\") }
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$P4\" ruleset=\"c\")
input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$P1\" ruleset=\"p\")
input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$P2\" ruleset=\"r\" tls=\"on\" tls.authMode=\"name\" tls.caCert=\"$pki/ca.pem\" tls.myCert=\"$pki/server.pem\" tls.myPrivKey=\"$pki/server.key\" tls.permittedPeer=[\"client.bench\"])
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$P3\" ruleset=\"t\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"x509/name\" permittedPeer=[\"client.bench\"])"
    wait_port "$P1"; wait_port "$P2"; wait_port "$P3"; wait_port "$P4"
    local TD=$WORK/tlsdir/log/main
    mkdir -p "$TD"
    python3 -c "
import sys
out = sys.stdout.buffer
for i in range($n):
    out.write(b'%014d ' % i + b'z' * 84 + b'\n')
" | "$BIN/multilog" t s16777215 n100 "$TD"
    local tlsargs=(--ca "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key")
    echo
    echo "## TLS: a backlog of $n lines with a fresh cursor, $runs runs of each way"
    : >"$WORK/tls.results"
    for r in $(seq "$runs"); do
        for way in relp relptls tcp tls; do
            local url args=() out=$WORK/D.$way
            case $way in
            relp) url=relp://127.0.0.1:$P1 ;;
            relptls) url=relp+tls://127.0.0.1:$P2; args=("${tlsargs[@]}") ;;
            tls) url=tls://127.0.0.1:$P3; args=("${tlsargs[@]}") ;;
            tcp) url=tcp://127.0.0.1:$P4 ;;
            esac
            local c=$WORK/cur.$way.$r base
            mkdir -p "$c"
            base=$(lines "$out")
            t0=$(date +%s.%N)
            "$BIN/logship" -c "$c" "${args[@]}" "$url" "$TD" &
            local LS=$!
            while [ "$(lines "$out")" -lt $((base + n)) ]; do sleep 0.05; done
            t1=$(date +%s.%N)
            local cl
            cl=$(cpu $LS)
            kill $LS; wait $LS 2>/dev/null || true
            echo "$way $(echo "$n / ($t1 - $t0)" | bc -l) $(echo "$cl * 1000000 / $n" | bc -l)" >>"$WORK/tls.results"
        done
    done
    python3 - "$WORK/tls.results" <<'PY'
import statistics, sys
rows = {}
for l in open(sys.argv[1]):
    w, rate, us = l.split()
    rows.setdefault(w, []).append((float(rate), float(us)))
names = {"relp": "logship `relp://` (imrelp)", "relptls": "logship `relp+tls://` (imrelp tls)",
         "tcp": "logship `tcp://` (imtcp)", "tls": "logship `tls://` (imtcp gtls, RFC 5425)"}
plain = {"relp": "relp", "relptls": "relp", "tcp": "tcp", "tls": "tcp"}
med = {w: statistics.median(r for r, _ in v) for w, v in rows.items()}
print("| way | lines/s (median) | runs | logship CPU µs/line (median) | rate vs the same way in plain text |")
print("|---|---|---|---|---|")
for w in ("relp", "relptls", "tcp", "tls"):
    rates = [r for r, _ in rows[w]]
    us = statistics.median(u for _, u in rows[w])
    print(f"| {names[w]} | {med[w]:,.0f} | {', '.join(f'{r:,.0f}' for r in rates)} | {us:.2f} | {med[w] / med[plain[w]]:.2f}x |")
PY
}

if [ "${TLS_ONLY:-0}" = 1 ]; then
    tls_compare
    exit 0
fi

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

if [ "${TLS_RUNS:-3}" != 0 ]; then
    tls_compare
fi
