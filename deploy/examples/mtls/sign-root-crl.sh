#!/bin/sh
# Signs the root's CRL (the list of revoked intermediates) with basalt's offline root key.
# Why: nginx's ssl_crl makes OpenSSL check revocation at every level of the chain
# (X509_V_FLAG_CRL_CHECK_ALL), so besides each intermediate's CRL, which basalt publishes on
# its PKI listener, a relying party needs a CRL from the root, which basalt does not make
# (docs/examples.md). Run it where the offline root key is, every DAYS/2 days; copy OUT to
# the relying parties (refresh-crls.sh adds it to nginx's CRL file).
#
#   sign-root-crl.sh ROOT_CERT ROOT_KEY PASSWORD_FILE STATE_DIR OUT.pem [DAYS]
#
# STATE_DIR keeps OpenSSL's database of revoked intermediates (index.txt) and the CRL number;
# to revoke an intermediate: openssl ca -config STATE_DIR/openssl.cnf -revoke INTERMEDIATE.pem
# -cert ROOT_CERT -keyfile ROOT_KEY -passin file:PASSWORD_FILE, then run this again.
set -eu
[ $# -ge 5 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
root_cert=$1 root_key=$2 password_file=$3 state=$4 out=$5 days=${6:-30}

mkdir -p "$state"
[ -e "$state/index.txt" ] || : >"$state/index.txt"
[ -e "$state/crlnumber" ] || echo 01 >"$state/crlnumber"
cat >"$state/openssl.cnf" <<CNF
# Written by sign-root-crl.sh: OpenSSL's "ca" settings for the root's CRL.
[ca]
default_ca = basalt_root
[basalt_root]
database = $state/index.txt
crlnumber = $state/crlnumber
default_md = sha384
crl_extensions = root_crl_extensions
[root_crl_extensions]
authorityKeyIdentifier = keyid:always
CNF
openssl ca -batch -gencrl -config "$state/openssl.cnf" -cert "$root_cert" -keyfile "$root_key" \
    -passin "file:$password_file" -crldays "$days" -out "$out.tmp"
openssl crl -in "$out.tmp" -CAfile "$root_cert" -noout 2>&1 | grep -q "verify OK" \
    || { echo "sign-root-crl: the new CRL does not verify against $root_cert" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "sign-root-crl: $out, valid $days days"
