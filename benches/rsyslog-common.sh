# What the logship benchmarks share (sourced, not run, after ROOT is
# set): a scratch directory WORK removed at exit with every process in
# PIDS (kept with KEEP=1), our binaries built unless NO_BUILD=1 (BIN,
# default target/release), rsyslogd instances on loopback with their own
# configuration and work directories, free ports, line counts, a process's
# CPU, and a small PKI.

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

# A free port on 127.0.0.1.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Wait (up to 10 s) until something listens on port $1.
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; }
# Lines in file $1 (0 if it is not there yet).
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# CPU seconds (user + system) used so far by process $1.
cpu() { awk '{printf "%.3f", ($14+$15)/100}' "/proc/$1/stat"; }

# rsyslog NAME CONFIG: start rsyslogd NAME in $WORK/NAME (a fresh work
# directory) with CONFIG after the common globals; its pid in RPID.
rsyslog() {
    local d=$WORK/$1
    rm -rf "$d"
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

# The lines of an rsyslog configuration writing one line per message of
# ruleset $1 to file $2.
one_line_per_message() {
    printf '%s\n' 'template(name="m" type="string" string=".\n")' \
        "ruleset(name=\"$1\") { action(type=\"omfile\" file=\"$2\" template=\"m\") }"
}

# make_pki DIR: an ECDSA P-256 CA (ca.pem), a server certificate for
# localhost and 127.0.0.1 (server.pem, server.key) and a client
# certificate named client.bench (client.pem, client.key), with openssl.
make_pki() {
    mkdir -p "$1"
    (cd "$1"
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
}
