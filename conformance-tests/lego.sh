#!/usr/bin/env bash
# lego (Debian package) against basalt: http-01, tls-alpn-01, dns-01 through the exec
# provider (TXT records set in the test DNS), a wildcard certificate, and a CAA record that
# forbids basalt making issuance fail with a caa error. Every certificate is checked with
# openssl and pkilint.
source "$(dirname "$0")/lib.sh"
CLIENT="lego-$(dpkg-query -W -f='${Version}' lego 2>/dev/null | cut -d- -f1)"

WORK=$(mktemp -d)
trap 'stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
start_ca

export LEGO_CA_CERTIFICATES="$WORK/root.pem"
# EXEC_SEQUENCE_INTERVAL: lego waits 60 s by default between sequential records of one name.
export EXEC_PATH="$REPO/conformance-tests/dns-exec-hook.sh" DNS_CONTROL EXEC_SEQUENCE_INTERVAL=1
LEGO=(lego --server "$DIRECTORY" --accept-tos --email admin@example.org --path "$WORK/lego")
HTTP=(--http --http.port "127.0.0.1:$HTTP01_PORT")
TLS=(--tls --tls.port "127.0.0.1:$TLSALPN01_PORT")
DNS=(--dns exec --dns.resolvers "$DNS_ADDR" --dns.disable-cp)

# Runs lego with the challenge flags before "--" for the names after it.
obtain() {
    local flags=() names=()
    while [ "$1" != "--" ]; do flags+=("$1"); shift; done
    shift
    for n in "$@"; do names+=(--domains "$n"); done
    "${LEGO[@]}" "${flags[@]}" "${names[@]}" run || fail "lego ${flags[*]} for $*"
}

# lego writes the leaf then the issuer into certificates/NAME.crt (a wildcard as _.name).
check_lego_cert() {
    local file="$WORK/lego/certificates/${1/\*/_}.crt"
    awk -v out="$WORK/leaf.pem" -v rest="$WORK/issuer.pem" \
        'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} {print > (n==1 ? out : rest)}' "$file"
    check_leaf "$WORK/leaf.pem" "$WORK/issuer.pem" "$2"
}

http01() { obtain "${HTTP[@]}" -- web.test www.web.test; check_lego_cert web.test "DNS:web.test,DNS:www.web.test"; }
tlsalpn01() { obtain "${TLS[@]}" -- tls.test; check_lego_cert tls.test "DNS:tls.test"; }
dns01() { obtain "${DNS[@]}" -- dns.test; check_lego_cert dns.test "DNS:dns.test"; }
wildcard() { obtain "${DNS[@]}" -- '*.wild.test' wild.test; check_lego_cert '*.wild.test' "DNS:*.wild.test,DNS:wild.test"; }

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }

# lego renews when fewer than --days are left: every 24-hour certificate qualifies.
renew() {
    local before
    before=$(serial_of "$WORK/lego/certificates/web.test.crt")
    "${LEGO[@]}" "${HTTP[@]}" --domains web.test --domains www.web.test renew --days 30 --no-random-sleep \
        || fail "lego renew"
    check_lego_cert web.test "DNS:web.test,DNS:www.web.test"
    [ "$(serial_of "$WORK/lego/certificates/web.test.crt")" != "$before" ] || fail "renewal returned the same certificate"
}

# Right after an issuance the account's authorizations are valid: a new order for the same
# names is ready at once and no challenge is validated again.
reuse() {
    local validated
    validated=$(db "select count(*) from challenges where status = 'valid'")
    obtain "${HTTP[@]}" -- web.test www.web.test
    check_lego_cert web.test "DNS:web.test,DNS:www.web.test"
    [ "$(db "select count(*) from challenges where status = 'valid'")" = "$validated" ] \
        || fail "challenges were validated again although valid authorizations existed"
}

revoke() {
    local serial
    serial=$(serial_of "$WORK/lego/certificates/dns.test.crt")
    "${LEGO[@]}" --domains dns.test revoke --reason 4 || fail "lego revoke"
    [ "$(db "select revocation_reason from certificates where serial = '$serial'")" = 4 ] \
        || fail "the database does not mark $serial revoked for superseded"
}

caa_forbids() {
    curl -sf -d '{"host":"forbidden.test","records":[{"flags":0,"tag":"issue","value":"other-ca.example"}]}' \
        "http://$DNS_CONTROL/set-caa"
    if "${LEGO[@]}" "${HTTP[@]}" --domains forbidden.test run >"$WORK/out" 2>&1; then
        fail "issuance for a name whose CAA forbids basalt succeeded"
    fi
    cat "$WORK/out"
    grep -q "urn:ietf:params:acme:error:caa" "$WORK/out" || fail "the refusal was not a caa problem"
    [ "$(db "select count(*) from certificates where names like '%forbidden.test%'")" = 0 ] \
        || fail "a certificate was issued for forbidden.test"
}

scenario http-01-two-names http01
scenario tls-alpn-01 tlsalpn01
scenario dns-01-exec dns01
scenario wildcard-dns-01 wildcard
scenario renew renew
scenario reuse-valid-authorizations reuse
scenario revoke-by-account-key revoke
scenario caa-forbids caa_forbids
skip ip-address-http-01 "lego 4.9 sends IP addresses as dns identifiers (no RFC 8738 support); covered by the x/crypto/acme client"
skip key-rollover "lego 4.9 has no account key rollover command"
skip deactivation "lego 4.9 has no account deactivation command"
finish
