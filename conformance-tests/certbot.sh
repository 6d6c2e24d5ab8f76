#!/usr/bin/env bash
# certbot 2.1 (Debian package, /usr/bin/certbot) against basalt: the scenarios of
# certbot-scenarios.sh (account, http-01, wildcard dns-01 through manual hooks, renewal,
# reuse of valid authorizations, revocation by account key and by certificate key, account
# deactivation), plus pkilint on every certificate of the PKI (root, intermediate, serving).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/certbot-scenarios.sh"
CERTBOT_BIN=/usr/bin/certbot
CLIENT="certbot-$("$CERTBOT_BIN" --version 2>&1 | awk '{print $2}')"

WORK=$(mktemp -d)
trap 'stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
start_ca

pki_lint() {
    local intermediate=$WORK/data/directories/default/intermediate.pem
    lint "$WORK/data/root.pem" || fail "pkilint: root"
    lint "$intermediate" || fail "pkilint: intermediate"
    echo | openssl s_client -connect "127.0.0.1:$ACME_PORT" -servername localhost 2>/dev/null \
        | openssl x509 >"$WORK/serving.pem" || fail "could not fetch the serving certificate"
    lint "$WORK/serving.pem" || fail "pkilint: serving certificate"
    openssl verify -CAfile "$WORK/root.pem" -untrusted "$intermediate" "$WORK/serving.pem" >/dev/null \
        || fail "the serving certificate does not chain to the root"
}

certbot_scenarios
scenario pki-lint pki_lint
finish
