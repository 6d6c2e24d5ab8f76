# The certbot scenarios, shared by certbot.sh (Debian's certbot 2.1) and certbot-pypi.sh (the
# newest certbot from PyPI). Sourced after lib.sh; the sourcing script sets CLIENT and
# CERTBOT_BIN, starts the CA, then calls `certbot_scenarios`.
#
# Scenarios build on each other in the order of CERTBOT_SCENARIOS: one account registered
# first; `ab` (a.test, b.test, http-01) is renewed and later revoked with the account key;
# `wild` (*.wild.test, wild.test, dns-01) is ordered again at once (reusing its valid
# authorizations) and later revoked with its own key; the account is deactivated last.

CERTBOT_SCENARIOS=(register http-01-two-names wildcard-dns-01 renew reuse-valid-authorizations
    revoke-by-account-key revoke-by-certificate-key key-rollover deactivation tls-alpn-01)
CERTBOT_HOOKS="$REPO/conformance-tests/certbot-hooks"

# Runs every scenario against the CA started by the sourcing script.
certbot_scenarios() {
    export REQUESTS_CA_BUNDLE="$WORK/root.pem" DNS_CONTROL CERTBOT_HOOK_LOG="$WORK/hooks.log"
    CB_LOG="$WORK/certbot-logs/letsencrypt.log"
    LIVE="$WORK/certbot/live"
    scenario register cb_register
    scenario http-01-two-names cb_http01
    scenario wildcard-dns-01 cb_wildcard
    scenario renew cb_renew
    scenario reuse-valid-authorizations cb_reuse
    scenario revoke-by-account-key cb_revoke_account_key
    scenario revoke-by-certificate-key cb_revoke_certificate_key
    skip key-rollover "certbot has no account key rollover: update_account only changes the contact e-mail, and its python-acme client has no keyChange request"
    scenario deactivation cb_deactivation
    skip tls-alpn-01 "certbot has no tls-alpn-01 authenticator (standalone and manual answer http-01 and dns-01 only)"
}

# Reports every scenario as skipped, for when this certbot cannot be run at all.
certbot_scenarios_skip_all() {
    local name
    for name in "${CERTBOT_SCENARIOS[@]}"; do skip "$name" "$1"; done
}

# --max-log-backups: certbot's own rotation, so that letsencrypt.log holds the last run only
# (Debian's /etc/letsencrypt/cli.ini turns it off in favour of logrotate).
cb() {
    "$CERTBOT_BIN" --non-interactive --server "$DIRECTORY" --config-dir "$WORK/certbot" \
        --work-dir "$WORK/certbot-work" --logs-dir "$WORK/certbot-logs" --max-log-backups 1000 "$@"
}

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }

# Checks that the database holds the certificate in FILE (same serial, same DER).
in_db() {
    local serial der
    serial=$(serial_of "$1")
    der=$(openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n')
    [ "$(db "select lower(hex(der)) from certificates where lower(serial) = '$serial'")" = "$der" ] \
        || fail "the database has no certificate with serial $serial and the DER of $1"
}

# The account URL of certbot's (only) account, from its regr.json.
account_url() {
    local regr
    regr=$(find "$WORK/certbot/accounts" -name regr.json)
    [ "$(echo "$regr" | grep -c .)" = 1 ] || fail "expected one certbot account, found: $regr"
    jq -r .uri "$regr"
}
account_id() { account_url | sed 's|.*/||'; }

# The ACME exchanges in certbot's debug log of its last run, one line per POST whose URL
# matches the regex $1:
#   <HTTP status> <kid|jwk> <problem type or -> <status of the resource in the body or ->
# With `jwk-matches CERT`, instead checks that every such request was signed with a `jwk` that
# is CERT's public key, and prints it.
# certbot 2.1 on Python 3.11 crashes while displaying any ACME error (josepy makes the
# exception immutable), so the server's answers are always read from this log.
exchanges() {
    python3 - "$CB_LOG" "$@" <<'EOF'
import base64, json, re, subprocess, sys

log, pattern = open(sys.argv[1]).read(), re.compile(sys.argv[2])
cert = sys.argv[4] if len(sys.argv) > 3 and sys.argv[3] == "jwk-matches" else None
records = re.split(r"^(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+:)", log, flags=re.M)

def b64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

request, found = None, 0
for record in records:
    m = re.match(r"[^\n]*:Sending POST request to (\S+):\n(.*)", record, re.S)
    if m:
        request = (m.group(1), json.loads(b64(json.loads(m.group(2))["protected"])))
        continue
    m = re.match(r"[^\n]*:Received response:\nHTTP (\d+)\n.*?\n\n(.*)", record, re.S)
    if not (m and request):
        continue
    url, protected = request
    request = None
    if not pattern.search(url):
        continue
    found += 1
    try:
        body = json.loads(m.group(2))
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if cert:
        jwk = protected.get("jwk")
        if jwk is None or "kid" in protected:
            sys.exit(f"{url} was signed with kid {protected.get('kid')}, not with a jwk")
        der = subprocess.run(f"openssl x509 -in '{cert}' -noout -pubkey | openssl pkey -pubin -outform DER",
                             shell=True, check=True, capture_output=True).stdout
        parts = [jwk[k] for k in ("x", "y", "n", "e") if k in jwk]
        if not all(b64(p) in der for p in parts[:2]):
            sys.exit(f"the jwk {jwk} of {url} is not the public key of {cert}")
        print(json.dumps(jwk, sort_keys=True))
        continue
    print(m.group(1), "jwk" if "jwk" in protected else "kid" if "kid" in protected else "none",
          body.get("type", "-"), body["status"] if isinstance(body.get("status"), str) else "-")
if cert and not found:
    sys.exit(f"no POST to a URL matching {pattern.pattern} in {sys.argv[1]}")
EOF
}

cb_register() {
    cb register --agree-tos -m admin@example.org || fail "certbot register failed"
    local id
    id=$(account_id)
    [ "$(db "select count(*) from accounts")" = 1 ] || fail "the CA should hold exactly one account"
    [ "$(db "select status from accounts where id = '$id'")" = valid ] \
        || fail "account $id is not valid in the database"
    db "select contact from accounts where id = '$id'" | grep -q '"mailto:admin@example.org"' \
        || fail "account $id does not have the contact mailto:admin@example.org"
    [ "$(exchanges '/new-?account$')" = "201 jwk - valid" ] \
        || fail "newAccount did not answer 201 with a valid account: $(exchanges '/new-?account$')"
}

# Prints the validated challenges of NAME as sorted "wildcard:type" pairs, comma-separated.
validated() {
    db "select group_concat(x, ',') from (select a.wildcard || ':' || c.challenge_type as x
        from challenges c join authorizations a on a.id = c.authorization_id
        where c.status = 'valid' and a.identifier_value = '$1' order by x)"
}

cb_http01() {
    cb certonly --standalone --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 \
        -d a.test -d b.test --cert-name ab || fail "certbot certonly --standalone failed"
    check_leaf "$LIVE/ab/cert.pem" "$LIVE/ab/chain.pem" "DNS:a.test,DNS:b.test"
    in_db "$LIVE/ab/cert.pem"
    [ "$(validated a.test)" = "0:http-01" ] && [ "$(validated b.test)" = "0:http-01" ] \
        || fail "expected one validated http-01 challenge for each of a.test and b.test"
}

cb_wildcard() {
    : >"$CERTBOT_HOOK_LOG"
    cb certonly --manual --preferred-challenges dns \
        --manual-auth-hook "$CERTBOT_HOOKS/dns-auth.sh" --manual-cleanup-hook "$CERTBOT_HOOKS/dns-cleanup.sh" \
        -d '*.wild.test' -d wild.test --cert-name wild || fail "certbot certonly --manual (dns) failed"
    cat "$CERTBOT_HOOK_LOG"
    check_leaf "$LIVE/wild/cert.pem" "$LIVE/wild/chain.pem" "DNS:*.wild.test,DNS:wild.test"
    in_db "$LIVE/wild/cert.pem"
    [ "$(validated wild.test)" = "0:dns-01,1:dns-01" ] \
        || fail "expected validated dns-01 challenges for wild.test and *.wild.test, got '$(validated wild.test)'"
    # Both values published at the one name _acme-challenge.wild.test, then cleaned up.
    [ "$(grep '^auth wild.test ' "$CERTBOT_HOOK_LOG" | cut -d' ' -f3 | sort -u | wc -l)" = 2 ] \
        || fail "the auth hook did not publish two values for wild.test"
    grep -q '^cleanup wild.test' "$CERTBOT_HOOK_LOG" || fail "the cleanup hook did not run"
}

cb_renew() {
    local before
    before=$(serial_of "$LIVE/ab/cert.pem")
    cb renew --force-renewal --no-random-sleep-on-renew --cert-name ab || fail "certbot renew failed"
    check_leaf "$LIVE/ab/cert.pem" "$LIVE/ab/chain.pem" "DNS:a.test,DNS:b.test"
    in_db "$LIVE/ab/cert.pem"
    [ "$(serial_of "$LIVE/ab/cert.pem")" != "$before" ] || fail "renewal returned the same certificate"
    [ "$(db "select count(*) from certificates where names like '%a.test%'")" = 2 ] \
        || fail "the database should hold two certificates for a.test"
}

# The same names as `wild`, ordered again at once under another lineage: the order must reuse
# the two valid authorizations, so no challenge is asked for (the auth hook refuses) and none
# is validated.
cb_reuse() {
    local authzs challenges last_order
    authzs=$(db "select count(*) from authorizations")
    challenges=$(db "select count(*) from challenges where status != 'pending'")
    last_order=$(db "select max(id) from orders")
    : >"$CERTBOT_HOOK_LOG"
    cb certonly --manual --preferred-challenges dns --manual-auth-hook "$CERTBOT_HOOKS/refuse-auth.sh" \
        -d '*.wild.test' -d wild.test --cert-name wild-again || fail "certbot certonly failed"
    [ ! -s "$CERTBOT_HOOK_LOG" ] || fail "certbot was asked for a challenge: $(cat "$CERTBOT_HOOK_LOG")"
    check_leaf "$LIVE/wild-again/cert.pem" "$LIVE/wild-again/chain.pem" "DNS:*.wild.test,DNS:wild.test"
    in_db "$LIVE/wild-again/cert.pem"
    [ "$(db "select count(*) from authorizations")" = "$authzs" ] \
        || fail "the new order created authorizations instead of reusing the valid ones"
    [ "$(db "select count(*) from challenges where status != 'pending'")" = "$challenges" ] \
        || fail "a challenge was validated again"
    [ "$(db "select count(*) from orders where id > $last_order")" = 1 ] \
        || fail "expected exactly one new order"
    [ "$(db "select count(*) from order_authorizations oa join authorizations a on a.id = oa.authorization_id
            where oa.order_id = (select max(id) from orders) and a.status = 'valid' and a.identifier_value = 'wild.test'")" = 2 ] \
        || fail "the new order does not hold the two valid wild.test authorizations"
    # certbot saw both authorizations valid in the order (so had nothing to answer).
    [ "$(exchanges '/authz' | sort -u)" = "200 kid - valid" ] \
        || fail "the order's authorizations were not all valid when certbot fetched them: $(exchanges '/authz')"
}

cb_revoke_account_key() {
    local serial
    serial=$(serial_of "$LIVE/ab/cert.pem")
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 0 ] \
        || fail "a certificate is already revoked"
    cb revoke --cert-path "$LIVE/ab/cert.pem" --reason keycompromise --no-delete-after-revoke \
        || fail "certbot revoke failed"
    [ "$(exchanges '/revoke')" = "200 kid - -" ] \
        || fail "revokeCert signed with the account key (kid) did not answer 200: $(exchanges '/revoke')"
    [ "$(db "select revoked_at is not null, revocation_reason from certificates where lower(serial) = '$serial'")" = "1|1" ] \
        || fail "the database does not mark $serial revoked for keyCompromise"
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 1 ] \
        || fail "exactly one certificate should be revoked"
    local revoked_at
    revoked_at=$(db "select revoked_at from certificates where lower(serial) = '$serial'")
    if cb revoke --cert-path "$LIVE/ab/cert.pem" --reason superseded --no-delete-after-revoke; then
        fail "a second revocation succeeded"
    fi
    exchanges '/revoke' | grep -q '^400 kid urn:ietf:params:acme:error:alreadyRevoked ' \
        || fail "a second revocation was not refused as alreadyRevoked: $(exchanges '/revoke')"
    [ "$(db "select revoked_at || '|' || revocation_reason from certificates where lower(serial) = '$serial'")" = "$revoked_at|1" ] \
        || fail "the second revocation changed the recorded time or reason"
}

# certbot revoke --key-path signs with the certificate's key (jwk), without the account.
cb_revoke_certificate_key() {
    local serial cert=$LIVE/wild/cert.pem
    serial=$(serial_of "$cert")
    [ "$(db "select revoked_at is null from certificates where lower(serial) = '$serial'")" = 1 ] \
        || fail "$serial is not a known unrevoked certificate"
    cb revoke --cert-path "$cert" --key-path "$LIVE/wild/privkey.pem" --reason superseded \
        --no-delete-after-revoke || fail "certbot revoke --key-path failed"
    exchanges '/revoke' jwk-matches "$cert" || fail "revokeCert was not signed with the certificate's key"
    [ "$(exchanges '/revoke')" = "200 jwk - -" ] \
        || fail "revokeCert signed with the certificate key did not answer 200: $(exchanges '/revoke')"
    [ "$(db "select revoked_at is not null, revocation_reason from certificates where lower(serial) = '$serial'")" = "1|4" ] \
        || fail "the database does not mark $serial revoked as superseded"
    [ "$(db "select count(*) from certificates where revoked_at is not null")" = 2 ] \
        || fail "exactly two certificates should now be revoked"
    if cb revoke --cert-path "$cert" --key-path "$LIVE/wild/privkey.pem" --no-delete-after-revoke; then
        fail "a second revocation with the certificate key succeeded"
    fi
    [ "$(exchanges '/revoke')" = "400 jwk urn:ietf:params:acme:error:alreadyRevoked -" ] \
        || fail "a second revocation was not refused as alreadyRevoked: $(exchanges '/revoke')"
}

# certbot unregister deactivates the account and deletes certbot's copy of it; with the copy
# put back, a new order signed by the deactivated account must be refused (RFC 8555 7.3.6:
# 401 unauthorized), even for names whose authorizations are still valid.
cb_deactivation() {
    local id url accounts orders
    url=$(account_url)
    id=$(account_id)
    cp -a "$WORK/certbot/accounts" "$WORK/accounts-before-unregister"
    cb unregister || fail "certbot unregister failed"
    exchanges "^$url\$" | grep -q '^200 kid - deactivated$' \
        || fail "the deactivation was not answered 200 with a deactivated account: $(exchanges "^$url\$")"
    [ "$(db "select status from accounts where id = '$id'")" = deactivated ] \
        || fail "account $id is not deactivated in the database"
    [ -z "$(find "$WORK/certbot/accounts" -name regr.json)" ] || fail "certbot kept the account"

    rm -rf "$WORK/certbot/accounts"
    cp -a "$WORK/accounts-before-unregister" "$WORK/certbot/accounts"
    accounts=$(db "select count(*) from accounts")
    orders=$(db "select count(*) from orders")
    : >"$CERTBOT_HOOK_LOG"
    if cb certonly --manual --preferred-challenges http --manual-auth-hook "$CERTBOT_HOOKS/refuse-auth.sh" \
        -d a.test -d b.test --cert-name after-deactivation; then
        fail "a deactivated account obtained a certificate"
    fi
    [ "$(exchanges '/new-?order$')" = "401 kid urn:ietf:params:acme:error:unauthorized -" ] \
        || fail "newOrder by the deactivated account was not refused with 401 unauthorized: $(exchanges '/new-?order$')"
    [ "$(db "select count(*) from orders")" = "$orders" ] || fail "an order was created"
    [ "$(db "select count(*) from accounts")" = "$accounts" ] || fail "an account was created"
    [ ! -e "$LIVE/after-deactivation" ] || fail "certbot saved a certificate"
    [ ! -s "$CERTBOT_HOOK_LOG" ] || fail "certbot was asked for a challenge"
}
