#!/usr/bin/env bash
# logship's rate and CPU per line shipping a whole log directory (a
# backlog) over plain RELP, RELP over TLS, plain TCP and TLS (RFC 5425),
# against rsyslog's own forwarding of the same directory (imfile ->
# omrelp, plain and over TLS); with BEFORE=<an older logship> that one
# too (RELP, plain and TLS). Medians of RUNS alternated rounds.
#
# usage: benches/logship-cpu.sh [SIZE [RUNS]]
#   SIZE  bytes of gen-log text put through multilog (default 180M: about
#         1.1 million lines, 200 MB with the stamps)
#   RUNS  rounds, each running every way once (default 3)
# env: BIN (our binaries, default target/release; built unless NO_BUILD=1),
#      BEFORE (another logship binary to compare, optional),
#      WAYS (default "relp relptls tcp tls rsyslog rsyslogtls", plus
#      "before beforetls" with BEFORE),
#      GEN (default ../shared/bench/gen-log beside the repository).
#
# Receivers, each an rsyslogd on loopback with its own configuration and
# work directory, writing one line per message to a file per input:
# A takes logship's sessions (imrelp, imrelp tls="on", imtcp, imtcp with
# the gtls driver; the TLS inputs require the client certificate,
# x509/name); C takes rsyslogd B's (imrelp, imrelp tls="on"). B reads the
# directory's archives and `current` with imfile from their start (a fresh
# work directory each run) and forwards them with omrelp (windowSize 1024,
# as logship's -w; over TLS with the same client certificate). A way's run
# ends when its receiver has every line; CPU is the shipper's user+system
# time from /proc/PID/stat then, and the receiving rsyslogd's CPU over the
# run is shown beside it (on two cores, whichever is busier limits).
set -euo pipefail
SIZE=${1:-180M}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GEN=${GEN:-$ROOT/../shared/bench/gen-log}
# shellcheck source=benches/rsyslog-common.sh
. "$ROOT/benches/rsyslog-common.sh"

LOG=$WORK/svc/log/main
mkdir -p "$LOG"
echo "making the directory: $SIZE of gen-log through multilog t s16777215 n100" >&2
"$GEN" "$SIZE" - | "$BIN/multilog" t s16777215 n100 "$LOG"
N=$(cat "$LOG"/@*.s "$LOG/current" | wc -l)
BYTES=$(cat "$LOG"/@*.s "$LOG/current" | wc -c)
echo "$N lines, $BYTES bytes in $(ls "$LOG" | grep -c '^@') archives and current" >&2

PKI=$WORK/pki
make_pki "$PKI"
TLSARGS=(--ca "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key")
IMRELP_TLS="tls=\"on\" tls.authMode=\"name\" tls.caCert=\"$PKI/ca.pem\" tls.myCert=\"$PKI/server.pem\" tls.myPrivKey=\"$PKI/server.key\" tls.permittedPeer=[\"client.bench\"]"
P_RELP=$(port); P_RELPTLS=$(port); P_TCP=$(port); P_TLS=$(port)
PC_RELP=$(port); PC_RELPTLS=$(port)
rsyslog A "global(defaultNetstreamDriverCAFile=\"$PKI/ca.pem\" defaultNetstreamDriverCertFile=\"$PKI/server.pem\" defaultNetstreamDriverKeyFile=\"$PKI/server.key\")
module(load=\"imrelp\")
module(load=\"imtcp\")
$(one_line_per_message relp "$WORK/A.relp")
$(one_line_per_message relptls "$WORK/A.relptls")
$(one_line_per_message tcp "$WORK/A.tcp")
$(one_line_per_message tls "$WORK/A.tls")
input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$P_RELP\" ruleset=\"relp\")
input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$P_RELPTLS\" ruleset=\"relptls\" $IMRELP_TLS)
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$P_TCP\" ruleset=\"tcp\")
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$P_TLS\" ruleset=\"tls\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"x509/name\" permittedPeer=[\"client.bench\"])"
A=$RPID
rsyslog C "module(load=\"imrelp\")
$(one_line_per_message relp "$WORK/C.relp")
$(one_line_per_message relptls "$WORK/C.relptls")
input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$PC_RELP\" ruleset=\"relp\")
input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$PC_RELPTLS\" ruleset=\"relptls\" $IMRELP_TLS)"
C=$RPID
for p in $P_RELP $P_RELPTLS $P_TCP $P_TLS $PC_RELP $PC_RELPTLS; do wait_port "$p"; done

# until_all OUT BASE PID T0 RECEIVER RCPU0: waits until OUT has N more
# lines than BASE; prints "seconds shipper-cpu receiver-cpu".
until_all() {
    local out=$1 base=$2 pid=$3 t0=$4 rcv=$5 rc0=$6
    while [ $(($(lines "$out") - base)) -lt "$N" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "shipper $pid died" >&2; exit 1; }
        sleep 0.05
    done
    echo "$(echo "$(date +%s.%N) - $t0" | bc) $(cpu "$pid") $(echo "$(cpu "$rcv") - $rc0" | bc)"
}

# way_logship BINARY URL OUT [ARGS...]: one run of BINARY over the
# directory to URL, fresh cursor; OUT is the receiver's file.
way_logship() {
    local bin=$1 url=$2 out=$3 c=$WORK/cursors.$RANDOM base t0 pid r rc0
    shift 3
    mkdir -p "$c"
    base=$(lines "$out")
    rc0=$(cpu "$A")
    t0=$(date +%s.%N)
    "$bin" -c "$c" "$@" "$url" "$LOG" 2>>"$WORK/logship.err" &
    pid=$!
    r=$(until_all "$out" "$base" "$pid" "$t0" "$A" "$rc0")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$c"
    echo "$r"
}

# way_rsyslog PORT OUT [OMRELP-TLS...]: rsyslogd B forwards the directory
# (imfile -> omrelp) to C's PORT.
way_rsyslog() {
    local port=$1 out=$2 base t0 r rc0
    shift 2
    base=$(lines "$out")
    rc0=$(cpu "$C")
    t0=$(date +%s.%N)
    rsyslog B "module(load=\"imfile\" mode=\"inotify\")
input(type=\"imfile\" file=\"$LOG/@*.s\" tag=\"app\" readMode=\"0\" freshStartTail=\"off\")
input(type=\"imfile\" file=\"$LOG/current\" tag=\"app\" readMode=\"0\" freshStartTail=\"off\")
module(load=\"omrelp\")
action(type=\"omrelp\" target=\"127.0.0.1\" port=\"$port\" windowSize=\"1024\" $*)"
    r=$(until_all "$out" "$base" "$RPID" "$t0" "$C" "$rc0")
    kill "$RPID"; wait "$RPID" 2>/dev/null || true
    echo "$r"
}

OMRELP_TLS="tls=\"on\" tls.authMode=\"name\" tls.caCert=\"$PKI/ca.pem\" tls.myCert=\"$PKI/client.pem\" tls.myPrivKey=\"$PKI/client.key\" tls.permittedPeer=[\"localhost\"]"
DEFAULT_WAYS="relp relptls tcp tls rsyslog rsyslogtls"
[ -n "${BEFORE:-}" ] && DEFAULT_WAYS="before beforetls $DEFAULT_WAYS"
read -r -a WAYLIST <<<"${WAYS:-$DEFAULT_WAYS}"
declare -A SECS CPUS RCPUS
for run in $(seq "$RUNS"); do
    for w in "${WAYLIST[@]}"; do
        case $w in
            relp) r=$(way_logship "$BIN/logship" "relp://127.0.0.1:$P_RELP" "$WORK/A.relp") ;;
            relptls) r=$(way_logship "$BIN/logship" "relp+tls://127.0.0.1:$P_RELPTLS" "$WORK/A.relptls" "${TLSARGS[@]}") ;;
            tcp) r=$(way_logship "$BIN/logship" "tcp://127.0.0.1:$P_TCP" "$WORK/A.tcp") ;;
            tls) r=$(way_logship "$BIN/logship" "tls://127.0.0.1:$P_TLS" "$WORK/A.tls" "${TLSARGS[@]}") ;;
            before) r=$(way_logship "$BEFORE" "relp://127.0.0.1:$P_RELP" "$WORK/A.relp") ;;
            beforetls) r=$(way_logship "$BEFORE" "relp+tls://127.0.0.1:$P_RELPTLS" "$WORK/A.relptls" "${TLSARGS[@]}") ;;
            rsyslog) r=$(way_rsyslog "$PC_RELP" "$WORK/C.relp") ;;
            rsyslogtls) r=$(way_rsyslog "$PC_RELPTLS" "$WORK/C.relptls" "$OMRELP_TLS") ;;
            *) echo "unknown way $w" >&2; exit 100 ;;
        esac
        read -r s c rc <<<"$r"
        echo "run $run $w: $s s, $c CPU s, receiver $rc CPU s" >&2
        SECS[$w]+="$s "; CPUS[$w]+="$c "; RCPUS[$w]+="$rc "
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A RATE
for w in "${WAYLIST[@]}"; do
    RATE[$w]=$(echo "$N / $(echo "${SECS[$w]}" | median)" | bc -l)
done
# The plain way each way's rate is compared with.
plain_of() {
    case $1 in
        relptls) echo relp ;; tls) echo tcp ;; beforetls) echo before ;;
        rsyslogtls) echo rsyslog ;; *) echo "$1" ;;
    esac
}
echo "| way ($N lines, $BYTES bytes, window 1024) | seconds | lines/s | vs plain | shipper CPU s | µs CPU per line | receiver CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for w in "${WAYLIST[@]}"; do
    s=$(echo "${SECS[$w]}" | median); c=$(echo "${CPUS[$w]}" | median); rc=$(echo "${RCPUS[$w]}" | median)
    case $w in
        relp) name="logship \`relp://\`" ;;
        relptls) name="logship \`relp+tls://\`" ;;
        tcp) name="logship \`tcp://\`" ;;
        tls) name="logship \`tls://\` (imtcp gtls)" ;;
        before) name="logship \`relp://\` (before: $BEFORE)" ;;
        beforetls) name="logship \`relp+tls://\` (before)" ;;
        rsyslog) name="rsyslog imfile → omrelp (rsyslogd B)" ;;
        rsyslogtls) name="rsyslog imfile → omrelp tls (rsyslogd B)" ;;
    esac
    p=$(plain_of "$w")
    vs=-
    [ "$p" != "$w" ] && [ -n "${RATE[$p]:-}" ] && vs=$(printf '%.2f×' "$(echo "${RATE[$w]} / ${RATE[$p]}" | bc -l)")
    printf '| %s | %.2f | %.0f | %s | %.2f | %.2f | %.2f |\n' "$name" "$s" "${RATE[$w]}" "$vs" "$c" "$(echo "$c * 1000000 / $N" | bc -l)" "$rc"
done
echo "(medians of $RUNS alternated runs; per-run figures on stderr)"
