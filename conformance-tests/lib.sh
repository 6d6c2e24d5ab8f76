# Shared set-up for the conformance tests: the fixed test ports, starting and stopping the
# test DNS server and basalt, and small assertions. Sourced by `run` and each client script.
#
# Fixed test set-up (the developers' guide): ACME on 127.0.0.1:14000, http-01 on 5002,
# tls-alpn-01 on 5001, test DNS on 127.0.0.1:8053 (control API on 8055).

set -euo pipefail

# The defaults are the fixed test set-up; the variables exist only so that several client
# scripts can be developed side by side on one machine.
ACME_PORT=${ACME_PORT:-14000}
HTTP01_PORT=${HTTP01_PORT:-5002}
TLSALPN01_PORT=${TLSALPN01_PORT:-5001}
DNS_PORT=${DNS_PORT:-8053}
DNS_CONTROL_PORT=${DNS_CONTROL_PORT:-8055}
DNS_ADDR=127.0.0.1:$DNS_PORT
DNS_CONTROL=127.0.0.1:$DNS_CONTROL_PORT
DIRECTORY="https://127.0.0.1:${ACME_PORT}/acme/default/directory"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug"

# Refuses to go on if a port the tests need is taken (never silently shares a port).
require_free_port() {
    local port=$1
    if ss -Hltnu "( sport = :$port )" 2>/dev/null | grep -q .; then
        echo "error: port $port is already in use; stop whatever listens there and retry" >&2
        ss -Hltnup "( sport = :$port )" >&2 || true
        exit 2
    fi
}

# Starts the test DNS server and basalt on a fresh data dir under $WORK.
start_ca() {
    for port in "$ACME_PORT" "$HTTP01_PORT" "$TLSALPN01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT"; do require_free_port "$port"; done
    "$BIN/basalt-test-dns" --listen "$DNS_ADDR" --control "$DNS_CONTROL" >"$WORK/dns.log" 2>&1 &
    DNS_PID=$!
    # The clients' responders listen on 127.0.0.1, and the IP-address scenarios order it: a
    # reserved identifier, which the test directory must allow explicitly (docs/config.md).
    cat >"$WORK/basalt.toml" <<'TOML'
[directories.default]
allow_reserved_identifiers = true
TOML
    "$BIN/basalt" serve --data "$WORK/data" --config "$WORK/basalt.toml" \
        --listen "127.0.0.1:$ACME_PORT" \
        --http01-port "$HTTP01_PORT" --tlsalpn01-port "$TLSALPN01_PORT" --resolver "$DNS_ADDR" \
        --egress-allow 127.0.0.0/8 --egress-allow ::1 \
        >"$WORK/basalt.log" 2>&1 &
    BASALT_PID=$!
    for _ in $(seq 1 100); do
        if [ -f "$WORK/data/root.pem" ] && curl -sf --cacert "$WORK/data/root.pem" "$DIRECTORY" >/dev/null 2>&1; then
            "$BIN/basalt" root --data "$WORK/data" >"$WORK/root.pem"
            return 0
        fi
        if ! kill -0 "$BASALT_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "error: basalt did not start; its log:" >&2
    cat "$WORK/basalt.log" >&2
    exit 1
}

stop_ca() {
    [ -n "${BASALT_PID:-}" ] && kill "$BASALT_PID" 2>/dev/null && wait "$BASALT_PID" 2>/dev/null || true
    [ -n "${DNS_PID:-}" ] && kill "$DNS_PID" 2>/dev/null && wait "$DNS_PID" 2>/dev/null || true
    BASALT_PID= DNS_PID=
}

# Prints the SQLite value of a query against the CA's database.
db() {
    sqlite3 "$WORK/data/basalt.db" "$1"
}

fail() {
    echo "    check failed: $*" >&2
    return 1
}

# One scenario of a client: runs FUNCTION ARGS... with errexit in a subshell, and prints one
# result line, `PASS client/name` or `FAIL client/name` followed by the scenario's output.
# Scenarios share the CA started by the script, and later ones may build on earlier ones.
scenario() {
    local name=$1; shift
    local log="$WORK/scenario-$name.log" started rc
    started=$(date +%s)
    # Not `if ( … )` nor `( … ) || …`: bash ignores errexit anywhere inside a condition, so
    # a failed check would not stop the scenario and its last command alone would decide.
    set +e
    ( set -e; "$@" ) >"$log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        echo "PASS $CLIENT/$name ($(( $(date +%s) - started ))s)"
    else
        echo "FAIL $CLIENT/$name ($(( $(date +%s) - started ))s)"
        sed 's/^/    /' "$log"
        FAILED=1
    fi
}

# A scenario the client cannot do: the reason must be the client's limit, never basalt's.
skip() {
    echo "SKIP $CLIENT/$1: $2"
}

# Ends a client script: non-zero if any scenario failed.
finish() {
    [ -z "${FAILED:-}" ]
}

# Checks a leaf: chains to basalt's root through the given chain file, carries exactly the
# given names (sorted, comma-separated like "DNS:a.test, DNS:b.test"), lives 24 hours, and is
# clean under pkilint's RFC 5280 linter.
check_leaf() {
    local leaf=$1 chain=$2 want_names=$3
    openssl verify -x509_strict -purpose sslserver -CAfile "$WORK/root.pem" -untrusted "$chain" "$leaf" >/dev/null \
        || fail "$leaf does not chain to basalt's root"
    local names
    names=$(openssl x509 -in "$leaf" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' | sort | paste -sd, -)
    [ "$names" = "$want_names" ] || fail "names are '$names', expected '$want_names'"
    local nb na
    nb=$(date -d "$(openssl x509 -in "$leaf" -noout -startdate | cut -d= -f2)" +%s)
    na=$(date -d "$(openssl x509 -in "$leaf" -noout -enddate | cut -d= -f2)" +%s)
    [ $((na - nb + 1)) -eq 86400 ] || fail "lifetime is $((na - nb + 1)) s, expected 86400"
    lint "$leaf"
}

# pkilint's RFC 5280 linter: any ERROR or FATAL finding fails, except pkilint's dNSName
# syntax finding on valid single-label and wildcard names (see pkilint-check.py for why).
lint() {
    python3 "$REPO/conformance-tests/pkilint-check.py" "$1" || fail "pkilint reports errors for $1"
}
