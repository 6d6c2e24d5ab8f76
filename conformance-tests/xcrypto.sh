#!/usr/bin/env bash
# golang.org/x/crypto/acme (Debian's golang-golang-x-crypto-dev, the library Kubernetes
# cert-manager uses) against basalt, through the small Go program in xcrypto/main.go built
# offline in GOPATH mode. Account registration and lookup (ErrNoAccount for an unknown key),
# http-01 for two names, an IP address identifier (RFC 8738), tls-alpn-01, a wildcard through
# dns-01, renewal, reuse of valid authorizations, revocation by the account key and by the
# certificate key (a repeat answered alreadyRevoked), key rollover and deactivation. The
# program serves http-01 and tls-alpn-01 itself and publishes dns-01 TXT records through the
# test DNS control API. Every certificate is checked with openssl and pkilint.
source "$(dirname "$0")/lib.sh"
GOPKG=/usr/share/gocode/src/golang.org/x/crypto/acme
XCRYPTO_VERSION=$(dpkg-query -W -f='${Version}' golang-golang-x-crypto-dev 2>/dev/null | sed 's/^[0-9]*://; s/-[^-]*$//')
CLIENT="x-crypto-acme${XCRYPTO_VERSION:+-$XCRYPTO_VERSION}"

SCENARIOS=(register http-01-two-names ip-address-http-01 tls-alpn-01 wildcard-dns-01 renew
    reuse-valid-authorizations revoke-by-account-key revoke-by-certificate-key key-rollover deactivation)
if ! command -v go >/dev/null || [ ! -d "$GOPKG" ]; then
    for s in "${SCENARIOS[@]}"; do skip "$s" "go or golang-golang-x-crypto-dev not installed"; done
    exit 0
fi

WORK=$(mktemp -d)
trap 'stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

# Offline build against Debian's x/crypto (GOPATH mode, no module download); the build cache
# persists so reruns take about a second.
GOCACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/basalt-conformance/go"
mkdir -p "$GOCACHE_DIR"
(cd "$REPO/conformance-tests" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$GOCACHE_DIR" \
    GOPROXY=off CGO_ENABLED=0 go build -o "$WORK/xcrypto" ./xcrypto) || { echo "error: building xcrypto failed" >&2; exit 1; }

start_ca

XC=("$WORK/xcrypto" -dir "$DIRECTORY" -root "$WORK/root.pem" -account-key "$WORK/account.pem"
    -http01-port "$HTTP01_PORT" -tlsalpn01-port "$TLSALPN01_PORT" -dns-control "$DNS_CONTROL" -timeout 30s)

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
# The database's serial column, whatever case it uses.
revocation_of() { db "select revoked_at is not null, revocation_reason from certificates where lower(serial) = '$1'"; }

# Issues for the names after the flags and checks the leaf: issue CHALLENGE PREFIX WANT_NAMES NAME...
issue() {
    local chal=$1 prefix=$2 want=$3; shift 3
    local rc=0
    "${XC[@]}" issue -challenge "$chal" -out "$WORK/$prefix" "$@" 2>"$WORK/$prefix.log" || rc=$?
    cat "$WORK/$prefix.log" >&2
    [ "$rc" = 0 ] || fail "x/crypto issuance for $*"
    check_leaf "$WORK/$prefix.leaf.pem" "$WORK/$prefix.chain.pem" "$want"
}

register() {
    "${XC[@]}" register -contact mailto:admin@example.org >"$WORK/account-url" || fail "register"
    grep -q '^https://127.0.0.1:'"$ACME_PORT"'/acme/default/' "$WORK/account-url" \
        || fail "account URL '$(cat "$WORK/account-url")' is not under the directory"
    [ "$(db "select count(*) from accounts")" = 1 ] \
        || fail "expected exactly one account (the unknown key's lookup must not create one)"
}

http01() { issue http-01 ab "DNS:a.test,DNS:b.test" a.test b.test; }

ip_http01() {
    issue http-01 ip "IPAddress:127.0.0.1" 127.0.0.1
    [ "$(openssl x509 -in "$WORK/ip.leaf.pem" -noout -subject -nameopt RFC2253)" != "subject=CN=127.0.0.1" ] \
        || fail "an IP address must not be put in the CN"
}

tlsalpn01() { issue tls-alpn-01 tls "DNS:tls.test" tls.test; }

wildcard() {
    issue dns-01 wild "DNS:*.wild.test,DNS:wild.test" '*.wild.test' wild.test
    grep -c 'published TXT _acme-challenge.wild.test ' "$WORK/wild.log" | grep -qx 2 \
        || fail "expected two TXT values published at _acme-challenge.wild.test"
}

renew() {
    cp "$WORK/ab.leaf.pem" "$WORK/ab-first.leaf.pem"
    cp "$WORK/ab.key.pem" "$WORK/ab-first.key.pem"
    issue http-01 ab "DNS:a.test,DNS:b.test" a.test b.test
    [ "$(serial_of "$WORK/ab.leaf.pem")" != "$(serial_of "$WORK/ab-first.leaf.pem")" ] \
        || fail "renewal returned the same certificate"
    [ "$(db "select count(*) from certificates where names like '%\"a.test\"%' and names like '%\"b.test\"%'")" = 2 ] \
        || fail "expected two certificates for a.test and b.test in the database"
}

reuse() {
    cp "$WORK/ab.authz" "$WORK/ab-renew.authz"
    "${XC[@]}" issue -expect-reused -challenge http-01 -out "$WORK/reuse" b.test a.test \
        || fail "an order right after the last one was not immediately ready"
    check_leaf "$WORK/reuse.leaf.pem" "$WORK/reuse.chain.pem" "DNS:a.test,DNS:b.test"
    [ "$(sort "$WORK/reuse.authz")" = "$(sort "$WORK/ab-renew.authz")" ] \
        || fail "the order does not reuse the previous order's authorizations"
}

revoke_account_key() {
    local serial
    serial=$(serial_of "$WORK/ab-first.leaf.pem")
    "${XC[@]}" revoke -cert "$WORK/ab-first.leaf.pem" -reason 4 || fail "revocation (superseded) by the account key"
    [ "$(revocation_of "$serial")" = "1|4" ] || fail "the database does not mark $serial revoked as superseded (4)"
    # A repeat: x/crypto reports success, the CA must have answered alreadyRevoked.
    "${XC[@]}" revoke -expect-already-revoked -cert "$WORK/ab-first.leaf.pem" -reason 1 \
        || fail "a second revocation was not answered alreadyRevoked"
    [ "$(revocation_of "$serial")" = "1|4" ] || fail "the second revocation changed the first one's reason"
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 1 ] \
        || fail "exactly one certificate should be revoked"
}

revoke_certificate_key() {
    local serial
    serial=$(serial_of "$WORK/tls.leaf.pem")
    "${XC[@]}" revoke -cert "$WORK/tls.leaf.pem" -cert-key "$WORK/tls.key.pem" -reason 1 \
        || fail "revocation (keyCompromise) signed by the certificate's key"
    [ "$(revocation_of "$serial")" = "1|1" ] || fail "the database does not mark $serial revoked for keyCompromise (1)"
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 2 ] \
        || fail "exactly two certificates should be revoked"
}

key_rollover() {
    "${XC[@]}" rollover -old-key-out "$WORK/account-old.pem" || fail "key rollover"
    [ "$(db "select count(*) from accounts")" = 1 ] || fail "a key rollover must not create an account"
    # The new key keeps issuing; the order is for names the account already holds.
    "${XC[@]}" issue -expect-reused -challenge http-01 -out "$WORK/rolled" a.test b.test \
        || fail "issuance with the new key"
    check_leaf "$WORK/rolled.leaf.pem" "$WORK/rolled.chain.pem" "DNS:a.test,DNS:b.test"
}

deactivation() {
    "${XC[@]}" deactivate -pending-order-out "$WORK/pending-order" || fail "deactivation"
    [ "$(db "select status from accounts")" = deactivated ] || fail "the database does not show the account deactivated"
    # RFC 8555 7.3.6: the server should cancel the account's pending operations.
    local order
    order=$(sed 's#.*/##' "$WORK/pending-order")
    [ "$(db "select status from orders where id = '$order'")" = invalid ] \
        || fail "the order left pending before deactivation is not invalid"
    [ "$(db "select count(*) from orders where status in ('pending', 'ready')")" = 0 ] \
        || fail "the deactivated account still has pending or ready orders"
}

scenario register register
scenario http-01-two-names http01
scenario ip-address-http-01 ip_http01
scenario tls-alpn-01 tlsalpn01
scenario wildcard-dns-01 wildcard
scenario renew renew
scenario reuse-valid-authorizations reuse
scenario revoke-by-account-key revoke_account_key
scenario revoke-by-certificate-key revoke_certificate_key
scenario key-rollover key_rollover
scenario deactivation deactivation
finish
