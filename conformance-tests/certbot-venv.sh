# The newest certbot from PyPI, in a virtualenv kept between runs
# (${XDG_CACHE_HOME:-~/.cache}/basalt-conformance/certbot-venv), installed with
# `pip install certbot` only when missing or broken. Delete the directory to get a newer one.
# Sourced by certbot-pypi.sh, profiles/run and renewal/run; sets VENV and CERTBOT_BIN.
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/basalt-conformance/certbot-venv"
CERTBOT_BIN="$VENV/bin/certbot"

# Succeeds when $CERTBOT_BIN runs (installing it first if needed); prints what went wrong.
install_certbot() {
    "$CERTBOT_BIN" --version >/dev/null 2>&1 && return 0
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" \
        && "$VENV/bin/pip" install --quiet --disable-pip-version-check --retries 2 --timeout 20 certbot \
        && "$CERTBOT_BIN" --version && return 0
    rm -rf "$VENV"
    return 1
}
