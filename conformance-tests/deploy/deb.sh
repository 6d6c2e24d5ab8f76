#!/usr/bin/env bash
# Issue 18, the Debian package: builds basalt's .deb with cargo-deb from the debug binary the
# test command already built (no release build in CI), installs it with dpkg on this machine,
# checks what a Debian administrator relies on, runs the installed binary as the `basalt`
# user, and purges it, twice. One PASS/FAIL/SKIP line per scenario (CLIENT=deploy-deb):
#   build           `cargo deb --no-build --strip` packages target/debug/basalt (copied into a
#                   scratch target dir as target/release/basalt, the path cargo-deb packages)
#   install         `dpkg -i`; /usr/bin/basalt --version; the `basalt` system user (nologin,
#                   home /var/lib/basalt) and group; owners and modes of /etc/basalt and
#                   /var/lib/basalt; the unit installed and enabled
#   conffiles       dpkg lists /etc/basalt/basalt.toml and /etc/default/basalt as conffiles
#   config-check    the basalt user reads the shipped conffile and `basalt config check` accepts it
#   unit-verify     `systemd-analyze verify` on the installed unit and on it with each shipped
#                   drop-in (low-port, softhsm, usb-token)
#   unit-security   `systemd-analyze security --offline=yes`: "OK" or better, for the unit and
#                   for it with low-port.conf (prints the exposure numbers)
#   serve           as the basalt user: `basalt init --data /var/lib/basalt`, then `serve` with
#                   the shipped conffile on 127.0.0.1:14000; curl fetches the directory
#   sandbox         the same binary under the unit's MemoryDenyWriteExecute (prctl PR_SET_MDWE)
#                   and SystemCallFilter (@system-service minus @privileged @resources, built
#                   with libseccomp) and without capabilities: init, serve, directory fetched
#   purge           `dpkg --purge` removes the files, the data directory, the user and group,
#                   and the unit's enablement
#   reinstall       a second cycle: install, install again (the upgrade path of the maintainer
#                   scripts), `dpkg -r` (keeps data, conffiles and user), purge (removes them)
# systemd is not PID 1 on these machines, so the unit itself is never started here: starting
# it cannot be tested. The serve and sandbox scenarios run what the unit runs, by hand.
# Refuses to run if a basalt package or a `basalt` user already exists (it would remove
# them). Uses the fixed ACME port 14000; run it under flock /tmp/basalt-conformance.lock.
source "$(dirname "$0")/../lib.sh"
set -uo pipefail
CLIENT=deploy-deb
SCENARIOS=(build install conffiles config-check unit-verify unit-security serve sandbox purge reinstall)

skip_all() {
    for s in "${SCENARIOS[@]}"; do skip "$s" "$1"; done
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "dpkg -i needs root (this runs as $(id -un))"
command -v cargo-deb >/dev/null \
    || skip_all "cargo-deb is not installed (cargo install cargo-deb --locked; .ci/run does)"
if dpkg-query -W -f='${Status}' basalt 2>/dev/null | grep -q installed || getent passwd basalt >/dev/null \
    || getent group basalt >/dev/null; then
    echo "error: a basalt package, user or group already exists on this machine; deb.sh installs" >&2
    echo "       and purges its own and will not touch another (dpkg --purge basalt first)" >&2
    exit 2
fi
require_free_port "$ACME_PORT"

WORK=$(mktemp -d)
UNIT=/usr/lib/systemd/system/basalt.service
DROPINS=/usr/share/doc/basalt/examples/basalt.service.d
DIRECTORY_URL="https://127.0.0.1:${ACME_PORT}/acme/default/directory"
INSTALLED=

# Always leaves the machine as it was: the server stopped, the package purged, no user left.
cleanup() {
    set +e
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    if [ -n "$INSTALLED" ]; then
        dpkg-query -W -f='${Status}' basalt 2>/dev/null | grep -q installed && dpkg --purge basalt >/dev/null 2>&1
        getent passwd basalt >/dev/null && userdel basalt
        getent group basalt >/dev/null && groupdel basalt
        rm -rf /var/lib/basalt /etc/basalt
    fi
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# dpkg ARGS..., waiting up to a minute for another dpkg or apt run to let go of its lock.
run_dpkg() {
    local i out
    for i in $(seq 1 60); do
        out=$(dpkg "$@" 2>&1) && { echo "$out"; return 0; }
        grep -q 'lock' <<<"$out" || { echo "$out"; return 1; }
        sleep 1
    done
    echo "$out"
    return 1
}
install_deb() {
    INSTALLED=1
    run_dpkg -i "$DEB"
}
# Owner:group and octal mode of a path, e.g. "root:basalt 750".
owner_mode() { stat -c '%U:%G %a' "$1"; }
expect_owner_mode() {
    local got
    got=$(owner_mode "$1") || fail "$1 is missing"
    [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

build() {
    [ -x "$BIN/basalt" ] || fail "$BIN/basalt is missing: run cargo build --workspace --bins first"
    # cargo-deb packages target/release/basalt of the target dir it is given (it refuses the
    # dev profile); the debug binary is copied there, so main's target dir is left untouched.
    mkdir -p "$WORK/target/release"
    cp "$BIN/basalt" "$WORK/target/release/basalt"
    (cd "$REPO" && CARGO_TARGET_DIR="$WORK/target" cargo deb -p basalt --no-build --strip --fast \
        -o "$WORK/")
    DEB=$(ls "$WORK"/basalt_*.deb)
    echo "built $DEB ($(du -h "$DEB" | cut -f1))"
    dpkg-deb -c "$DEB" >"$WORK/contents.txt"
    grep -q ' \./usr/bin/basalt$' "$WORK/contents.txt" || fail "the .deb holds no /usr/bin/basalt"
    grep -q " \.$UNIT\$" "$WORK/contents.txt" || fail "the .deb holds no $UNIT"
    # Stripped: the debug binary's line tables are not shipped.
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/bin/basalt >"$WORK/packaged-basalt"
    readelf -S "$WORK/packaged-basalt" >"$WORK/sections.txt"
    ! grep -q '\.debug_line' "$WORK/sections.txt" || fail "the packaged binary is not stripped"
    echo "$DEB" >"$WORK/deb-path"
}

install() {
    install_deb
    local version want
    version=$(cd / && /usr/bin/basalt --version)
    want="basalt $(dpkg-query -W -f='${Version}' basalt | sed 's/-[^-]*$//')"
    [ "$version" = "$want" ] || fail "/usr/bin/basalt --version says '$version', expected '$want'"
    echo "$version"
    local entry uid shell home
    entry=$(getent passwd basalt) || fail "no basalt user"
    IFS=: read -r _ _ uid _ _ home shell <<<"$entry"
    [ "$uid" -lt 1000 ] || fail "basalt's uid $uid is not a system uid"
    [ "$home" = /var/lib/basalt ] || fail "basalt's home is $home"
    [ "$shell" = /usr/sbin/nologin ] || fail "basalt's shell is $shell"
    [ "$(id -gn basalt)" = basalt ] || fail "basalt's primary group is $(id -gn basalt)"
    expect_owner_mode /var/lib/basalt "basalt:basalt 700"
    expect_owner_mode /etc/basalt "root:basalt 750"
    expect_owner_mode /etc/basalt/basalt.toml "root:basalt 640"
    expect_owner_mode /etc/basalt/credentials "root:root 700"
    [ -f "$UNIT" ] || fail "$UNIT is not installed"
    # deb-systemd-helper enabled it (works without systemd running).
    [ -L /etc/systemd/system/multi-user.target.wants/basalt.service ] \
        || fail "the unit is not enabled (no multi-user.target.wants link)"
}

conffiles() {
    local listed
    listed=$(dpkg-query -W -f='${Conffiles}\n' basalt)
    echo "$listed"
    grep -q '^ /etc/basalt/basalt.toml ' <<<"$listed" || fail "/etc/basalt/basalt.toml is not a conffile"
    grep -q '^ /etc/default/basalt ' <<<"$listed" || fail "/etc/default/basalt is not a conffile"
}

config_check() {
    (cd / && runuser -u basalt -- /usr/bin/basalt config check --config /etc/basalt/basalt.toml)
}

# The unit with one drop-in applied, as one file (later settings override earlier ones, an
# empty assignment resets a list, exactly as systemd reads drop-ins).
with_dropin() {
    local dropin=$1 out="$WORK/units/basalt-$(basename "$1" .conf).service"
    mkdir -p "$WORK/units"
    cat "$UNIT" "$dropin" >"$out"
    echo "$out"
}

unit_verify() {
    local unit
    (cd / && systemd-analyze verify "$UNIT") || fail "systemd-analyze verify $UNIT"
    for dropin in "$DROPINS"/*.conf; do
        unit=$(with_dropin "$dropin")
        (cd / && systemd-analyze verify "$unit") || fail "systemd-analyze verify with $(basename "$dropin")"
        echo "verified with $(basename "$dropin")"
    done
    [ -n "${unit:-}" ] || fail "no drop-in examples in $DROPINS"
}

# Prints "NUMBER LEVEL" of a unit's overall exposure.
exposure() {
    (cd / && systemd-analyze security --offline=yes "$1" 2>&1) | tee "$WORK/security-$(basename "$1").txt" \
        | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p'
}
unit_security() {
    local score number level
    for unit in "$UNIT" "$(with_dropin "$DROPINS/low-port.conf")"; do
        score=$(exposure "$unit")
        [ -n "$score" ] || { cat "$WORK/security-$(basename "$unit").txt"; fail "no exposure level for $unit"; }
        read -r number level <<<"$score"
        echo "$(basename "$unit"): exposure $number $level"
        case $level in
            OK | SAFE | PERFECT) ;;
            *) fail "$(basename "$unit") is $level ($number), worse than OK" ;;
        esac
    done
    for dropin in softhsm usb-token; do
        echo "with $dropin.conf: exposure $(exposure "$(with_dropin "$DROPINS/$dropin.conf")") (reported, not required)"
    done
}

# Waits until the directory answers over HTTPS with the data directory's root, or fails
# showing the server's log.
directory_answers() {
    local root=$1 log=$2 pid=$3
    for _ in $(seq 1 100); do
        if curl -sf --cacert "$root" "$DIRECTORY_URL" >"$WORK/directory.json" 2>/dev/null; then
            grep -q '"newOrder"' "$WORK/directory.json" || fail "the directory has no newOrder"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log"
    fail "basalt did not answer at $DIRECTORY_URL"
}

serve() {
    (cd / && runuser -u basalt -- /usr/bin/basalt init --data /var/lib/basalt)
    expect_owner_mode /var/lib/basalt/root.pem "basalt:basalt $(stat -c %a /var/lib/basalt/root.pem)"
    expect_owner_mode /var/lib/basalt/directories/default/intermediate-key.pem "basalt:basalt 600"
    [ -f /var/lib/basalt/offline/root-key.pem ] || fail "init made no offline root key"
    # What the unit's ExecStart runs (its ConditionPathExists=/var/lib/basalt/root.pem now
    # holds), with the test port instead of the conffile's 8443.
    # setpriv execs basalt itself (runuser would stay its parent), so SERVE_PID is basalt's
    # and the SIGTERM below reaches it as systemd's would. NO_COLOR=1 as the unit sets it.
    (cd / && NO_COLOR=1 exec setpriv --reuid=basalt --regid=basalt --clear-groups -- \
        /usr/bin/basalt serve --data /var/lib/basalt --config /etc/basalt/basalt.toml \
        --listen "127.0.0.1:$ACME_PORT") >"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    directory_answers /var/lib/basalt/root.pem "$WORK/serve.log" "$SERVE_PID"
    echo "directory: $(head -c 200 "$WORK/directory.json")"
    kill "$SERVE_PID"
    wait "$SERVE_PID" || fail "basalt serve did not exit 0 on SIGTERM"
    SERVE_PID=
    ! grep -q $'\e' "$WORK/serve.log" || fail "the log has terminal escapes (journald would store them)"
    # The service user can still read what it wrote: nothing became root's.
    ! find /var/lib/basalt ! -user basalt | grep -q . || fail "files in /var/lib/basalt not owned by basalt"
}

SANDBOX=("$REPO/conformance-tests/deploy/unit-sandbox.py" basalt)
# The sandbox must refuse what the unit refuses, or the scenario below proves nothing.
sandbox_refuses() {
    local what=$1 code=$2
    if (cd / && "${SANDBOX[@]}" /usr/bin/python3 -c "$code") 2>"$WORK/refused.log"; then
        fail "the sandbox allowed $what"
    fi
    grep -q 'PermissionError\|Operation not permitted\|Address family not supported' "$WORK/refused.log" \
        || { cat "$WORK/refused.log"; fail "$what failed, but not by the sandbox"; }
    echo "refused: $what"
}
sandbox() {
    sandbox_refuses "a writable and executable mapping" \
        'import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)'
    sandbox_refuses "a netlink socket" 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)'
    sandbox_refuses "sched_setaffinity (@resources)" 'import os; os.sched_setaffinity(0, os.sched_getaffinity(0))'
    # init and serve of the packaged binary, as the unit would run them.
    (cd / && "${SANDBOX[@]}" /usr/bin/basalt init --data /var/lib/basalt/sandboxed)
    (cd / && NO_COLOR=1 exec "${SANDBOX[@]}" /usr/bin/basalt serve --data /var/lib/basalt/sandboxed \
        --config /etc/basalt/basalt.toml --listen "127.0.0.1:$ACME_PORT") >"$WORK/sandboxed.log" 2>&1 &
    SERVE_PID=$!
    directory_answers /var/lib/basalt/sandboxed/root.pem "$WORK/sandboxed.log" "$SERVE_PID"
    echo "directory fetched from the sandboxed basalt"
    kill "$SERVE_PID"
    wait "$SERVE_PID" || { cat "$WORK/sandboxed.log"; fail "the sandboxed basalt did not exit 0 on SIGTERM"; }
    SERVE_PID=
}

purge() {
    run_dpkg --purge basalt
    ! dpkg-query -W -f='${Status}' basalt 2>/dev/null | grep -q installed || fail "basalt is still installed"
    local left
    for left in /usr/bin/basalt "$UNIT" /etc/basalt /etc/default/basalt /var/lib/basalt \
        /etc/systemd/system/multi-user.target.wants/basalt.service /usr/share/doc/basalt; do
        [ ! -e "$left" ] && [ ! -L "$left" ] || fail "$left is left after the purge"
    done
    ! getent passwd basalt >/dev/null || fail "the basalt user is left after the purge"
    ! getent group basalt >/dev/null || fail "the basalt group is left after the purge"
    INSTALLED=
}

reinstall() {
    install_deb
    echo "# installed again over itself (postinst configure with the old version)"
    install_deb
    [ "$(owner_mode /etc/basalt/basalt.toml)" = "root:basalt 640" ] || fail "the upgrade path lost the conffile's group"
    runuser -u basalt -- touch /var/lib/basalt/kept
    run_dpkg -r basalt
    [ -f /var/lib/basalt/kept ] || fail "dpkg -r removed the data directory"
    [ -f /etc/basalt/basalt.toml ] || fail "dpkg -r removed the conffile"
    getent passwd basalt >/dev/null || fail "dpkg -r removed the basalt user"
    [ ! -e /usr/bin/basalt ] || fail "dpkg -r left /usr/bin/basalt"
    purge
}

scenario build build
DEB=$(cat "$WORK/deb-path" 2>/dev/null)
if [ -z "$DEB" ]; then
    for s in "${SCENARIOS[@]:1}"; do skip "$s" "the package could not be built (see build)"; done
    finish
    exit
fi
scenario install install
scenario conffiles conffiles
scenario config-check config_check
scenario unit-verify unit_verify
scenario unit-security unit_security
scenario serve serve
if /usr/bin/python3 -c 'import seccomp' 2>/dev/null; then
    scenario sandbox sandbox
else
    skip sandbox "libseccomp's Python binding is not installed (apt-get install python3-seccomp; .ci/run does)"
fi
scenario purge purge
scenario reinstall reinstall
finish
