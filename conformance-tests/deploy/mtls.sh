#!/usr/bin/env bash
# The mTLS example (deploy/examples/mtls, docs/examples.md) run for real: one basalt with two
# client areas, `services` and `guests` (default_profile mtls-client), and the default area
# for servers (default_profile tls-server); lego obtains every certificate over http-01; a
# real nginx runs the example's mtls-server.conf (rewritten only for the test's ports and
# paths) with the CRLs fetched by refresh-crls.sh and the root's CRL from sign-root-crl.sh;
# curl is the client. One line per scenario (CLIENT=deploy-mtls):
#
#   setup           init, `area add` services and guests, serve (PKI listener on), lego
#                   certificates, CRLs, nginx with an upstream that echoes the X-Client-*
#                   headers and an impostor server (self-signed) on a second port
#   profiles        the client certificates have clientAuth only, the server's serverAuth only
#   accepted        a services client: 200, and the upstream saw its verified subject,
#                   issuer and serial; curl verified the server against basalt's root
#   other-area      a guests client (a valid basalt certificate): 403 from the area check
#   no-certificate  no client certificate: nginx's 400 "No required SSL certificate was sent"
#   foreign-client  a client certificate from another CA: 400 "The SSL certificate error"
#   server-checked  the client refuses the server with a CA bundle without basalt's root,
#                   and refuses an impostor server for the same name (curl exit 60)
#   revoked         a services client accepted, then `basalt certs revoke`; once its
#                   intermediate's CRL lists it, refresh-crls.sh reloads nginx and the client
#                   gets 400 "The SSL certificate error" (nginx logs "certificate revoked"),
#                   while the other services client still gets 200
#
# Ports: the fixed test set-up (../lib.sh), the PKI listener 127.0.0.1:14080 (PKI_PORT),
# nginx's mTLS server 127.0.0.1:14443 (TLS_PORT), its upstream 127.0.0.1:14081
# (UPSTREAM_PORT) and the impostor 127.0.0.1:14444 (IMPOSTOR_PORT).
source "$(dirname "$0")/../lib.sh"

WORK=$(mktemp -d)
chmod 755 "$WORK"
DATA=$WORK/data
CONFIG=$DATA/basalt.toml
source "$(dirname "$0")/../areas/common.sh"
source "$(dirname "$0")/common.sh"
CLIENT=deploy-mtls
EXAMPLE=$REPO/deploy/examples/mtls
PKI_PORT=${PKI_PORT:-14080}
TLS_PORT=${TLS_PORT:-14443}
UPSTREAM_PORT=${UPSTREAM_PORT:-14081}
IMPOSTOR_PORT=${IMPOSTOR_PORT:-14444}
PKI=http://127.0.0.1:$PKI_PORT
ACME=https://127.0.0.1:$ACME_PORT/acme
SERVER=api.mtls.test
NGX=$WORK/nginx
CERTS=$NGX/basalt
NGINX_OPTS="-p $NGX -c $NGX/nginx.conf -e $NGX/error.log"
export LEGO_CA_CERTIFICATES=$WORK/root.pem

trap 'stop_nginx; stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

# lego at AREA for NAME (http-01 on the fixed port): AREA NAME -> $WORK/lego-AREA/certificates/NAME.{crt,key}
obtain() {
    lego --server "$ACME/$1/directory" --accept-tos --email admin@example.org --path "$WORK/lego-$1" \
        --key-type ec256 --http --http.port "127.0.0.1:$HTTP01_PORT" --domains "$2" run >"$WORK/lego-$2.log" 2>&1 \
        || { cat "$WORK/lego-$2.log"; fail "lego could not obtain $2 from $1"; }
}
crt() { echo "$WORK/lego-$1/certificates/$2.crt"; }
key() { echo "$WORK/lego-$1/certificates/$2.key"; }
leaf() { openssl x509 -in "$(crt "$1" "$2")"; }
ekus_of() { openssl x509 -noout -ext extendedKeyUsage | tail -n +2 | sed 's/^ *//'; }
keyid_of_area() { keyid_of "$DATA/directories/$1/intermediate.pem"; }

# curl to the mTLS server as NAME of AREA (or with CURL_ARGS only): prints "CODE BODY".
call() {
    local -a args=(-s --cacert "$WORK/root.pem" --resolve "$SERVER:$TLS_PORT:127.0.0.1")
    [ $# -ge 2 ] && args+=(--cert "$(crt "$1" "$2")" --key "$(key "$1" "$2")")
    curl "${args[@]}" -w ' %{http_code}' "https://$SERVER:$TLS_PORT/whoami" 2>&1 | tr -d '\n'
}
code_of() { awk '{print $NF}' <<<"$1"; }

refresh_crls() {
    NGINX_OPTS=$NGINX_OPTS "$EXAMPLE/refresh-crls.sh" "$PKI" "$WORK/root.pem" "$WORK/root-crl.pem" "$CERTS/crls.pem" \
        "$(keyid_of_area services)" "$(keyid_of_area guests)" "$(keyid_of_area default)"
}

# Copies the example site to $NGX/sites/ with the test's ports, name and paths; fails if a
# production value is left.
render() {
    local dst=$NGX/sites/mtls-server.conf
    sed -e "s|listen 443 ssl;|listen 127.0.0.1:$TLS_PORT ssl;|" \
        -e "s|api\.corp\.internal|$SERVER|g" \
        -e "s|/etc/nginx/basalt|$CERTS|g" \
        -e "s|http://127\.0\.0\.1:8080|http://127.0.0.1:$UPSTREAM_PORT|" \
        "$EXAMPLE/mtls-server.conf" >"$dst"
    ! grep -nE 'corp\.internal|/etc/nginx|:8080|listen 443' "$dst" || fail "render() left production values in $dst"
}

set_up() {
    start_dns
    "$BIN/basalt" init --data "$DATA" >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; fail "basalt init"; }
    "$BIN/basalt" root --data "$DATA" >"$WORK/root.pem"
    sed -i -e '/^pki_listen *=/d' -e "/^\[server\]/a pki_listen = \"127.0.0.1:$PKI_PORT\"" "$CONFIG"
    local area
    for area in services guests; do
        adm area add "$area" "${ROOT_KEY[@]}" --allow ".$area.test" --challenge-types http-01 --no-wildcards \
            --pki-base-url "$PKI" >"$WORK/area-$area.log" 2>&1 || { cat "$WORK/area-$area.log"; fail "area add $area"; }
        # Client areas: every certificate is clientAuth only, whatever the ACME client.
        sed -i -e "/^\[directories\.$area\]/,/^\[/ s/^default_profile = .*/default_profile = \"mtls-client\"/" "$CONFIG"
    done
    # The server area: serverAuth only.
    sed -i -e "/^\[directories\.default\]/,/^\[/ s/^default_profile = .*/default_profile = \"tls-server\"/" \
        -e "/^\[directories\.default\]/a pki_base_url = \"$PKI\"" "$CONFIG"
    [ "$(grep -c '^default_profile = "mtls-client"' "$CONFIG")" = 2 ] && grep -q '^default_profile = "tls-server"' "$CONFIG" \
        || fail "could not set the areas' default_profile"
    spawn basalt "$BIN/basalt" serve --data "$DATA" --listen "127.0.0.1:$ACME_PORT" \
        --http01-port "$HTTP01_PORT" --tlsalpn01-port "$TLSALPN01_PORT" --resolver "$DNS_ADDR" \
        --egress-allow 127.0.0.0/8 --egress-allow ::1
    for area in default services guests; do
        wait_for 20 directory_up "$ACME/$area/directory" || { cat "$WORK/basalt.log"; fail "basalt does not serve $area"; }
    done

    obtain default "$SERVER"
    obtain services billing.services.test
    obtain services revoked.services.test
    obtain guests visitor.guests.test

    mkdir -p "$NGX/sites" "$NGX/tmp" "$CERTS"
    cp "$(crt default "$SERVER")" "$CERTS/server-fullchain.pem"
    cp "$(key default "$SERVER")" "$CERTS/server-key.pem"
    cp "$WORK/root.pem" "$CERTS/root.pem"
    # The root's CRL, signed with the offline root key as an operator would.
    "$EXAMPLE/sign-root-crl.sh" "$DATA/root.pem" "$DATA/offline/root-key.pem" "$DATA/offline/root-password.txt" \
        "$WORK/root-crl-state" "$WORK/root-crl.pem" 30 >"$WORK/root-crl.log" 2>&1 \
        || { cat "$WORK/root-crl.log"; fail "sign-root-crl.sh"; }
    # The impostor: a self-signed certificate for the same name.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=$SERVER" \
        -addext "subjectAltName=DNS:$SERVER" -keyout "$NGX/impostor.key" -out "$NGX/impostor.pem" 2>/dev/null
    # The mTLS site is the example's file rewritten by render(); beside it the test's
    # upstream and impostor.
    nginx_main_conf "$NGX" info >"$NGX/nginx.conf" <<CONF
    # The upstream service: says what nginx told it about the client.
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        default_type text/plain;
        return 200 "verify=\$http_x_client_verify|subject=\$http_x_client_subject|issuer=\$http_x_client_issuer|serial=\$http_x_client_serial|";
    }
    server {
        listen 127.0.0.1:$IMPOSTOR_PORT ssl;
        server_name $SERVER;
        ssl_certificate $NGX/impostor.pem;
        ssl_certificate_key $NGX/impostor.key;
        return 200 "impostor";
    }
CONF
    render
    # nginx needs ssl_crl's file to start.
    NO_RELOAD=1 refresh_crls >"$WORK/refresh-0.log" 2>&1 || { cat "$WORK/refresh-0.log"; fail "the first refresh-crls.sh"; }
    nginx $NGINX_OPTS -t -q || fail "nginx -t refuses the mTLS site"
    nginx $NGINX_OPTS || fail "nginx did not start: $(cat "$NGX/error.log")"
    wait_for 10 test -s "$NGX/nginx.pid" || fail "nginx wrote no pid file"
    [ "$(grep -c 'BEGIN X509 CRL' "$CERTS/crls.pem")" = 4 ] || fail "the CRL file does not hold 4 CRLs"
}

profiles() {
    local name
    for name in billing.services.test revoked.services.test; do
        [ "$(leaf services "$name" | ekus_of)" = "TLS Web Client Authentication" ] \
            || fail "$name's EKUs are '$(leaf services "$name" | ekus_of)', expected clientAuth only"
    done
    [ "$(leaf guests visitor.guests.test | ekus_of)" = "TLS Web Client Authentication" ] || fail "visitor's EKUs"
    [ "$(leaf default "$SERVER" | ekus_of)" = "TLS Web Server Authentication" ] \
        || fail "the server's EKUs are '$(leaf default "$SERVER" | ekus_of)', expected serverAuth only"
    # And OpenSSL agrees: the client leaf is no TLS server certificate.
    leaf services billing.services.test >"$WORK/billing-leaf.pem"
    openssl verify -purpose sslclient -CAfile "$WORK/root.pem" -untrusted "$DATA/directories/services/intermediate.pem" \
        "$WORK/billing-leaf.pem" >/dev/null || fail "the client leaf does not verify for sslclient"
    ! openssl verify -purpose sslserver -CAfile "$WORK/root.pem" -untrusted "$DATA/directories/services/intermediate.pem" \
        "$WORK/billing-leaf.pem" >/dev/null 2>&1 || fail "the client leaf verifies as a TLS server"
}

accepted() {
    local out serial issuer
    out=$(call services billing.services.test)
    echo "$out"
    [ "$(code_of "$out")" = 200 ] || fail "the services client got '$out'"
    serial=$(leaf services billing.services.test | openssl x509 -noout -serial | cut -d= -f2)
    issuer=$(leaf services billing.services.test | openssl x509 -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
    [[ $out == *"verify=SUCCESS|"* ]] || fail "the upstream did not see a verified client"
    [[ $out == *"subject=CN=billing.services.test|"* ]] || fail "the upstream did not see the client's subject"
    [[ $out == *"issuer=$issuer|"* ]] || fail "the upstream did not see the issuer $issuer"
    [[ ${out,,} == *"serial=${serial,,}|"* ]] || fail "the upstream did not see serial $serial"
}

other_area() {
    local out
    out=$(call guests visitor.guests.test)
    echo "$out"
    [ "$(code_of "$out")" = 403 ] || fail "the guests client got '$out', expected 403"
    [[ $out == *"not issued by the services area"* ]] || fail "the 403 is not the area check's"
}

no_certificate() {
    local out
    out=$(call)
    echo "$out"
    [ "$(code_of "$out")" = 400 ] || fail "no certificate got '$out', expected 400"
    [[ $out == *"No required SSL certificate was sent"* ]] || fail "not nginx's 'no certificate' page"
}

foreign_client() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=billing.services.test" \
        -addext "extendedKeyUsage=clientAuth" -keyout "$WORK/foreign.key" -out "$WORK/foreign.pem" 2>/dev/null
    local out
    out=$(curl -s --cacert "$WORK/root.pem" --resolve "$SERVER:$TLS_PORT:127.0.0.1" --cert "$WORK/foreign.pem" \
        --key "$WORK/foreign.key" -w ' %{http_code}' "https://$SERVER:$TLS_PORT/whoami" | tr -d '\n')
    echo "$out"
    [ "$(code_of "$out")" = 400 ] || fail "a foreign client certificate got '$out', expected 400"
    [[ $out == *"The SSL certificate error"* ]] || fail "not nginx's certificate error page"
}

server_checked() {
    local rc=0
    # A CA bundle without basalt's root (the impostor's self-signed certificate).
    curl -s -o /dev/null --cacert "$NGX/impostor.pem" --resolve "$SERVER:$TLS_PORT:127.0.0.1" \
        --cert "$(crt services billing.services.test)" --key "$(key services billing.services.test)" \
        "https://$SERVER:$TLS_PORT/whoami" || rc=$?
    [ "$rc" = 60 ] || fail "curl with another CA bundle exited $rc, expected 60 (server certificate not trusted)"
    rc=0
    curl -s -o /dev/null --cacert "$WORK/root.pem" --resolve "$SERVER:$IMPOSTOR_PORT:127.0.0.1" \
        --cert "$(crt services billing.services.test)" --key "$(key services billing.services.test)" \
        "https://$SERVER:$IMPOSTOR_PORT/" || rc=$?
    [ "$rc" = 60 ] || fail "curl to the impostor exited $rc, expected 60"
    # The impostor is reachable: only its certificate made curl refuse it.
    [ "$(curl -sk --resolve "$SERVER:$IMPOSTOR_PORT:127.0.0.1" "https://$SERVER:$IMPOSTOR_PORT/")" = impostor ] \
        || fail "the impostor does not answer"
}

workers_gone() { # PIDS: none of these processes is left
    local pid
    for pid in $1; do ! kill -0 "$pid" 2>/dev/null || return 1; done
}
crl_lists() { # KEYID SERIAL: the intermediate's CRL on the PKI listener lists SERIAL
    curl -sf "$PKI/crl/$1.crl" | openssl crl -inform DER -noout -text | tr -d ' :' | grep -qi "SerialNumber$2"
}

revoked() {
    local out serial
    out=$(call services revoked.services.test)
    [ "$(code_of "$out")" = 200 ] || fail "before revocation, the client got '$out'"
    serial=$(leaf services revoked.services.test | openssl x509 -noout -serial | cut -d= -f2)
    adm certs revoke "$serial" --reason keyCompromise || fail "basalt certs revoke $serial"
    wait_for 20 crl_lists "$(keyid_of_area services)" "$serial" || fail "the CRL never listed $serial"
    local workers
    workers=$(pgrep -P "$(nginx_pid)" | paste -sd' ')
    refresh_crls || fail "refresh-crls.sh"
    # Until the old worker has exited it may still accept connections with the old CRLs.
    wait_for 10 workers_gone "$workers" || fail "nginx's old workers ($workers) did not exit after the reload"
    out=$(call services revoked.services.test)
    echo "$out"
    [ "$(code_of "$out")" = 400 ] || fail "the revoked client got '$out', expected 400"
    [[ $out == *"The SSL certificate error"* ]] || fail "not nginx's certificate error page"
    grep -q "certificate revoked" "$NGX/error.log" || fail "nginx did not log 'certificate revoked'"
    [ "$(code_of "$(call services billing.services.test)")" = 200 ] || fail "the other services client is refused too"
    # Nothing changed since: a second refresh leaves the file and nginx alone.
    refresh_crls | grep -q unchanged || fail "a second refresh-crls.sh changed the file"
}

if ! command -v nginx >/dev/null || ! command -v lego >/dev/null; then
    skip setup "nginx or lego is not installed (.ci/run installs both from Debian)"
    exit 0
fi
for port in "$ACME_PORT" "$HTTP01_PORT" "$TLSALPN01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT" \
    "$PKI_PORT" "$TLS_PORT" "$UPSTREAM_PORT" "$IMPOSTOR_PORT"; do
    require_free_port "$port"
done
scenario setup set_up
[ -z "${FAILED:-}" ] || { finish; exit 1; }
scenario profiles profiles
scenario accepted accepted
scenario other-area other_area
scenario no-certificate no_certificate
scenario foreign-client foreign_client
scenario server-checked server_checked
scenario revoked revoked
finish
