#!/usr/bin/env bash
# The container image (deploy/container/Containerfile), built and run with real podman: a base
# made from Debian's packages (mmdebstrap, `podman import`; no image registry is reachable
# here), the image built from it with the prebuilt debug binary, then lego obtains a
# certificate from the containerized basalt through a published port, the process runs as a
# non-root user, and a restarted or re-created container keeps the data in its volume.
#
# Network: everything stays on this machine. Ports are published on 127.0.0.1 only (ACME
# 14000, PKI files 14080, metrics 9102). The container uses slirp4netns with
# allow_host_loopback, so basalt reaches the host's 127.0.0.1 as 10.0.2.2: the test DNS server
# (127.0.0.1:8053) answers the .test names with 10.0.2.2, and lego's http-01 responder listens
# on 127.0.0.1:5002. basalt sends nothing else anywhere.
#
# The base image is cached per ISO week under ${XDG_CACHE_HOME:-~/.cache}/basalt-conformance/
# (the mmdebstrap tarball) and as localhost/basalt-conformance-base:bookworm-<week>; the first
# run of a week builds it (about 30 s). Run it under `flock /tmp/basalt-conformance.lock`.
source "$(dirname "$0")/../lib.sh"
set -uo pipefail
CLIENT=deploy-container

PKI_PORT=${PKI_PORT:-14080}
METRICS_PORT=${METRICS_PORT:-9102}
NAMES=(base-image image-build first-start non-root lego-http01 restart-keeps-data recreate-keeps-data)

# Prints SKIP for every scenario from the $2-th on (default all) with reason $1, and ends.
skip_all() {
    local name
    for name in "${NAMES[@]:${2:-0}}"; do skip "$name" "$1"; done
    exit 0
}

for tool in podman runc slirp4netns mmdebstrap objcopy lego curl openssl jq numfmt; do
    command -v "$tool" >/dev/null || skip_all "$tool is not installed (apt-get install $tool)"
done
for bin in basalt basalt-test-dns; do
    [ -x "$BIN/$bin" ] || skip_all "$BIN/$bin is missing (run cargo build --workspace --bins first)"
done
# Rootless podman would map the container's uid 10001 to another uid on the host, and the
# non-root check reads the server's uid as the host's kernel sees it.
[ "$(id -u)" = 0 ] || skip_all "run as root (the CI machine's user): rootless podman maps uids, so the checks would not hold"

source "$(dirname "$0")/common.sh"

for port in "$ACME_PORT" "$HTTP01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT" "$PKI_PORT" "$METRICS_PORT"; do
    require_free_port "$port"
done

WORK=$(mktemp -d)
# areas/common.sh: spawn/start_dns/stop_all, wait_for, directory_up and the certificate
# helpers. Its admin wrapper (adm, ROOT_KEY) wants a DATA, unused here: basalt's data is in
# the container.
DATA=$WORK/unused
source "$REPO/conformance-tests/areas/common.sh"
CLIENT=deploy-container
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/basalt-conformance/container
WEEK=$(date -u +%G-w%V)
BASE_IMAGE=localhost/basalt-conformance-base:bookworm-$WEEK
BASE_TAR=$CACHE/base-bookworm-$WEEK.tar
# Everything this run creates is named with its pid, so the trap removes exactly that.
IMAGE=localhost/basalt-conformance-container:$$
CONTAINER=basalt-conformance-container-$$
VOLUME=basalt-conformance-data-$$
HOST_GATEWAY=10.0.2.2 # the host's loopback, seen from a slirp4netns container

cleanup() {
    set +e
    pod rm --force --volumes --time 5 "$CONTAINER" >/dev/null 2>&1
    pod volume rm --force "$VOLUME" >/dev/null 2>&1
    pod rmi --force "$IMAGE" >/dev/null 2>&1
    stop_all
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

pod info >/dev/null 2>"$WORK/podman-info.err" ||
    skip_all "podman does not work here (tried: podman --runtime runc info): $(tail -n 1 "$WORK/podman-info.err")"
start_dns

# ---- the base: Debian bookworm from Debian's packages, like debian:bookworm-slim ----

# minbase is Essential + Priority required + apt, as the Docker Official debian images are;
# the merged-usr hook avoids installing usrmerge (and with it perl); the path excludes drop
# what the -slim images drop. libssl3 is the one library basalt needs beyond glibc.
make_base_tar() {
    mkdir -p "$CACHE"
    mmdebstrap --quiet --format=tar --variant=minbase --include=libssl3 --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        bookworm "$BASE_TAR.partial" >"$WORK/mmdebstrap.log" 2>&1 || { cat "$WORK/mmdebstrap.log"; fail "mmdebstrap failed"; }
    mv "$BASE_TAR.partial" "$BASE_TAR"
    # Older weeks' tarballs are this script's own; keep only the current one.
    find "$CACHE" -maxdepth 1 -name 'base-bookworm-*.tar' ! -name "$(basename "$BASE_TAR")" -delete
}

base_image() {
    if pod image exists "$BASE_IMAGE"; then
        echo "cached: $BASE_IMAGE"
        return 0
    fi
    [ -s "$BASE_TAR" ] || make_base_tar
    pod import --change 'CMD ["/bin/bash"]' "$BASE_TAR" "$BASE_IMAGE" || fail "podman import failed"
    # Older weeks' base images are this script's own too.
    local old
    for old in $(pod images --format '{{.Repository}}:{{.Tag}}' localhost/basalt-conformance-base | grep -vxF "$BASE_IMAGE"); do
        pod rmi "$old" || echo "note: could not remove the old base $old"
    done
}

# Whether podman can run a container here at all: if not, the rest cannot be tried.
RUN_PROBE=(run --rm --pull=never --network none "$BASE_IMAGE" true)
can_run_containers() {
    pod "${RUN_PROBE[@]}" >/dev/null 2>"$WORK/probe.err"
}

# ---- the image ----

image_build() {
    pod run --rm --pull=never --network none "$BASE_IMAGE" dpkg-query -W libssl3 || fail "the base has no libssl3"
    # The debug binary the test command built, without its debug info (124 MB -> 66 MB).
    mkdir -p "$WORK/context"
    objcopy --strip-debug "$BIN/basalt" "$WORK/context/basalt"
    # --layers=false: no intermediate images are left behind for this run to clean up.
    # --pull=never: there is no registry to ask; a missing image is an error at once.
    pod build --pull=never --layers=false -f "$REPO/deploy/container/Containerfile" \
        --build-arg BUILD=prebuilt --build-arg BASE="$BASE_IMAGE" \
        -t "$IMAGE" "$WORK/context" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "podman build failed"; }
    # Only the stages the image needs ran: the Rust build stage was skipped, not pulled.
    if grep -q 'rust:1-bookworm\|cargo build' "$WORK/build.log"; then
        cat "$WORK/build.log"
        fail "the build ran the source stage although BUILD=prebuilt"
    fi
    local config
    config=$(pod image inspect "$IMAGE" | jq -c '.[0].Config')
    echo "$config"
    jq -e '.User == "10001:10001"' <<<"$config" >/dev/null || fail "the image's user is not 10001:10001"
    jq -e '.Volumes | has("/var/lib/basalt")' <<<"$config" >/dev/null || fail "/var/lib/basalt is not a volume"
    jq -e '.Entrypoint == ["/usr/bin/basalt", "serve"]' <<<"$config" >/dev/null || fail "the entrypoint is not basalt serve"
    local port
    for port in 8443/tcp 8080/tcp 9102/tcp; do
        jq -e --arg p "$port" '.ExposedPorts | has($p)' <<<"$config" >/dev/null || fail "$port is not exposed"
    done
    echo "image size: $(pod image inspect --format '{{.Size}}' "$IMAGE") bytes"
}

# ---- running it ----

# Starts a container on the volume, hardened as docs/install-container.md recommends (a
# read-only root file system, no capabilities, no privilege gain), so the test shows the
# image needs nothing more. basalt's own settings come from the image; the test adds only
# its resolver and http-01 port.
run_container() {
    pod run -d --pull=never --name "$CONTAINER" \
        --read-only --cap-drop ALL --security-opt no-new-privileges --stop-timeout 30 \
        --network slirp4netns:allow_host_loopback=true \
        -p "127.0.0.1:$ACME_PORT:8443" -p "127.0.0.1:$PKI_PORT:8080" -p "127.0.0.1:$METRICS_PORT:9102" \
        -v "$VOLUME:/var/lib/basalt" \
        "$IMAGE" --resolver "$HOST_GATEWAY:$DNS_PORT" --http01-port "$HTTP01_PORT" ||
        fail "podman run failed"
    wait_until_ready
}

# Ready: /readyz answers 200 through the published metrics port, and the ACME directory
# answers through the published ACME port under the root the container holds.
wait_until_ready() {
    if ! wait_for 90 curl -sf "http://127.0.0.1:$METRICS_PORT/readyz"; then
        pod logs "$CONTAINER"
        fail "basalt in the container did not become ready"
    fi
    pod exec "$CONTAINER" basalt root >"$WORK/root.pem" || fail "basalt root failed in the container"
    wait_for 10 directory_up "$DIRECTORY" || fail "the ACME directory does not answer on 127.0.0.1:$ACME_PORT"
}

first_start() {
    pod volume create "$VOLUME" >/dev/null
    run_container
    pod logs "$CONTAINER" >"$WORK/first-start.log" 2>&1
    grep -q 'ACME directory' "$WORK/first-start.log" || fail "serve did not report its directory"
    if grep -q $'\e\[' "$WORK/first-start.log"; then fail "the container's log has terminal colour codes"; fi
    # The root as relying parties fetch it from the PKI listener is the one in the volume.
    curl -sf "http://127.0.0.1:$PKI_PORT/root.pem" >"$WORK/root-pki.pem" || fail "no root on the PKI listener"
    [ "$(fingerprint_of "$WORK/root-pki.pem")" = "$(fingerprint_of "$WORK/root.pem")" ] ||
        fail "the PKI listener's root differs from basalt root's"
    fingerprint_of "$WORK/root.pem" >"$WORK/root.fingerprint"
    # serve initialised the volume as the container's user.
    pod exec "$CONTAINER" stat -c '%u:%g %a %n' /var/lib/basalt /var/lib/basalt/basalt.db \
        /var/lib/basalt/directories/default/intermediate-key.pem | tee "$WORK/owners"
    [ "$(grep -c '^10001:10001 ' "$WORK/owners")" = 3 ] || fail "the data is not owned by 10001:10001"
}

non_root() {
    # The server process itself, as the host's kernel sees it (no user namespace: same ids).
    local pid
    pid=$(pod inspect --format '{{.State.Pid}}' "$CONTAINER")
    grep -E '^(Uid|Gid):' "/proc/$pid/status"
    grep -qE '^Uid:\s+10001\s+10001\s+10001\s+10001$' "/proc/$pid/status" || fail "basalt (pid $pid) does not run as uid 10001"
    grep -qE '^Gid:\s+10001\s+10001\s+10001\s+10001$' "/proc/$pid/status" || fail "basalt (pid $pid) does not run as gid 10001"
    grep -q '^CapEff:\s*0\+$' "/proc/$pid/status" || fail "basalt has effective capabilities: $(grep CapEff "/proc/$pid/status")"
    # Admin commands run with `podman exec` get the image's user too.
    [ "$(pod exec "$CONTAINER" id -u):$(pod exec "$CONTAINER" id -g)" = "10001:10001" ] ||
        fail "podman exec runs as $(pod exec "$CONTAINER" id)"
    # With --read-only the root file system is read-only; the volume stays writable.
    pod exec "$CONTAINER" touch /var/lib/basalt/.write-test || fail "the volume is not writable"
    pod exec "$CONTAINER" rm /var/lib/basalt/.write-test
    pod exec "$CONTAINER" awk '$2 == "/" { print $4 }' /proc/mounts | grep -q '^ro,' || fail "the root file system is not read-only"
}

# A name the test DNS resolves to the host's loopback as the container sees it, and no AAAA
# (the default would be ::1, the container's own loopback).
point_at_host() {
    curl -sf -d "{\"host\":\"$1\",\"addresses\":[\"$HOST_GATEWAY\"]}" "http://$DNS_CONTROL/set-a" &&
        curl -sf -d "{\"host\":\"$1\",\"addresses\":[]}" "http://$DNS_CONTROL/set-aaaa" ||
        fail "the test DNS server refused the records of $1"
}

# lego, trusting only the root taken from the container, with http-01 on the host's loopback.
obtain() {
    point_at_host "$1"
    LEGO_CA_CERTIFICATES="$WORK/root.pem" lego --server "$DIRECTORY" --accept-tos --email admin@example.org \
        --path "$WORK/lego" --http --http.port "127.0.0.1:$HTTP01_PORT" --domains "$1" run || fail "lego for $1"
    local file="$WORK/lego/certificates/$1.crt"
    split_chain "$file" "$WORK/$1.leaf.pem" "$WORK/$1.chain.pem"
    openssl verify -purpose sslserver -CAfile "$WORK/root.pem" -untrusted "$WORK/$1.chain.pem" "$WORK/$1.leaf.pem" ||
        fail "the certificate for $1 does not chain to basalt's root"
    openssl x509 -in "$WORK/$1.leaf.pem" -noout -ext subjectAltName | grep -qx "\s*DNS:$1" ||
        fail "the certificate for $1 does not name exactly $1"
}

# basalt's own database in the volume lists the certificate lego got.
listed() {
    local serial
    serial=$(serial_of "$WORK/$1.leaf.pem")
    pod exec "$CONTAINER" basalt certs list --name "$1" --json >"$WORK/listed.json" || fail "basalt certs list failed"
    json_has "$WORK/listed.json" "$serial" ||
        fail "basalt certs list does not show $1's certificate $serial: $(cat "$WORK/listed.json")"
}

lego_http01() {
    obtain web.container.test
    listed web.container.test
}

# The data is the same after a restart: the root, and the first certificate in the database.
same_data() {
    [ "$(fingerprint_of "$WORK/root.pem")" = "$(cat "$WORK/root.fingerprint")" ] || fail "the root changed"
    listed web.container.test
}

restart_keeps_data() {
    pod restart --time 30 "$CONTAINER" >/dev/null || fail "podman restart failed"
    wait_until_ready
    same_data
}

# A new container on the same volume (what an image upgrade does): the data survives, and a
# SIGTERM stopped the old one cleanly (exit status 0, within the grace period).
recreate_keeps_data() {
    pod stop --time 30 "$CONTAINER" >/dev/null || fail "podman stop failed"
    pod logs "$CONTAINER" >"$WORK/container-first.log" 2>&1
    local status
    status=$(pod inspect --format '{{.State.ExitCode}}' "$CONTAINER")
    [ "$status" = 0 ] || { pod logs --tail 20 "$CONTAINER"; fail "basalt exited with status $status on SIGTERM"; }
    pod rm --volumes "$CONTAINER" >/dev/null || fail "podman rm failed"
    run_container
    same_data
    obtain second.container.test
    listed second.container.test
}

started=$(date +%s)
scenario base-image base_image
if pod image exists "$BASE_IMAGE" && ! can_run_containers; then
    skip_all "podman cannot run a container here (tried: podman --runtime runc run --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 ${RUN_PROBE[*]:1}): $(tail -n 1 "$WORK/probe.err")" 1
fi
scenario image-build image_build
if ! pod image exists "$IMAGE"; then
    for name in "${NAMES[@]:2}"; do echo "FAIL $CLIENT/$name (not run: no image)"; done
    exit 1
fi
echo "    image: $(pod image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=si)B ($IMAGE on $BASE_IMAGE)"
scenario first-start first_start
scenario non-root non_root
scenario lego-http01 lego_http01
scenario restart-keeps-data restart_keeps_data
scenario recreate-keeps-data recreate_keeps_data
echo "    $CLIENT took $(($(date +%s) - started)) s"
finish
