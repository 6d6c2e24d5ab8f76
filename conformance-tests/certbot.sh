#!/usr/bin/env bash
# certbot (Debian package) against basalt: register, issue for two names via http-01,
# renew, revoke, and a second revocation that must be refused as alreadyRevoked. Also lints
# every certificate of the PKI (root, intermediate, serving certificate).
source "$(dirname "$0")/lib.sh"
CLIENT="certbot-$(certbot --version 2>&1 | awk '{print $2}')"

WORK=$(mktemp -d)
trap 'stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
start_ca

CERTBOT=(certbot --non-interactive --server "$DIRECTORY"
    --config-dir "$WORK/certbot" --work-dir "$WORK/certbot-work" --logs-dir "$WORK/certbot-logs")
export REQUESTS_CA_BUNDLE="$WORK/root.pem"
LIVE="$WORK/certbot/live/ab"

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }

register() {
    "${CERTBOT[@]}" register --agree-tos -m admin@example.org || fail "register"
}

issue_http01() {
    "${CERTBOT[@]}" certonly --standalone --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 \
        -d a.test -d b.test --cert-name ab || fail "certonly"
    check_leaf "$LIVE/cert.pem" "$LIVE/chain.pem" "DNS:a.test,DNS:b.test"
}

renew() {
    local before
    before=$(serial_of "$LIVE/cert.pem")
    "${CERTBOT[@]}" renew --force-renewal --no-random-sleep-on-renew --cert-name ab || fail "renew"
    check_leaf "$LIVE/cert.pem" "$LIVE/chain.pem" "DNS:a.test,DNS:b.test"
    [ "$(serial_of "$LIVE/cert.pem")" != "$before" ] || fail "renewal returned the same certificate"
}

revoke() {
    local serial
    serial=$(serial_of "$LIVE/cert.pem")
    "${CERTBOT[@]}" revoke --cert-path "$LIVE/cert.pem" --reason keycompromise --no-delete-after-revoke \
        || fail "revoke"
    [ "$(db "select revoked_at is not null, revocation_reason from certificates where serial = '$serial'")" = "1|1" ] \
        || fail "the database does not mark $serial revoked for keyCompromise"
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 1 ] \
        || fail "exactly one certificate should be revoked"
    if "${CERTBOT[@]}" revoke --cert-path "$LIVE/cert.pem" --no-delete-after-revoke; then
        fail "a second revocation succeeded"
    fi
    # certbot 2.1 on Python 3.11 crashes while displaying any ACME error (josepy makes the
    # exception immutable), so the server's answer is read from certbot's debug log.
    grep -q '"type":"urn:ietf:params:acme:error:alreadyRevoked"' "$WORK/certbot-logs/letsencrypt.log" \
        || fail "a second revocation was not refused as alreadyRevoked"
}

pki_lint() {
    lint "$WORK/data/root.pem"
    lint "$WORK/data/directories/default/intermediate.pem"
    echo | openssl s_client -connect "127.0.0.1:$ACME_PORT" -servername localhost 2>/dev/null \
        | openssl x509 >"$WORK/serving.pem"
    lint "$WORK/serving.pem"
    openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/data/directories/default/intermediate.pem" \
        "$WORK/serving.pem" >/dev/null || fail "the serving certificate does not chain to the root"
}

scenario register register
scenario http-01-two-names issue_http01
scenario renew renew
scenario revoke-by-account-key revoke
scenario pki-lint pki_lint
finish
