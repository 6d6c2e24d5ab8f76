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
#                   drop-in (low-port, softhsm, usb-token), silent: a warning fails too
#   unit-security   `systemd-analyze security --offline=yes`: "OK" or better, for the unit and
#                   for it with low-port.conf (prints the exposure numbers)
#   serve           as the basalt user: `basalt init --data /var/lib/basalt`, then `serve` with
#                   the shipped conffile on 127.0.0.1:14000; curl fetches the directory
#   sandbox         the same binary under the unit's MemoryDenyWriteExecute, SystemCallFilter
#                   (@system-service minus @privileged @resources) and RestrictAddressFamilies
#                   as seccomp filters (unit-sandbox.py), without capabilities: init, serve,
#                   and lego obtaining a certificate (DNS, http-01 validation, signing, commits)
#   area-add        `basalt area add` as root the documented way (the conffile keeps root:basalt
#                   0640; the data directory is chowned back to basalt); the service user's
#                   basalt serves the new area
#   purge           `dpkg --purge` removes the files, the data directory, the user and group,
#                   and the unit's enablement
#   unit-start      the unit started for real, in a podman container whose PID 1 is systemd
#                   (an mmdebstrap image with systemd): deb-under-systemd.sh runs there
#   reinstall       a second cycle: install, install again (the upgrade path of the maintainer
#                   scripts), `dpkg -r` (keeps data, conffiles and user), purge (removes them)
# systemd is not PID 1 on these machines, so the unit cannot be started on the machine itself:
# serve and sandbox run what the unit runs by hand, and unit-start starts it in a container
# that boots systemd (SKIP with the reason when podman cannot do that).
# Refuses to run if a basalt package or a `basalt` user already exists (it would remove
# them). Fixed test ports: ACME 14000, http-01 5002, test DNS 8053/8055; run it under
# flock /tmp/basalt-conformance.lock.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
# lib.sh turns errexit on; this script's own steps decide for themselves, so that a failed
# check never skips the purge at the end (each scenario still runs with errexit).
set +e -uo pipefail
CLIENT=deploy-deb
SCENARIOS=(build install conffiles config-check unit-verify unit-security serve sandbox area-add purge unit-start reinstall)

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
for port in "$ACME_PORT" "$HTTP01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT"; do require_free_port "$port"; done

WORK=$(mktemp -d)
UNIT=/usr/lib/systemd/system/basalt.service
DROPINS=/usr/share/doc/basalt/examples/basalt.service.d
DIRECTORY_URL="https://127.0.0.1:${ACME_PORT}/acme/default/directory"
# Set in this shell before the first dpkg -i (scenarios run in subshells): from then on the
# cleanup purges whatever is installed (the start refused to run over another basalt).
INSTALLED=

# Background processes record their pid here: scenarios run in subshells, and whatever one
# leaves running when it fails must still be stopped (a running process keeps userdel from
# removing the basalt user).
PIDS=$WORK/pids
mkdir -p "$PIDS"
# started NAME PID: remembers a background process; stopped NAME: kills it, waits it out.
started() { echo "$2" >"$PIDS/$1"; }
stopped() {
    local pid
    pid=$(cat "$PIDS/$1" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDS/$1"
}
stop_all() {
    local f
    for f in "$PIDS"/*; do [ -e "$f" ] && stopped "$(basename "$f")"; done
    return 0
}

# Always leaves the machine as it was: servers stopped, the package purged, no user left.
cleanup() {
    set +e
    stop_all
    if [ -n "$INSTALLED" ]; then
        dpkg-query -W -f='${Status}' basalt 2>/dev/null | grep -q installed && dpkg --purge basalt >/dev/null 2>&1
        getent passwd basalt >/dev/null && userdel basalt
        getent group basalt >/dev/null && groupdel basalt
        rm -rf /var/lib/basalt /etc/basalt
    fi
    podman rm -f "$UNIT_CONTAINER" >/dev/null 2>&1
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

# systemd-analyze verify exits 0 on unknown keys and unknown system call groups (it only warns),
# so any message at all is a failure: a misspelt hardening setting would be silently ignored.
verify_quietly() {
    local out
    out=$(cd / && systemd-analyze verify "$1" 2>&1) || fail "systemd-analyze verify $1: $out"
    [ -z "$out" ] || fail "systemd-analyze verify $1 warns: $out"
}
unit_verify() {
    local unit
    verify_quietly "$UNIT"
    echo "verified $UNIT"
    for dropin in "$DROPINS"/*.conf; do
        unit=$(with_dropin "$dropin")
        verify_quietly "$unit"
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
    [ "$(stat -c %U /var/lib/basalt/root.pem)" = basalt ] || fail "root.pem is not basalt's"
    expect_owner_mode /var/lib/basalt/directories/default/intermediate-key.pem "basalt:basalt 600"
    [ -f /var/lib/basalt/offline/root-key.pem ] || fail "init made no offline root key"
    # What the unit's ExecStart runs (its ConditionPathExists=/var/lib/basalt/root.pem now
    # holds), with the test port instead of the conffile's 8443.
    # setpriv execs basalt itself (runuser would stay its parent), so SERVE_PID is basalt's
    # and the SIGTERM below reaches it as systemd's would. NO_COLOR=1 as the unit sets it.
    (cd / && NO_COLOR=1 exec setpriv --reuid=basalt --regid=basalt --clear-groups -- \
        /usr/bin/basalt serve --data /var/lib/basalt --config /etc/basalt/basalt.toml \
        --listen "127.0.0.1:$ACME_PORT") >"$WORK/serve.log" 2>&1 &
    local pid=$!
    started serve "$pid"
    directory_answers /var/lib/basalt/root.pem "$WORK/serve.log" "$pid"
    echo "directory: $(head -c 200 "$WORK/directory.json")"
    kill "$pid"
    wait "$pid" || fail "basalt serve did not exit 0 on SIGTERM"
    rm -f "$PIDS/serve"
    ! grep -q $'\e' "$WORK/serve.log" || fail "the log has terminal escapes (journald would store them)"
    # The service user can still read what it wrote: nothing became root's.
    ! find /var/lib/basalt ! -user basalt | grep -q . || fail "files in /var/lib/basalt not owned by basalt"
}

# The documented way to add an area on a packaged install (docs/install-debian.md): as root,
# with the offline root key brought back, then the data directory given back to the service.
area_add() {
    (cd / && /usr/bin/basalt area add lab --data /var/lib/basalt --config /etc/basalt/basalt.toml \
        --root-key /var/lib/basalt/offline/root-key.pem \
        --root-password-file /var/lib/basalt/offline/root-password.txt --allow .lab.test)
    chown -R basalt:basalt /var/lib/basalt
    # area add keeps the conffile's owner, group and mode when it rewrites it.
    expect_owner_mode /etc/basalt/basalt.toml "root:basalt 640"
    grep -q '^\[directories.lab\]' /etc/basalt/basalt.toml || fail "no [directories.lab] in the conffile"
    (cd / && runuser -u basalt -- /usr/bin/basalt config check --config /etc/basalt/basalt.toml)
    (cd / && NO_COLOR=1 exec setpriv --reuid=basalt --regid=basalt --clear-groups -- \
        /usr/bin/basalt serve --data /var/lib/basalt --config /etc/basalt/basalt.toml \
        --listen "127.0.0.1:$ACME_PORT") >"$WORK/serve-lab.log" 2>&1 &
    local pid=$!
    started serve "$pid"
    DIRECTORY_URL="https://127.0.0.1:${ACME_PORT}/acme/lab/directory" \
        directory_answers /var/lib/basalt/root.pem "$WORK/serve-lab.log" "$pid"
    echo "the lab area answers"
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
    # init and serve of the packaged binary, as the unit would run them, and a whole
    # issuance through it (DNS lookups, an http-01 fetch, signing, database commits): lego
    # on the test DNS server's names, which resolve to 127.0.0.1.
    local data=/var/lib/basalt/sandboxed root=/var/lib/basalt/sandboxed/root.pem pid
    (cd / && "${SANDBOX[@]}" /usr/bin/basalt init --data "$data")
    "$BIN/basalt-test-dns" --listen "$DNS_ADDR" --control "$DNS_CONTROL" >"$WORK/dns.log" 2>&1 &
    started dns $!
    (cd / && NO_COLOR=1 exec "${SANDBOX[@]}" /usr/bin/basalt serve --data "$data" \
        --config /etc/basalt/basalt.toml --listen "127.0.0.1:$ACME_PORT" --resolver "$DNS_ADDR" \
        --http01-port "$HTTP01_PORT" --egress-allow 127.0.0.0/8 --egress-allow ::1) \
        >"$WORK/sandboxed.log" 2>&1 &
    pid=$!
    started sandboxed "$pid"
    directory_answers "$root" "$WORK/sandboxed.log" "$pid"
    LEGO_CA_CERTIFICATES=$root lego --server "$DIRECTORY_URL" --accept-tos --email admin@example.org \
        --path "$WORK/lego" --http --http.port "127.0.0.1:$HTTP01_PORT" --domains deb.test run \
        || { cat "$WORK/sandboxed.log"; fail "lego could not obtain a certificate from the sandboxed basalt"; }
    awk -v out="$WORK/leaf.pem" -v rest="$WORK/issuer.pem" \
        'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} {print > (n==1 ? out : rest)}' "$WORK/lego/certificates/deb.test.crt"
    openssl verify -CAfile "$root" -untrusted "$WORK/issuer.pem" "$WORK/leaf.pem" \
        || fail "the certificate does not chain to the sandboxed basalt's root"
    kill "$pid"
    wait "$pid" || { cat "$WORK/sandboxed.log"; fail "the sandboxed basalt did not exit 0 on SIGTERM"; }
    rm -f "$PIDS/sandboxed"
    stopped dns
}

# A Debian bookworm image with systemd as its init, built from Debian's packages (no image
# registry is reachable) and kept by week, as the container part keeps its base.
SYSTEMD_IMAGE=localhost/basalt-deb-systemd:bookworm-$(date +%G-w%V)
systemd_image() {
    podman image exists "$SYSTEMD_IMAGE" && return 0
    mmdebstrap --variant=apt --include=systemd,systemd-sysv,dbus,adduser,libssl3,ca-certificates,curl \
        bookworm "$WORK/systemd-root.tar" >"$WORK/mmdebstrap.log" 2>&1 || { tail -5 "$WORK/mmdebstrap.log"; return 1; }
    podman import "$WORK/systemd-root.tar" "$SYSTEMD_IMAGE" >/dev/null || return 1
    rm -f "$WORK/systemd-root.tar"
}
UNIT_CONTAINER=basalt-deb-systemd-$$
# Boots the image with systemd as PID 1 (loopback only: --network none; ports below 1024
# privileged, as on a host), or prints why it could not.
boot_systemd() {
    pod run -d --name "$UNIT_CONTAINER" --systemd=always --network none \
        --sysctl net.ipv4.ip_unprivileged_port_start=1024 "$SYSTEMD_IMAGE" /sbin/init >/dev/null || return 1
    local state
    for _ in $(seq 1 100); do
        state=$(podman exec "$UNIT_CONTAINER" systemctl is-system-running 2>/dev/null)
        case $state in running | degraded) return 0 ;; esac
        sleep 0.2
    done
    echo "systemd in the container reached '$state', not running"
    podman logs "$UNIT_CONTAINER" 2>&1 | tail -5
    return 1
}
unit_start() {
    podman cp "$DEB" "$UNIT_CONTAINER:/tmp/basalt.deb"
    podman cp "$REPO/conformance-tests/deploy/deb-under-systemd.sh" "$UNIT_CONTAINER:/tmp/deb-under-systemd.sh"
    podman exec "$UNIT_CONTAINER" bash /tmp/deb-under-systemd.sh /tmp/basalt.deb
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
    # Set in this shell before the first dpkg -i (scenarios run in subshells): from then on the
# cleanup purges whatever is installed (the start refused to run over another basalt).
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
INSTALLED=1
scenario install install
scenario conffiles conffiles
scenario config-check config_check
scenario unit-verify unit_verify
scenario unit-security unit_security
scenario serve serve
stop_all
if /usr/bin/python3 -c 'import seccomp' 2>/dev/null; then
    scenario sandbox sandbox
    stop_all
else
    skip sandbox "libseccomp's Python binding is not installed (apt-get install python3-seccomp; .ci/run does)"
fi
scenario area-add area_add
stop_all
scenario purge purge
# The unit started for real: in a container whose PID 1 is systemd.
if ! command -v podman >/dev/null || ! command -v mmdebstrap >/dev/null; then
    skip unit-start "podman or mmdebstrap is not installed (apt-get install podman runc mmdebstrap; .ci/run does)"
elif ! why=$(systemd_image 2>&1); then
    skip unit-start "no Debian image with systemd could be built with mmdebstrap: $why"
elif ! why=$(boot_systemd 2>&1); then
    skip unit-start "podman could not run systemd as PID 1 (podman --runtime runc run --systemd=always): $why"
else
    scenario unit-start unit_start
fi
scenario reinstall reinstall
finish
