#!/usr/bin/env bash
# Caddy (Debian package) against basalt: a real web server that obtains its own certificates
# from basalt (global options acme_ca and acme_ca_root) and serves HTTPS on loopback, which
# curl accepts with basalt's root as its only trust anchor. Scenarios: http-01 only,
# tls-alpn-01 only, two sites with a certificate each, and a renewal when Caddy is restarted
# with a renewal window that covers the certificate it already has. Every served leaf is
# checked with check_leaf and against basalt's database. The Caddyfiles are in caddy/; their
# {$CADDY_*} placeholders are environment variables, which Caddy substitutes itself.
source "$(dirname "$0")/lib.sh"
CLIENT="caddy-$(caddy version | awk '{print $1}' | sed 's/^v//')"

WORK=$(mktemp -d)
trap 'stop_caddy; stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
start_ca

TEMPLATES="$REPO/conformance-tests/caddy"
# Caddy's storage (account, keys, certificates) is private to this run and shared by the
# scenarios, so later scenarios reuse the account and the renewal finds the http-01 certificate.
CADDY_ENV=(HOME="$WORK/caddy-home" XDG_DATA_HOME="$WORK/caddy-data" XDG_CONFIG_HOME="$WORK/caddy-config"
    CADDY_ACME_CA="$DIRECTORY" CADDY_ACME_CA_ROOT="$WORK/root.pem")
mkdir -p "$WORK/caddy-home"
CADDY_PIDFILE="$WORK/caddy.pid"

# A free loopback TCP port, for the Caddy listener basalt must not reach.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts Caddy on CONFIG (a Caddyfile, or JSON when it ends in .json) with the given HTTP and
# HTTPS ports; it is stopped when the scenario ends.
start_caddy() {
    local config=$1 http_port=$2 https_port=$3 adapter=()
    [[ $config == *.json ]] || adapter=(--adapter caddyfile)
    CADDY_LOG="$WORK/caddy-$(basename "$config").log"
    env "${CADDY_ENV[@]}" CADDY_HTTP_PORT="$http_port" CADDY_HTTPS_PORT="$https_port" \
        caddy run --config "$config" "${adapter[@]}" >"$CADDY_LOG" 2>&1 &
    echo $! >"$CADDY_PIDFILE"
    trap stop_caddy EXIT
}

# Stops the Caddy this script started (by its pid), waiting until its ports are released.
stop_caddy() {
    [ -f "${CADDY_PIDFILE:-}" ] || return 0
    local pid
    pid=$(cat "$CADDY_PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$CADDY_PIDFILE"
}

# Fetches https://NAME:PORT/ trusting basalt's root only, NAME resolving to loopback.
fetch() {
    curl -sS --max-time 5 --cacert "$WORK/root.pem" --resolve "$1:$2:127.0.0.1" "https://$1:$2/"
}

# Writes what Caddy serves for NAME on PORT: the leaf to $WORK/NAME.leaf.pem, the rest of the
# chain to $WORK/NAME.chain.pem.
served_chain() {
    local name=$1 port=$2
    rm -f "$WORK/$name.leaf.pem" "$WORK/$name.chain.pem"
    { openssl s_client -connect "127.0.0.1:$port" -servername "$name" -showcerts </dev/null 2>/dev/null || true; } \
        | awk -v leaf="$WORK/$name.leaf.pem" -v rest="$WORK/$name.chain.pem" '
            /-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
            on { print > (n == 1 ? leaf : rest) }
            /-----END CERTIFICATE-----/ { on = 0 }'
    [ -s "$WORK/$name.leaf.pem" ] || fail "no certificate served for $name on port $port"
    [ -s "$WORK/$name.chain.pem" ] || fail "caddy served the leaf for $name without its chain"
}

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
served_serial() { served_chain "$1" "$2" >/dev/null 2>&1 && serial_of "$WORK/$1.leaf.pem"; }

# Polls (at most 30 s) until https://NAME:PORT/ answers with a certificate trusted through
# basalt's root and, if NOT_SERIAL is given, a leaf with another serial.
wait_served() {
    local name=$1 port=$2 not_serial=${3:-} deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if fetch "$name" "$port" >/dev/null 2>&1 \
            && { [ -z "$not_serial" ] || [ "$(served_serial "$name" "$port")" != "$not_serial" ]; }; then
            return 0
        fi
        kill -0 "$(cat "$CADDY_PIDFILE")" 2>/dev/null || { tail -n 30 "$CADDY_LOG"; fail "caddy exited"; }
        # After a failed attempt Caddy waits 60 s before retrying: no point in waiting longer.
        if grep -q '"msg":"will retry"' "$CADDY_LOG"; then
            grep '"level":"error"' "$CADDY_LOG" >&2 || true
            fail "caddy could not get a certificate for $name from basalt"
        fi
        sleep 0.2
    done
    { grep '"level":"error"' "$CADDY_LOG" || true; } | tail -n 5 >&2
    fail "caddy did not serve $name on port $port with a new basalt certificate within 30 s"
}

# An SQL condition: the certificate's names (a JSON array of identifiers) are NAME alone.
only_name() { echo "json_array_length(names) = 1 and json_extract(names, '\$[0].value') = '$1'"; }

# The checks of a site Caddy serves: the page through curl trusting basalt's root only, the
# served leaf and chain with check_leaf, and basalt's database has that serial for that name.
check_site() {
    local name=$1 port=$2 body serial
    body=$(fetch "$name" "$port") || fail "curl --cacert <basalt root> https://$name:$port/ failed"
    [ "$body" = "$name: served with a basalt certificate" ] || fail "https://$name:$port/ answered '$body'"
    served_chain "$name" "$port"
    check_leaf "$WORK/$name.leaf.pem" "$WORK/$name.chain.pem" "DNS:$name"
    serial=$(serial_of "$WORK/$name.leaf.pem")
    [ "$(db "select count(*) from certificates where lower(serial) = '$serial' and $(only_name "$name")")" = 1 ] \
        || fail "basalt's database has no certificate $serial for exactly $name"
}

# The challenge types basalt validated for NAME (sorted, comma-separated).
validated_challenges() {
    db "select c.challenge_type from challenges c join authorizations a on a.id = c.authorization_id
        where a.identifier_value = '$1' and c.status = 'valid'" | sort -u | paste -sd, -
}

# http-01 only; https_port is a port basalt never connects to.
http01() {
    local port
    port=$(free_port)
    start_caddy "$TEMPLATES/http-01.Caddyfile" "$HTTP01_PORT" "$port"
    wait_served caddy.test "$port"
    check_site caddy.test "$port"
    [ "$(validated_challenges caddy.test)" = http-01 ] \
        || fail "caddy.test was validated by '$(validated_challenges caddy.test)', expected http-01"
}

# tls-alpn-01 only; http_port is a port basalt never connects to.
tlsalpn01() {
    start_caddy "$TEMPLATES/tls-alpn-01.Caddyfile" "$(free_port)" "$TLSALPN01_PORT"
    wait_served alpn.test "$TLSALPN01_PORT"
    check_site alpn.test "$TLSALPN01_PORT"
    [ "$(validated_challenges alpn.test)" = tls-alpn-01 ] \
        || fail "alpn.test was validated by '$(validated_challenges alpn.test)', expected tls-alpn-01"
}

two_sites() {
    start_caddy "$TEMPLATES/two-sites.Caddyfile" "$HTTP01_PORT" "$TLSALPN01_PORT"
    wait_served one.caddy.test "$TLSALPN01_PORT"
    wait_served two.caddy.test "$TLSALPN01_PORT"
    check_site one.caddy.test "$TLSALPN01_PORT"
    check_site two.caddy.test "$TLSALPN01_PORT"
    [ "$(serial_of "$WORK/one.caddy.test.leaf.pem")" != "$(serial_of "$WORK/two.caddy.test.leaf.pem")" ] \
        || fail "both sites are served the same certificate"
}

# Caddy 2.6's Caddyfile has no renewal-window option, but its JSON config does: the http-01
# Caddyfile, adapted to JSON, with renewal_window_ratio 0.9999 (renew once less than 99.99% of
# the lifetime remains, i.e. ~9 s after notBefore, which basalt backdates by a minute).
# Restarted on the same storage, Caddy finds the http-01 scenario's caddy.test certificate in
# that window and renews it (the next check is renew_interval, 10 min, away).
renew() {
    local port stored old new
    port=$(free_port)
    stored=$(find "$WORK/caddy-data/caddy/certificates" -name caddy.test.crt 2>/dev/null || true)
    [ -n "$stored" ] || fail "caddy's storage has no caddy.test certificate (the http-01 scenario must pass first)"
    old=$(serial_of "$stored")
    env "${CADDY_ENV[@]}" CADDY_HTTP_PORT="$HTTP01_PORT" CADDY_HTTPS_PORT="$port" \
        caddy adapt --config "$TEMPLATES/http-01.Caddyfile" --adapter caddyfile >"$WORK/http-01.json" \
        || fail "caddy adapt failed"
    python3 -c '
import json, sys
config = json.load(open(sys.argv[1]))
for policy in config["apps"]["tls"]["automation"]["policies"]:
    policy["renewal_window_ratio"] = 0.9999
json.dump(config, open(sys.argv[2], "w"), indent=1)' "$WORK/http-01.json" "$WORK/renew.json"
    start_caddy "$WORK/renew.json" "$HTTP01_PORT" "$port"
    wait_served caddy.test "$port" "$old"
    check_site caddy.test "$port"
    new=$(serial_of "$WORK/caddy.test.leaf.pem")
    [ "$new" != "$old" ] || fail "caddy still serves the old certificate $old"
    grep -q '"msg":"certificate renewed successfully"' "$CADDY_LOG" || fail "caddy did not log a renewal"
    [ "$(serial_of "$stored")" = "$new" ] || fail "caddy's storage does not hold the renewed certificate"
    [ "$(db "select count(*) from certificates where $(only_name caddy.test)")" = 2 ] \
        || fail "basalt should have issued exactly two certificates for caddy.test"
}

scenario http-01 http01
scenario tls-alpn-01 tlsalpn01
scenario two-sites two_sites
scenario renew-on-restart renew
finish
