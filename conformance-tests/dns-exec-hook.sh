#!/usr/bin/env bash
# lego's `--dns exec` hook: publishes or removes a dns-01 TXT record in basalt's test DNS
# server through its control API. lego calls: hook present|cleanup <fqdn> <value> [ttl].
set -euo pipefail
action=$1 fqdn=${2%.} value=$3
control=${DNS_CONTROL:-127.0.0.1:8055}
case "$action" in
    present) curl -sf -d "{\"host\":\"$fqdn\",\"value\":\"$value\"}" "http://$control/add-txt" ;;
    cleanup) curl -sf -d "{\"host\":\"$fqdn\"}" "http://$control/clear-txt" ;;
    *) exit 0 ;;
esac
