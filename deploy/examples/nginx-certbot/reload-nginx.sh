#!/bin/sh
# certbot deploy hook: reloads nginx so that it serves the certificate certbot just saved
# (nginx reads certificate files only at start and reload; a reload keeps the master process
# and its connections, new workers use the new certificate). Give it to certbot once with
# `--deploy-hook /usr/local/lib/basalt/reload-nginx.sh` (saved in the lineage's renewal
# config) or copy it to /etc/letsencrypt/renewal-hooks/deploy/ (run after every renewal).
#
# The configuration is tested first: a broken config is reported and the running nginx keeps
# serving. Under systemd, `systemctl reload nginx`; otherwise `nginx -s reload`.
# NGINX_OPTS (optional) are extra nginx options, e.g. "-p /srv/nginx -c /srv/nginx/nginx.conf",
# for an nginx that is not the system's; then `nginx $NGINX_OPTS -s reload` is always used.
set -eu
NGINX=${NGINX:-nginx}
NGINX_OPTS=${NGINX_OPTS:-}

# shellcheck disable=SC2086 # NGINX_OPTS is a list of options
if ! "$NGINX" $NGINX_OPTS -t -q; then
    echo "reload-nginx: nginx -t failed; nginx keeps the old certificate for ${RENEWED_LINEAGE:-?}" >&2
    exit 1
fi
if [ -z "$NGINX_OPTS" ] && [ -d /run/systemd/system ] && systemctl is-active --quiet nginx; then
    systemctl reload nginx
else
    # shellcheck disable=SC2086
    "$NGINX" $NGINX_OPTS -s reload
fi
echo "reload-nginx: nginx reloaded for ${RENEWED_LINEAGE:-?} (${RENEWED_DOMAINS:-})"
