#!/usr/bin/env bash
# The newest certbot from PyPI against basalt: the scenarios of certbot-scenarios.sh, as for
# Debian's certbot 2.1 in certbot.sh. certbot lives in a virtualenv kept between runs
# (${XDG_CACHE_HOME:-~/.cache}/basalt-conformance/certbot-venv); it is installed with
# `pip install certbot` only when missing or broken. Delete the directory to get a newer one.
# Without the virtualenv (no network for pip, no venv module) every scenario is SKIPped.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/certbot-scenarios.sh"
source "$(dirname "$0")/certbot-venv.sh"

WORK=$(mktemp -d)
trap 'stop_ca; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

if ! install_certbot >"$WORK/install.log" 2>&1; then
    cat "$WORK/install.log" >&2
    CLIENT=certbot-pypi
    certbot_scenarios_skip_all "no certbot from PyPI: creating the virtualenv $VENV or 'pip install certbot' failed ($(grep . "$WORK/install.log" | tail -1))"
    exit 0
fi
CLIENT="certbot-$("$CERTBOT_BIN" --version 2>&1 | awk '{print $2}')"

start_ca
certbot_scenarios
finish
