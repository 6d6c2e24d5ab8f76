#!/usr/bin/env bash
# The nginx + certbot example (deploy/examples/nginx-certbot, docs/examples.md) run for real:
# a real nginx serves the example's two site files (rewritten only for the test's ports and
# paths), Debian's certbot obtains a certificate from basalt with --webroot and a
# --deploy-hook running the example's reload-nginx.sh, and nginx must then serve that
# certificate; a forced `certbot renew` must run the hook again and nginx serve the new
# serial from the same master process (a reload, not a restart). One line per scenario
# (CLIENT=deploy-nginx-certbot):
#
#   setup        test DNS + basalt (start_ca), nginx on 127.0.0.1:5002 (http-01) with the
#                port-80 site alone; / redirects to https
#   issue        certbot certonly --webroot --deploy-hook: the hook ran (nginx logged SIGHUP)
#   serve        the TLS site enabled; curl --cacert root verifies it, and the served serial
#                is the serial of certbot's cert.pem
#   renew        certbot renew --force-renewal: a new serial, the hook reloaded nginx, nginx
#                serves the new serial, the master PID is unchanged
#
# Ports: the fixed test set-up (../lib.sh) plus nginx's TLS port 127.0.0.1:14443 (TLS_PORT).
source "$(dirname "$0")/../lib.sh"

EXAMPLE=$REPO/deploy/examples/nginx-certbot
NAME=www.nginx-certbot.test
TLS_PORT=${TLS_PORT:-14443}
WORK=$(mktemp -d)
# nginx's workers run as nobody: they must reach the webroot under $WORK.
chmod 755 "$WORK"
DATA=$WORK/data
source "$(dirname "$0")/../areas/common.sh" # wait_for
source "$(dirname "$0")/common.sh"
CLIENT=deploy-nginx-certbot
NGX=$WORK/nginx
NGINX_OPTS="-p $NGX -c $NGX/nginx.conf -e $NGX/error.log"
CERTBOT_DIRS=(--config-dir "$WORK/certbot" --work-dir "$WORK/certbot-work" --logs-dir "$WORK/certbot-logs")
export REQUESTS_CA_BUNDLE=$WORK/root.pem

trap 'stop_nginx; stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

# Copies an example site file to $NGX/sites/, replacing the production values with the test's;
# fails if a production value is left (the example changed and the test would miss it).
render() {
    local src=$1 dst i
    dst=$NGX/sites/$(basename "$1")
    local -a pairs=(
        "app.corp.internal" "$NAME"
        "/etc/letsencrypt" "$WORK/certbot"
        "/var/www/acme" "$WORK/webroot"
        "/var/www/html" "$WORK/html"
        "listen 80;" "listen 127.0.0.1:$HTTP01_PORT;"
        "listen 443 ssl;" "listen 127.0.0.1:$TLS_PORT ssl;"
    )
    cp "$src" "$dst"
    for ((i = 0; i < ${#pairs[@]}; i += 2)); do
        sed -i "s|${pairs[i]//./\\.}|${pairs[i + 1]}|g" "$dst"
    done
    # Loopback IPv4 only (the tests' network rule).
    sed -i '/listen \[::\]/d' "$dst"
    ! grep -nE 'corp\.internal|/etc/letsencrypt|/var/www|listen (80|443)' "$dst" \
        || fail "render() left production values in $dst"
    grep -q "listen 127.0.0.1:" "$dst" || fail "$dst listens nowhere"
}

sighups() { grep -c 'signal 1 (SIGHUP) received' "$NGX/error.log" 2>/dev/null || true; }
reloaded_since() { [ "$(sighups)" -gt "$1" ]; }
served_serial() {
    openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername "$NAME" </dev/null 2>/dev/null \
        | openssl x509 -noout -serial | cut -d= -f2
}
cert_serial() { openssl x509 -in "$WORK/certbot/live/$NAME/cert.pem" -noout -serial | cut -d= -f2; }
serves() { [ "$(served_serial)" = "$1" ]; }

set_up() {
    mkdir -p "$NGX/sites" "$NGX/tmp" "$WORK/webroot" "$WORK/html"
    echo "hello from nginx" >"$WORK/html/index.html"
    nginx_main_conf "$NGX" notice </dev/null >"$NGX/nginx.conf"
    render "$EXAMPLE/acme-challenge.conf"
    # shellcheck disable=SC2086
    nginx $NGINX_OPTS -t -q || fail "nginx -t refuses the port-80 site"
    # shellcheck disable=SC2086
    nginx $NGINX_OPTS || fail "nginx did not start: $(cat "$NGX/error.log")"
    wait_for 10 test -s "$NGX/nginx.pid" || fail "nginx wrote no pid file"
    MASTER=$(nginx_pid)
    echo "$MASTER" >"$WORK/master.pid"
    local code
    code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --resolve "$NAME:$HTTP01_PORT:127.0.0.1" "http://$NAME:$HTTP01_PORT/x")
    [ "$code" = "301 https://$NAME/x" ] || fail "http://$NAME/x answers '$code', expected a redirect to https"
}

issue() {
    local before
    before=$(sighups)
    NGINX_OPTS=$NGINX_OPTS certbot --non-interactive "${CERTBOT_DIRS[@]}" --server "$DIRECTORY" \
        certonly --agree-tos -m admin@example.org --webroot -w "$WORK/webroot" -d "$NAME" \
        --deploy-hook "$EXAMPLE/reload-nginx.sh" || fail "certbot certonly --webroot"
    grep -q "reload-nginx: nginx reloaded for $WORK/certbot/live/$NAME" "$WORK/certbot-logs/letsencrypt.log" \
        || fail "certbot's log does not show the deploy hook's output"
    wait_for 5 reloaded_since "$before" || fail "nginx was not reloaded (no SIGHUP in its log)"
    check_leaf "$WORK/certbot/live/$NAME/cert.pem" "$WORK/certbot/live/$NAME/chain.pem" "DNS:$NAME"
}

serve() {
    # Enabled once by hand after the first certificate (docs/examples.md), like an operator.
    render "$EXAMPLE/tls-site.conf"
    # shellcheck disable=SC2086
    nginx $NGINX_OPTS -s reload || fail "nginx -s reload"
    local want body
    want=$(cert_serial)
    wait_for 10 serves "$want" || fail "nginx serves serial '$(served_serial)', certbot's is $want"
    body=$(curl -sS --cacert "$WORK/root.pem" --resolve "$NAME:$TLS_PORT:127.0.0.1" "https://$NAME:$TLS_PORT/") \
        || fail "curl --cacert root does not verify https://$NAME:$TLS_PORT/"
    [ "$body" = "hello from nginx" ] || fail "the page is '$body'"
    echo "nginx serves serial $want"
}

renew() {
    local old new before
    old=$(cert_serial)
    before=$(sighups)
    NGINX_OPTS=$NGINX_OPTS certbot --non-interactive "${CERTBOT_DIRS[@]}" renew --force-renewal --no-random-sleep-on-renew \
        >"$WORK/renew.log" 2>&1 <<<"" || { cat "$WORK/renew.log"; fail "certbot renew --force-renewal"; }
    # certbot renew found the hook in the lineage's renewal config, not on its command line.
    grep -q "^renew_hook = $EXAMPLE/reload-nginx.sh" "$WORK/certbot/renewal/$NAME.conf" \
        || fail "the renewal config does not keep the deploy hook"
    # certbot reports success even when a deploy hook fails: look at what the hook said.
    ! grep -q "Hook 'deploy-hook' reported error" "$WORK/renew.log" || { cat "$WORK/renew.log"; fail "the deploy hook failed"; }
    grep -q "reload-nginx: nginx reloaded for $WORK/certbot/live/$NAME" "$WORK/renew.log" \
        || { cat "$WORK/renew.log"; fail "certbot renew did not run the deploy hook"; }
    new=$(cert_serial)
    [ "$new" != "$old" ] || fail "certbot renew kept serial $old"
    wait_for 5 reloaded_since "$before" || fail "the deploy hook did not reload nginx"
    wait_for 10 serves "$new" || fail "nginx serves serial '$(served_serial)' after renewal, expected $new"
    [ "$(nginx_pid)" = "$(cat "$WORK/master.pid")" ] && kill -0 "$(nginx_pid)" \
        || fail "nginx's master process changed: $(cat "$WORK/master.pid") -> $(nginx_pid)"
    curl -sfS --cacert "$WORK/root.pem" --resolve "$NAME:$TLS_PORT:127.0.0.1" "https://$NAME:$TLS_PORT/" >/dev/null \
        || fail "curl does not verify the renewed certificate"
    echo "serial $old -> $new, nginx master $(nginx_pid) kept"
}

if ! command -v nginx >/dev/null || ! command -v certbot >/dev/null; then
    skip setup "nginx or certbot is not installed (.ci/run installs both from Debian)"
    exit 0
fi
# In the main shell, so that the trap knows basalt's and the DNS server's PIDs.
require_free_port "$TLS_PORT"
start_ca
scenario setup set_up
[ -z "${FAILED:-}" ] || { finish; exit 1; }
scenario issue issue
scenario serve serve
scenario renew renew
finish
