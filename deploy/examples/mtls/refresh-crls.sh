#!/bin/sh
# Fetches the newest CRL of each basalt intermediate from basalt's PKI listener, checks each
# against its intermediate (itself checked against the root), puts them with the root's CRL
# (sign-root-crl.sh) into the one PEM file nginx's ssl_crl reads, and reloads nginx when the
# file changed: nginx reads ssl_crl only at start and reload. Run it from a timer every few
# minutes (a revocation reaches the CRL within seconds, docs/areas.md).
#
#   refresh-crls.sh PKI_BASE_URL ROOT.pem ROOT_CRL.pem OUT.pem KEYID...
#
# KEYID: every intermediate whose certificates may reach this server, active and retiring
# (`basalt area list`); OpenSSL refuses a chain when the CRL of any level is missing.
# NGINX_OPTS (optional): extra nginx options (-p PREFIX -c FILE) for a non-system nginx.
# NO_RELOAD=1: only write the file (the first run, before nginx uses it).
set -eu
[ $# -ge 5 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
base=$1 root=$2 root_crl=$3 out=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl crl -in "$root_crl" -CAfile "$root" -noout 2>&1 | grep -q "verify OK" \
    || { echo "refresh-crls: $root_crl is not signed by $root" >&2; exit 1; }
openssl crl -in "$root_crl" >"$tmp/all.pem"
for keyid in "$@"; do
    curl -fsS --max-time 10 -o "$tmp/$keyid.pem.crt" "$base/intermediates/$keyid.pem"
    curl -fsS --max-time 10 -o "$tmp/$keyid.crl" "$base/crl/$keyid.crl"
    # Plain HTTP on purpose (a CRL must not depend on the TLS it protects): trust comes from
    # the signatures, checked here.
    openssl verify -CAfile "$root" "$tmp/$keyid.pem.crt" >/dev/null \
        || { echo "refresh-crls: intermediate $keyid does not chain to $root" >&2; exit 1; }
    openssl crl -inform DER -in "$tmp/$keyid.crl" -CAfile "$tmp/$keyid.pem.crt" -noout 2>&1 | grep -q "verify OK" \
        || { echo "refresh-crls: the CRL of $keyid is not signed by its intermediate" >&2; exit 1; }
    openssl crl -inform DER -in "$tmp/$keyid.crl" >>"$tmp/all.pem"
done

if [ -e "$out" ] && cmp -s "$tmp/all.pem" "$out"; then
    echo "refresh-crls: $out unchanged"
    exit 0
fi
cp "$tmp/all.pem" "$out.new"
mv "$out.new" "$out"
if [ -n "${NO_RELOAD:-}" ]; then
    echo "refresh-crls: $out written ($# intermediate CRLs + the root's)"
    exit 0
fi
NGINX_OPTS=${NGINX_OPTS:-}
# shellcheck disable=SC2086 # NGINX_OPTS is a list of options
nginx $NGINX_OPTS -t -q || { echo "refresh-crls: nginx -t fails; nginx keeps its old CRLs" >&2; exit 1; }
if [ -z "$NGINX_OPTS" ] && [ -d /run/systemd/system ] && systemctl is-active --quiet nginx; then
    systemctl reload nginx
else
    # shellcheck disable=SC2086
    nginx $NGINX_OPTS -s reload
fi
echo "refresh-crls: $out updated ($# intermediate CRLs + the root's), nginx reloaded"
