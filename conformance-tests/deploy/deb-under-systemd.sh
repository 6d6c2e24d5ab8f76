#!/bin/bash
# Runs inside a container whose PID 1 is systemd, for deb.sh's `unit-start` scenario (the
# test machines' own PID 1 is not systemd, so the unit can only be started there): installs
# the package, starts basalt.service the documented way and checks what the unit promises.
#   - installed: enabled, and not started before `basalt init` (ConditionPathExists)
#   - started after init: the directory answers; the process runs as basalt with no
#     capabilities, no_new_privs, seccomp filters, a read-only / and a writable
#     /var/lib/basalt; `systemctl reload` (SIGHUP) keeps it running
#   - secrets: an area whose key is encrypted (`area add --encrypt-key`) is served with the
#     passphrase from /etc/credstore/basalt.key-passphrase (LoadCredential=); without that
#     file the service refuses to start, naming passphrase_credential
#   - low ports: listen on 443 (set in /etc/default/basalt) fails without the drop-in and
#     works with low-port.conf, whose only capability is CAP_NET_BIND_SERVICE
#   - dpkg --purge with the service running stops it and removes unit, user and data
# Usage: deb-under-systemd.sh PACKAGE.deb. Prints one line per check; exits 1 on the first
# failure, after the unit's journal.
set -euo pipefail
DEB=$1
URL=https://127.0.0.1:8443/acme
ROOT=/var/lib/basalt/root.pem

fail() {
    echo "check failed: $*" >&2
    journalctl -u basalt --no-pager -n 25 -o cat >&2 || true
    exit 1
}
# Waits up to 10 s for `systemctl show -p PROPERTY` to read VALUE.
wait_for_property() {
    for _ in $(seq 1 50); do
        [ "$(systemctl show -p "$1" --value basalt)" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}
# Starts (or restarts) the unit from a clean slate: no start limit left from earlier failures.
restart() {
    systemctl reset-failed basalt 2>/dev/null || true
    systemctl restart basalt
}
answers() { curl -sf --cacert "$ROOT" "$1" | grep -q '"newOrder"'; }
wait_answers() {
    for _ in $(seq 1 50); do answers "$1" && return 0; sleep 0.2; done
    fail "no directory at $1"
}
# Waits up to 5 s for the unit's journal to hold PATTERN (journald writes asynchronously).
journal_has() {
    for _ in $(seq 1 25); do
        journalctl -u basalt --no-pager -o cat | grep -q "$1" && return 0
        sleep 0.2
    done
    return 1
}
main_pid() { systemctl show -p MainPID --value basalt; }
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

dpkg -i "$DEB" >/dev/null
[ "$(systemctl is-enabled basalt)" = enabled ] || fail "the unit is not enabled after install"
# postinst asked systemd to start it; the condition held it back.
[ "$(systemctl show -p ConditionResult --value basalt)" = no ] || fail "the start condition was not checked or held"
[ "$(systemctl is-active basalt)" = inactive ] || fail "basalt is running before init"
echo "ok: installed, enabled, not started before init (ConditionPathExists)"

runuser -u basalt -- basalt init --data /var/lib/basalt >/dev/null
restart
wait_for_property ActiveState active || fail "basalt.service did not become active"
wait_answers "$URL/default/directory"
pid=$(main_pid)
[ "$(status_field "$pid" Uid)" = "$(id -u basalt)" ] || fail "the service does not run as basalt"
[ "$(status_field "$pid" CapEff)" = 0000000000000000 ] || fail "effective capabilities $(status_field "$pid" CapEff)"
[ "$(status_field "$pid" CapBnd)" = 0000000000000000 ] || fail "bounding set $(status_field "$pid" CapBnd)"
[ "$(status_field "$pid" NoNewPrivs)" = 1 ] || fail "no_new_privs is not set"
[ "$(status_field "$pid" Seccomp)" = 2 ] || fail "no seccomp filter"
awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | tail -n 1 | grep -q '^ro' || fail "/ is writable to the service"
awk '$5 == "/var/lib/basalt" { print $6 }' "/proc/$pid/mountinfo" | tail -n 1 | grep -q '^rw' \
    || fail "/var/lib/basalt is not writable to the service"
echo "ok: started after init, as basalt, no capabilities, no_new_privs, seccomp, / read-only"
systemctl reload basalt
sleep 1
[ "$(main_pid)" = "$pid" ] && answers "$URL/default/directory" || fail "systemctl reload stopped basalt"
echo "ok: systemctl reload (SIGHUP) keeps it serving"

# An area with an encrypted key, its passphrase in systemd's credential store. The admin
# command reads the same store the unit does.
install -d -m 0700 /etc/credstore
(umask 077 && echo 'a long key passphrase' >/etc/credstore/basalt.key-passphrase)
sed -i 's/^# passphrase_credential = .*/passphrase_credential = "basalt.key-passphrase"/' /etc/basalt/basalt.toml
CREDENTIALS_DIRECTORY=/etc/credstore basalt area add lab --encrypt-key --data /var/lib/basalt \
    --config /etc/basalt/basalt.toml --root-password-file /var/lib/basalt/offline/root-password.txt \
    --allow .lab.test >/dev/null
chown -R basalt:basalt /var/lib/basalt
chgrp basalt /etc/basalt/basalt.toml
grep -q 'BEGIN ENCRYPTED PRIVATE KEY' /var/lib/basalt/directories/lab/intermediate-key.pem \
    || fail "the lab key is not encrypted"
restart
wait_for_property ActiveState active || fail "basalt.service did not start with the credential"
wait_answers "$URL/lab/directory"
echo "ok: the encrypted lab key is served with the passphrase from LoadCredential=basalt.key-passphrase"
mv /etc/credstore/basalt.key-passphrase /root/key-passphrase
restart
wait_for_property Result exit-code || fail "basalt started without the key's passphrase"
journal_has 'keys.passphrase_credential: .*No such file' || fail "the failure does not name passphrase_credential"
mv /root/key-passphrase /etc/credstore/basalt.key-passphrase
echo "ok: without the credential the service refuses to start, naming passphrase_credential"

# Port 443: refused without the drop-in, allowed with it.
echo 'BASALT_SERVER__LISTEN=127.0.0.1:443' >>/etc/default/basalt
restart
wait_for_property Result exit-code || fail "basalt bound port 443 without CAP_NET_BIND_SERVICE"
journal_has '443.*[Pp]ermission denied' || fail "the failure does not say port 443 was refused"
echo "ok: port 443 refused without the drop-in"
install -D -m 0644 /usr/share/doc/basalt/examples/basalt.service.d/low-port.conf \
    /etc/systemd/system/basalt.service.d/low-port.conf
systemctl daemon-reload
restart
wait_for_property ActiveState active || fail "basalt.service did not start with low-port.conf"
URL=https://127.0.0.1:443/acme wait_answers "https://127.0.0.1:443/acme/default/directory"
# CAP_NET_BIND_SERVICE is capability 10: the only bit set, in the bounding set too.
[ "$(status_field "$(main_pid)" CapEff)" = 0000000000000400 ] || fail "capabilities with low-port.conf: $(status_field "$(main_pid)" CapEff)"
[ "$(status_field "$(main_pid)" CapBnd)" = 0000000000000400 ] || fail "bounding set with low-port.conf"
echo "ok: with low-port.conf basalt serves on 443 holding CAP_NET_BIND_SERVICE only"

dpkg --purge basalt >/dev/null 2>&1
[ "$(systemctl is-active basalt)" != active ] || fail "the service still runs after the purge"
[ ! -e /lib/systemd/system/basalt.service ] || fail "the unit file is left after the purge"
! getent passwd basalt >/dev/null || fail "the basalt user is left"
[ ! -e /var/lib/basalt ] || fail "/var/lib/basalt is left"
echo "ok: dpkg --purge stopped the service and removed unit, user and data"
