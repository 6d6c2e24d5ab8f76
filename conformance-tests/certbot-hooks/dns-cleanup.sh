#!/usr/bin/env bash
# certbot --manual-cleanup-hook for dns-01: removes the TXT records at
# _acme-challenge.CERTBOT_DOMAIN from basalt's test DNS server. certbot runs the cleanup hooks
# only after every validation of the order finished, so clearing the whole name is safe.
set -euo pipefail
: "${CERTBOT_DOMAIN:?certbot sets CERTBOT_DOMAIN}"
control=${DNS_CONTROL:-127.0.0.1:8055}
curl -sf -d "{\"host\":\"_acme-challenge.$CERTBOT_DOMAIN\"}" "http://$control/clear-txt"
[ -z "${CERTBOT_HOOK_LOG:-}" ] || echo "cleanup $CERTBOT_DOMAIN ${CERTBOT_VALIDATION:-}" >>"$CERTBOT_HOOK_LOG"
