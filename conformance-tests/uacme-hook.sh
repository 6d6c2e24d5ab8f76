#!/usr/bin/env bash
# uacme's challenge hook for the conformance tests. uacme calls it as
#   hook begin|done|failed TYPE IDENT TOKEN KEY_AUTH
# (for dns-01 and tls-alpn-01 KEY_AUTH is already base64url(SHA-256(key authorization))).
# It accepts only the challenge type named in UACME_CHALLENGE (http-01, dns-01 or
# tls-alpn-01; anything else declines every challenge): a non-zero exit on `begin` declines
# the challenge, and uacme then tries the authorization's next one.
#   http-01:     writes KEY_AUTH to UACME_WEBROOT/.well-known/acme-challenge/TOKEN (the script
#                serves UACME_WEBROOT on 127.0.0.1:$HTTP01_PORT)
#   dns-01:      publishes KEY_AUTH as TXT at _acme-challenge.IDENT in the test DNS (control
#                API at DNS_CONTROL)
#   tls-alpn-01: hands IDENT and KEY_AUTH to the running ualpn server (socket UALPN_SOCK)
# Every call is appended to UACME_HOOK_LOG as "METHOD TYPE IDENT" so scenarios can check
# which challenges uacme took on.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 begin|done|failed TYPE IDENT TOKEN KEY_AUTH" >&2; exit 85; }
method=$1 type=$2 ident=$3 token=$4 auth=$5

echo "$method $type $ident" >>"${UACME_HOOK_LOG:-/dev/null}"
[ "$type" = "${UACME_CHALLENGE:-}" ] || exit 1

case "$method:$type" in
    begin:http-01)
        mkdir -p "$UACME_WEBROOT/.well-known/acme-challenge"
        printf '%s' "$auth" >"$UACME_WEBROOT/.well-known/acme-challenge/$token"
        ;;
    done:http-01 | failed:http-01)
        rm -f "$UACME_WEBROOT/.well-known/acme-challenge/$token"
        ;;
    begin:dns-01)
        curl -sf -d "{\"host\":\"_acme-challenge.$ident\",\"value\":\"$auth\"}" "http://$DNS_CONTROL/add-txt" >/dev/null
        ;;
    done:dns-01 | failed:dns-01)
        curl -sf -d "{\"host\":\"_acme-challenge.$ident\"}" "http://$DNS_CONTROL/clear-txt" >/dev/null
        ;;
    begin:tls-alpn-01)
        [ "$(echo "auth $ident $auth" | ualpn -s "$UALPN_SOCK")" = OK ]
        ;;
    done:tls-alpn-01 | failed:tls-alpn-01)
        [ "$(echo "unauth $ident" | ualpn -s "$UALPN_SOCK")" = OK ]
        ;;
    *)
        echo "$0: unexpected method $method" >&2
        exit 1
        ;;
esac
