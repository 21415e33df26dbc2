#!/bin/sh
# syslog-ng-fetch.sh DIR: unpack Debian's syslog-ng-core, and those of the
# libraries it needs that are not installed, into DIR (DIR/usr/sbin/syslog-ng),
# without installing anything: syslog-ng-core conflicts with rsyslog as a
# package, and the tests need both. Uses `apt-get download` (the package
# lists must be there: `apt-get update`) and `dpkg-deb -x`. Nothing is done
# when DIR/usr/sbin/syslog-ng exists. Exit 0 on success; otherwise what went
# wrong is on standard error.
#
# Dependencies are followed (their own Depends too) as long as a package is
# not installed; the first of alternatives is taken. The names of the .deb
# files unpacked are written to DIR/debs.
set -eu
dir=$1
[ -x "$dir/usr/sbin/syslog-ng" ] && exit 0
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    echo "syslog-ng-fetch: apt-get and dpkg-deb are needed" >&2
    exit 1
}
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root" "$work/debs"
installed() {
    dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q ' installed$'
}
queue=syslog-ng-core
seen=
while [ -n "$queue" ]; do
    set -- $queue
    pkg=$1
    shift
    queue=$*
    case " $seen " in *" $pkg "*) continue ;; esac
    seen="$seen $pkg"
    if [ "$pkg" != syslog-ng-core ] && installed "$pkg"; then
        continue
    fi
    if ! (cd "$work/debs" && apt-get download -q "$pkg" 2>&1) >"$work/log"; then
        cat "$work/log" >&2
        # A dependency that cannot be had (a virtual package) may not be
        # needed to run syslog-ng at all: the tests' start says if it is.
        [ "$pkg" = syslog-ng-core ] || {
            echo "syslog-ng-fetch: warning: unable to download $pkg" >&2
            continue
        }
        echo "syslog-ng-fetch: unable to download $pkg" >&2
        exit 1
    fi
    deb=$(ls "$work/debs/${pkg}_"*.deb)
    dpkg-deb -x "$deb" "$work/root"
    basename "$deb" >>"$work/root/debs"
    # "a (>= 1), b | c, d:any" -> "a b d"
    deps=$( (dpkg-deb -f "$deb" Depends; dpkg-deb -f "$deb" Pre-Depends) | tr '\n' ',' |
        sed -e 's/([^)]*)//g' -e 's/|[^,]*//g' -e 's/:any//g' | tr ',' ' ')
    queue="$queue $deps"
done
rm -rf "$dir"
mv "$work/root" "$dir"
