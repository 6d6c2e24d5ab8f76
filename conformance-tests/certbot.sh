#!/usr/bin/env bash
# certbot (Debian package) against basalt: register, issue for two names via http-01,
# renew, revoke, and a second revocation that must be refused as alreadyRevoked.
# Also lints every certificate basalt issued in the run (root, intermediate, serving, leaves).
source "$(dirname "$0")/lib.sh"

WORK=$(mktemp -d)
trap 'stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
start_ca

CERTBOT=(certbot --non-interactive --server "$DIRECTORY"
    --config-dir "$WORK/certbot" --work-dir "$WORK/certbot-work" --logs-dir "$WORK/certbot-logs")
export REQUESTS_CA_BUNDLE="$WORK/root.pem"

"${CERTBOT[@]}" register --agree-tos -m admin@example.org >"$WORK/out" 2>&1 || { cat "$WORK/out"; fail "register"; }
"${CERTBOT[@]}" certonly --standalone --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 \
    -d a.test -d b.test --cert-name ab >"$WORK/out" 2>&1 || { cat "$WORK/out"; fail "certonly"; }
LIVE="$WORK/certbot/live/ab"
check_leaf "$LIVE/cert.pem" "$LIVE/chain.pem" "DNS:a.test,DNS:b.test"
first_serial=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')

"${CERTBOT[@]}" renew --force-renewal --no-random-sleep-on-renew --cert-name ab >"$WORK/out" 2>&1 || { cat "$WORK/out"; fail "renew"; }
check_leaf "$LIVE/cert.pem" "$LIVE/chain.pem" "DNS:a.test,DNS:b.test"
serial=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
[ "$serial" != "$first_serial" ] || fail "renewal returned the same certificate"

"${CERTBOT[@]}" revoke --cert-path "$LIVE/cert.pem" --reason keycompromise --no-delete-after-revoke \
    >"$WORK/out" 2>&1 || { cat "$WORK/out"; fail "revoke"; }
row=$(db "select revoked_at is not null, revocation_reason from certificates where serial = '${serial#0}' or serial = '$serial'")
[ "$row" = "1|1" ] || fail "the database does not mark $serial revoked for keyCompromise (got '$row')"
[ "$(db "select count(*) from certificates where revoked_at is not null")" = 1 ] || fail "exactly one certificate should be revoked"
if "${CERTBOT[@]}" revoke --cert-path "$LIVE/cert.pem" --no-delete-after-revoke >"$WORK/out" 2>&1; then
    fail "a second revocation succeeded"
fi
# certbot 2.1 on Python 3.11 crashes while displaying any ACME error (josepy makes the
# exception immutable), so the server's answer is read from certbot's debug log instead.
grep -q '"type":"urn:ietf:params:acme:error:alreadyRevoked"' "$WORK/certbot-logs/letsencrypt.log" \
    || { cat "$WORK/out"; fail "a second revocation was not refused as alreadyRevoked"; }

# Every certificate of the PKI is clean under pkilint, the serving certificate included.
lint "$WORK/data/root.pem"
lint "$WORK/data/directories/default/intermediate.pem"
echo | openssl s_client -connect "127.0.0.1:$ACME_PORT" -servername localhost 2>/dev/null \
    | openssl x509 >"$WORK/serving.pem"
lint "$WORK/serving.pem" localhost
openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/data/directories/default/intermediate.pem" "$WORK/serving.pem" >/dev/null \
    || fail "the serving certificate does not chain to the root"
