#!/usr/bin/env bash
# certbot --manual-auth-hook for dns-01: publishes CERTBOT_VALIDATION as a TXT record at
# _acme-challenge.CERTBOT_DOMAIN in basalt's test DNS server (control API at DNS_CONTROL).
# add-txt, not set-txt: for *.X and X in one order certbot calls this hook for both
# authorizations before asking for either validation, and both values share one name.
# Each call is recorded in CERTBOT_HOOK_LOG when that is set.
set -euo pipefail
: "${CERTBOT_DOMAIN:?certbot sets CERTBOT_DOMAIN}" "${CERTBOT_VALIDATION:?certbot sets CERTBOT_VALIDATION}"
control=${DNS_CONTROL:-127.0.0.1:8055}
curl -sf -d "{\"host\":\"_acme-challenge.$CERTBOT_DOMAIN\",\"value\":\"$CERTBOT_VALIDATION\"}" \
    "http://$control/add-txt"
[ -z "${CERTBOT_HOOK_LOG:-}" ] || echo "auth $CERTBOT_DOMAIN $CERTBOT_VALIDATION" >>"$CERTBOT_HOOK_LOG"
