#!/bin/sh
# demo.sh: run examples/service/myapp under svscan in a temporary directory.
#
# Uses the programs in target/release (override with DTOOLS_BIN=DIR), so
# build first:  cargo build --release && sh examples/demo.sh
#
# Steps: copy the service into a fresh scan directory, start svscan on it,
# wait for both supervise processes with svok, show svstat, let the service
# log a few lines, stop svscan and then the service and its logger with
# `svc -dx`, and print the log through tai64nlocal. Every process started
# here is stopped on exit, also on failure or interrupt.
#
# The service and its logger run as nobody (setuidgid). That needs root;
# run as another user, the demo removes `setuidgid nobody` from its copies
# of the run scripts and says so.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${DTOOLS_BIN:-$here/../target/release}
bin=$(cd "$bin" && pwd)
for p in svscan supervise svc svstat svok multilog envdir setuidgid tai64nlocal; do
    if [ ! -x "$bin/$p" ]; then
        echo "demo: $bin/$p is not built (run cargo build --release)" >&2
        exit 111
    fi
done
PATH=$bin:$PATH
export PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtdemo.XXXXXX")
cd "$tmp"
svscan_pid=

say() { printf '== %s\n' "$*"; }

# wait_for SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds.
wait_for() {
    tries=$(($1 * 10))
    shift
    while ! "$@" >/dev/null 2>&1; do
        tries=$((tries - 1))
        if [ "$tries" -le 0 ]; then
            echo "demo: timed out waiting for: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

not() { ! "$@"; }
is_up() { svstat "$1" | grep -q ': up (pid '; }
has_lines() { [ -f "$2" ] && [ "$(wc -l < "$2")" -ge "$1" ]; }

stop_all() {
    # svscan first, or it would start new supervise processes again.
    if [ -n "$svscan_pid" ]; then
        kill "$svscan_pid" 2>/dev/null || :
        wait "$svscan_pid" 2>/dev/null || :
        svscan_pid=
    fi
    if [ -d service/myapp/supervise ] || [ -d service/myapp/log/supervise ]; then
        svc -dx service/myapp service/myapp/log 2>/dev/null || :
        wait_for 10 not svok service/myapp || :
        wait_for 10 not svok service/myapp/log || :
    fi
}

cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    stop_all
    cd /
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Build the service directory outside the scan directory, then move it in
# whole: svscan may notice it at once.
mkdir service
cp -R "$here/service/myapp" myapp
mkdir myapp/log/main
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    chown nobody myapp/log/main
    say "service and logger run as nobody"
else
    for f in myapp/run myapp/log/run; do
        sed 's/setuidgid nobody //' "$f" > "$f.new" && chmod 755 "$f.new" && mv "$f.new" "$f"
    done
    say "not root: running without setuidgid nobody"
fi
mv myapp service/myapp

svscan service > svscan.log 2>&1 &
svscan_pid=$!
say "svscan started on $tmp/service"

wait_for 20 svok service/myapp
wait_for 20 svok service/myapp/log
say "svok: supervise is running for myapp and myapp/log"
wait_for 20 is_up service/myapp
wait_for 20 is_up service/myapp/log

say "svstat"
svstat service/myapp service/myapp/log

wait_for 20 has_lines 3 service/myapp/log/main/current
say "log directory"
ls service/myapp/log/main

say "stopping: kill svscan, then svc -dx service/myapp service/myapp/log"
stop_all
svstat service/myapp service/myapp/log

say "log (tai64nlocal < service/myapp/log/main/current)"
tai64nlocal < service/myapp/log/main/current

if [ -s svscan.log ]; then
    say "svscan said"
    cat svscan.log
fi
say "done"
