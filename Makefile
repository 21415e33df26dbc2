# daemontools-rs: build, install and uninstall.
#
#   make                      cargo build --release (as yourself, not root)
#   sudo make install         binaries, man pages, bash completion, systemd unit
#   make install PREFIX=/usr DESTDIR=/tmp/pkg SYSTEMDDIR=/lib/systemd/system
#   sudo make uninstall       remove exactly what install put in place
#   make install SCANDIR=/etc/service   the unit scans Debian's directory
#   make deb                  a Debian package (needs `cargo install cargo-deb`):
#                             programs in /usr/bin, scan directory /etc/service
#
# `make install` never runs cargo (under sudo it is usually not on PATH): it
# installs what `make` built and stops if that is missing. Installing does
# not enable or start anything; see docs/install.md.

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
MAN8DIR    ?= $(MANDIR)/man8
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
# bash-completion loads completions/NAME when NAME is first completed.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# The scan directory the systemd unit runs svscan on (upstream's /service;
# the Debian package uses Debian's /etc/service, as daemontools-run does).
SCANDIR    ?= /service
# Where `make deb` writes the unit the package installs.
DEBUNIT    ?= target/deb/svscan.service
CARGO      ?= cargo
# Where `make` left the programs.
BUILDDIR   ?= target/release
INSTALL    ?= install

# Every program is a binary in src/bin/.
PROGRAMS := $(sort $(basename $(notdir $(wildcard src/bin/*.rs))))
MANPAGES := $(sort $(wildcard man/*.8))
UNIT     := init/svscan.service
# One completion script serves these programs; it is installed under each name.
COMPLETION := completions/daemontools-rs.bash
COMPLETED  := svc svstat svwait svlog logship

.PHONY: all build install install-bin install-man install-completion install-unit uninstall check-man deb deb-unit clean

all: build

build:
	$(CARGO) build --release --locked --bins

install: install-bin install-man install-completion install-unit

install-bin:
	for p in $(PROGRAMS); do \
	    if [ ! -x "$(BUILDDIR)/$$p" ]; then \
	        echo "make: $(BUILDDIR)/$$p is missing: run make (as yourself) first" >&2; exit 1; \
	    fi; \
	done
	$(INSTALL) -d -m 755 '$(DESTDIR)$(BINDIR)'
	for p in $(PROGRAMS); do \
	    $(INSTALL) -m 755 "$(BUILDDIR)/$$p" '$(DESTDIR)$(BINDIR)'/"$$p" || exit 1; \
	done

install-man:
	$(INSTALL) -d -m 755 '$(DESTDIR)$(MAN8DIR)'
	$(INSTALL) -m 644 $(MANPAGES) '$(DESTDIR)$(MAN8DIR)'

install-completion:
	$(INSTALL) -d -m 755 '$(DESTDIR)$(BASHCOMPDIR)'
	for p in $(COMPLETED); do \
	    $(INSTALL) -m 644 $(COMPLETION) '$(DESTDIR)$(BASHCOMPDIR)'/"$$p" || exit 1; \
	done

# The unit names /usr/local/bin and /service; it is rewritten for the
# BINDIR and SCANDIR in use.
UNITSED = -e 's|/usr/local/bin/|$(1)/|g' -e 's|^Environment=SVSCANDIR=.*|Environment=SVSCANDIR=$(2)|'

install-unit:
	$(INSTALL) -d -m 755 '$(DESTDIR)$(SYSTEMDDIR)'
	sed $(call UNITSED,$(BINDIR),$(SCANDIR)) $(UNIT) > '$(DESTDIR)$(SYSTEMDDIR)/svscan.service'
	chmod 644 '$(DESTDIR)$(SYSTEMDDIR)/svscan.service'

uninstall:
	for p in $(PROGRAMS); do rm -f '$(DESTDIR)$(BINDIR)'/"$$p"; done
	for m in $(notdir $(MANPAGES)); do rm -f '$(DESTDIR)$(MAN8DIR)'/"$$m"; done
	for p in $(COMPLETED); do rm -f '$(DESTDIR)$(BASHCOMPDIR)'/"$$p"; done
	rm -f '$(DESTDIR)$(SYSTEMDDIR)/svscan.service'

# The unit as the Debian package installs it (programs in /usr/bin, scan
# directory /etc/service), then the package itself, in target/debian/.
deb-unit:
	mkdir -p '$(dir $(DEBUNIT))'
	sed $(call UNITSED,/usr/bin,/etc/service) $(UNIT) > '$(DEBUNIT)'

deb: deb-unit
	$(CARGO) deb --locked

# Lint the man pages (needs mandoc; groff is optional).
check-man:
	mandoc -T lint -W warning $(MANPAGES)
	if command -v groff >/dev/null; then \
	    for m in $(MANPAGES); do groff -man -Tutf8 -ww -z "$$m" || exit 1; done; \
	fi

clean:
	$(CARGO) clean
