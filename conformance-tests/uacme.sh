#!/usr/bin/env bash
# uacme (Debian package) against basalt: register, http-01 for two names, a wildcard through
# dns-01, tls-alpn-01 through uacme's own ualpn responder, forced renewal, an issuance that
# reuses the valid authorizations, revocation signed by the account key, account key
# rollover (`uacme newkey`) and account deactivation. Every certificate is checked with
# check_leaf. uacme-hook.sh answers the challenges: UACME_CHALLENGE picks the one type it
# accepts (it declines every other, and uacme moves on to the next challenge).
#
# uacme has no option for a trust anchor: it uses libcurl-gnutls' built-in CA bundle,
# /etc/ssl/certs/ca-certificates.crt. So every uacme run happens in a private mount
# namespace (unshare) where basalt's root is bind-mounted over that file; the machine's
# trust store is never touched.
source "$(dirname "$0")/lib.sh"
CLIENT="uacme-$(dpkg-query -W -f='${Version}' uacme 2>/dev/null | cut -d- -f1)"

WORK=$(mktemp -d)
cleanup() {
    [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null || true
    [ -n "${UALPN_PID:-}" ] && kill "$UALPN_PID" 2>/dev/null && wait "$UALPN_PID" 2>/dev/null || true
    stop_ca
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
start_ca

CONF=$WORK/uacme
export UACME_WEBROOT=$WORK/webroot UACME_HOOK_LOG=$WORK/hook.log UALPN_SOCK=$WORK/ualpn.sock DNS_CONTROL
mkdir -p "$UACME_WEBROOT"
touch "$UACME_HOOK_LOG"

# The http-01 responder: a static server over the webroot the hook writes tokens into.
python3 -m http.server --bind 127.0.0.1 --directory "$UACME_WEBROOT" "$HTTP01_PORT" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
# The tls-alpn-01 responder: ualpn in server mode (foreground), the hook adds and removes
# authorizations through its control socket. Other TLS connections would be proxied to the
# backend given with -c, which nothing here uses.
ualpn -v -b "127.0.0.1@$TLSALPN01_PORT" -c "127.0.0.1@$HTTP01_PORT" -P 0 -s "$UALPN_SOCK" \
    -p "$WORK/ualpn.pid" >"$WORK/ualpn.log" 2>&1 &
UALPN_PID=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$HTTP01_PORT/" && [ -S "$UALPN_SOCK" ] && break
    sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$HTTP01_PORT/" || { echo "error: the http-01 responder did not start" >&2; cat "$WORK/http.log" >&2; exit 1; }
[ -S "$UALPN_SOCK" ] || { echo "error: ualpn did not start" >&2; cat "$WORK/ualpn.log" >&2; exit 1; }

# A private mount namespace (as root; otherwise inside a user namespace too) in which
# basalt's root replaces libcurl's CA bundle; runs the command given.
UNSHARE=(unshare --mount --propagation private)
[ "$(id -u)" = 0 ] || UNSHARE=(unshare --map-root-user --mount --propagation private)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
trusting_basalt() {
    "${UNSHARE[@]}" sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' "$WORK/root.pem" "$CA_BUNDLE" "$@"
}
if ! trusting_basalt cmp -s "$WORK/root.pem" "$CA_BUNDLE"; then
    echo "error: cannot bind-mount basalt's root over $CA_BUNDLE in a private mount namespace" \
        "(${UNSHARE[*]}; needs util-linux, ca-certificates, and mount namespaces allowed)" >&2
    exit 1
fi

# Runs uacme (verbose, EC keys, our hook and confdir unless -c is given again) trusting only
# basalt's root; its output goes to stdout and $WORK/out.
uacme_run() {
    trusting_basalt uacme -v -a "$DIRECTORY" -t EC -h "$REPO/conformance-tests/uacme-hook.sh" -c "$CONF" "$@" 2>&1 \
        | tee "$WORK/out"
    return "${PIPESTATUS[0]}"
}

# uacme writes the leaf and then the chain into CONFDIR/IDENT/cert.pem.
check_uacme_cert() {
    local file="$CONF/$1/cert.pem"
    rm -f "$WORK/leaf.pem" "$WORK/chain.pem"
    [ -f "$file" ] || { fail "$file was not written"; return 1; }
    awk -v out="$WORK/leaf.pem" -v rest="$WORK/chain.pem" \
        'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} {print > (n==1 ? out : rest)}' "$file"
    check_leaf "$WORK/leaf.pem" "$WORK/chain.pem" "$2"
}

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
account_status() { db "select status from accounts where id = 1"; }
# Valid challenges of TYPE for the authorizations of NAME: "count|wildcard flags".
valid_challenges() {
    db "select count(*) || '|' || ifnull(group_concat(a.wildcard), '') from challenges c join authorizations a on a.id = c.authorization_id
        where c.challenge_type = '$1' and c.status = 'valid' and c.validated_at is not null
        and a.identifier_value = '$2' and a.status = 'valid'"
}
# The hook calls of the latest uacme run.
hook_calls() { tail -n +"$((HOOK_MARK + 1))" "$UACME_HOOK_LOG"; }
mark_hook() { HOOK_MARK=$(wc -l <"$UACME_HOOK_LOG"); }

register() {
    uacme_run -y new admin@example.org || fail "uacme new"
    [ -f "$CONF/private/key.pem" ] || fail "no account key was written"
    [ "$(db "select count(*) from accounts")" = 1 ] || fail "expected exactly one account"
    [ "$(account_status)" = valid ] || fail "the account is not valid"
    db "select contact from accounts where id = 1" | grep -q 'mailto:admin@example.org' \
        || fail "the account does not carry the contact mailto:admin@example.org"
    # uacme looks the key up with onlyReturnExisting first and refuses to register twice.
    if uacme_run new admin@example.org; then fail "a second 'uacme new' for the same key succeeded"; fi
    grep -q "Account already exists at https://127.0.0.1:$ACME_PORT/acme/default/account/" "$WORK/out" \
        || fail "the existing account was not found through onlyReturnExisting"
    [ "$(db "select count(*) from accounts")" = 1 ] || fail "the second 'uacme new' created an account"
}

issue_http01() {
    mark_hook
    UACME_CHALLENGE=http-01 uacme_run issue web.test www.web.test || fail "uacme issue (http-01)"
    check_uacme_cert web.test "DNS:web.test,DNS:www.web.test"
    [ "$(hook_calls | grep -c '^begin http-01 ')" = 2 ] || fail "expected two accepted http-01 challenges"
    [ "$(hook_calls | grep -c '^done http-01 ')" = 2 ] || fail "expected two completed http-01 challenges"
    for n in web.test www.web.test; do
        [ "$(valid_challenges http-01 "$n")" = "1|0" ] || fail "no single valid http-01 challenge for $n in the database"
    done
}

wildcard() {
    mark_hook
    UACME_CHALLENGE=dns-01 uacme_run issue '*.wild.test' wild.test || fail "uacme issue (dns-01, wildcard)"
    # uacme saves a wildcard certificate under the name without "*.".
    check_uacme_cert wild.test "DNS:*.wild.test,DNS:wild.test"
    [ "$(hook_calls | grep -c '^begin dns-01 wild.test$')" = 2 ] \
        || fail "expected two dns-01 challenges for the identifier value wild.test (wildcard without '*.')"
    # The wildcard authorization must offer no http-01 or tls-alpn-01 challenge at all.
    [ "$(db "select count(*) from challenges c join authorizations a on a.id = c.authorization_id
        where a.identifier_value = 'wild.test' and a.wildcard = 1 and c.challenge_type != 'dns-01'")" = 0 ] \
        || fail "the wildcard authorization offers challenges other than dns-01"
    [ "$(valid_challenges dns-01 wild.test | cut -d'|' -f1)" = 2 ] || fail "expected two valid dns-01 challenges for wild.test"
}

tlsalpn01() {
    mark_hook
    UACME_CHALLENGE=tls-alpn-01 uacme_run issue tls.test || fail "uacme issue (tls-alpn-01)"
    check_uacme_cert tls.test "DNS:tls.test"
    [ "$(hook_calls | grep -c '^done tls-alpn-01 tls.test$')" = 1 ] || fail "the tls-alpn-01 challenge was not completed"
    [ "$(valid_challenges tls-alpn-01 tls.test)" = "1|0" ] || fail "no valid tls-alpn-01 challenge for tls.test in the database"
}

renew() {
    local before
    before=$(serial_of "$CONF/web.test/cert.pem")
    UACME_CHALLENGE=http-01 uacme_run -f issue web.test www.web.test || fail "uacme -f issue"
    check_uacme_cert web.test "DNS:web.test,DNS:www.web.test"
    [ "$(serial_of "$CONF/web.test/cert.pem")" != "$before" ] || fail "renewal returned the same certificate"
    ls "$CONF"/web.test/cert-*.pem >/dev/null 2>&1 || fail "uacme did not back up the previous certificate"
    [ "$(db "select count(*) from certificates where names like '%web.test%'")" = 2 ] \
        || fail "expected two certificates for web.test in the database"
}

reuse_authorizations() {
    local before_serial before_challenges before_authz
    before_serial=$(serial_of "$CONF/web.test/cert.pem")
    before_challenges=$(db "select count(*) || '|' || ifnull(max(validated_at), 0) from challenges")
    before_authz=$(db "select count(*) from authorizations")
    # uacme backs the old certificate up as cert-<unix seconds>.pem and fails if that file
    # exists, which it does when renew ran within the same second.
    rm -f "$CONF"/web.test/cert-*.pem
    mark_hook
    # UACME_CHALLENGE=none: the hook declines every challenge, so only valid authorizations
    # can get this order issued.
    UACME_CHALLENGE=none uacme_run issue web.test www.web.test || fail "uacme issue with valid authorizations"
    check_uacme_cert web.test "DNS:web.test,DNS:www.web.test"
    [ "$(serial_of "$CONF/web.test/cert.pem")" != "$before_serial" ] || fail "no new certificate was issued"
    [ -z "$(hook_calls)" ] || fail "uacme was handed challenges: $(hook_calls | tr '\n' ';')"
    [ "$(db "select count(*) || '|' || ifnull(max(validated_at), 0) from challenges")" = "$before_challenges" ] \
        || fail "challenges were created or validated again"
    [ "$(db "select count(*) from authorizations")" = "$before_authz" ] || fail "new authorizations were created"
    # The latest order points at the authorizations validated earlier.
    [ "$(db "select count(*) from order_authorizations oa join authorizations a on a.id = oa.authorization_id
        where oa.order_id = (select max(id) from orders) and a.status = 'valid'")" = 2 ] \
        || fail "the latest order does not hold the two valid authorizations"
}

revoke() {
    local cert=$CONF/web.test/cert.pem serial
    serial=$(serial_of "$cert")
    cp "$cert" "$WORK/revoked.pem"
    uacme_run -r 4 revoke "$cert" || fail "uacme revoke"
    [ "$(db "select revoked_at is not null, revocation_reason from certificates where serial = '$serial'")" = "1|4" ] \
        || fail "the database does not mark $serial revoked for superseded (4)"
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 1 ] \
        || fail "exactly one certificate should be revoked"
    ls "$CONF"/web.test/revoked-*.pem >/dev/null 2>&1 || fail "uacme did not rename the revoked certificate"
    # A second revocation must be refused as alreadyRevoked.
    if uacme_run revoke "$WORK/revoked.pem"; then fail "a second revocation succeeded"; fi
    grep -q 'urn:ietf:params:acme:error:alreadyRevoked' "$WORK/out" || fail "a second revocation was not refused as alreadyRevoked"
}

key_rollover() {
    local before
    before=$(db "select key_thumbprint from accounts where id = 1")
    cp -r "$CONF" "$WORK/old-conf"
    uacme_run newkey || fail "uacme newkey"
    ls "$CONF"/private/key-*.pem >/dev/null 2>&1 || fail "uacme did not keep the old key"
    [ ! -e "$CONF/private/newkey.pem" ] || fail "uacme did not install the new key"
    cmp -s "$CONF/private/key.pem" "$WORK/old-conf/private/key.pem" && fail "the account key did not change"
    [ "$(db "select count(*) from accounts")" = 1 ] || fail "key rollover created an account"
    [ "$(db "select key_thumbprint from accounts where id = 1")" != "$before" ] || fail "the account's key in the database did not change"
    [ "$(account_status)" = valid ] || fail "the account is no longer valid"
    # The new key works: issue a certificate with it.
    UACME_CHALLENGE=http-01 uacme_run issue roll.test || fail "uacme issue with the new key"
    check_uacme_cert roll.test "DNS:roll.test"
    [ "$(db "select account_id from certificates where names like '%roll.test%'")" = 1 ] \
        || fail "the certificate does not belong to the account"
    # The old key is no longer an account.
    if UACME_CHALLENGE=http-01 uacme_run -c "$WORK/old-conf" issue old.test; then fail "the old key still issues"; fi
    # uacme prints this only for a 400 application/problem+json of type accountDoesNotExist.
    grep -q "no account associated with $WORK/old-conf/private/key.pem" "$WORK/out" \
        || fail "the old key is not reported as accountDoesNotExist"
}

deactivation() {
    local orders
    uacme_run deactivate || fail "uacme deactivate"
    [ "$(account_status)" = deactivated ] || fail "the account row is '$(account_status)', expected 'deactivated'"
    orders=$(db "select count(*) from orders")
    if UACME_CHALLENGE=http-01 uacme_run issue after.test; then fail "a deactivated account got a certificate"; fi
    [ "$(db "select count(*) from orders")" = "$orders" ] || fail "a deactivated account created an order"
    [ "$(db "select count(*) from certificates where names like '%after.test%'")" = 0 ] || fail "a certificate was issued for after.test"
    # RFC 8555 7.3.6: requests from a deactivated account get 401 unauthorized.
    grep -q 'urn:ietf:params:acme:error:unauthorized' "$WORK/out" || fail "the refusal was not an unauthorized problem"
}

scenario register register
scenario http-01-two-names issue_http01
scenario wildcard-dns-01 wildcard
scenario tls-alpn-01 tlsalpn01
scenario renew renew
scenario reuse-valid-authorizations reuse_authorizations
scenario revoke-by-account-key revoke
scenario key-rollover key_rollover
scenario deactivation deactivation
finish
