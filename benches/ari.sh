#!/usr/bin/env bash
# renewalInfo (RFC 9773) throughput: one basalt (release build, SQLite), one certificate
# issued by basalt-load, then basalt-ari-load GETs that certificate's renewalInfo over C
# keep-alive connections (HTTP/1.1, one request in flight each) for DURATION seconds, for each
# C of CONNECTIONS, ROUNDS times. The issue's floor: at least 2,000 GETs per second.
#
#   benches/ari.sh [--no-build]
#
# Environment: CONNECTIONS ["16 64"], DURATION [10] seconds per run, ROUNDS [2], and the ports
# ACME_PORT [14000] HTTP01_PORT [5002] DNS_PORT [8053] DNS_CONTROL_PORT [8055] (refused if
# taken). Prints one line per run and writes target/bench/ari.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
BIN=$TARGET/release
OUT=${BENCH_OUT:-$TARGET/bench}
CONNECTIONS=${CONNECTIONS:-16 64} DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-2}
ACME_PORT=${ACME_PORT:-14000} HTTP01_PORT=${HTTP01_PORT:-5002}
DNS_PORT=${DNS_PORT:-8053} DNS_CONTROL_PORT=${DNS_CONTROL_PORT:-8055}

[ "${1:-}" = --no-build ] || (cd "$REPO" && cargo build --release -p basalt -p basalt-load -p basalt-testkit --bins)
source "$REPO/benches/serve.sh"
require_free_ports "$ACME_PORT" "$HTTP01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT"

WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
DATA=$WORK/data
ACME=https://127.0.0.1:$ACME_PORT/acme/default
"$BIN/basalt" init --data "$DATA" >/dev/null 2>"$WORK/init.log"
start_basalt "$DATA" default

# One certificate, and its CertID (RFC 9773 §4.1): base64url(AKI keyIdentifier) "."
# base64url(serial DER content octets, with the leading zero a high bit needs).
"$BIN/basalt-load" --directory "$ACME/directory" --ca-bundle "$DATA/root.pem" \
    --http-port "$HTTP01_PORT" --concurrency 1 --orders 1 >"$WORK/issue.json" 2>"$WORK/issue.log"
sqlite3 "$DATA/basalt.db" "select chain_pem from certificates limit 1" | awk '/BEGIN/{n++} n==1' >"$WORK/leaf.pem"
b64url() { basenc --base64url -w0 | tr -d '='; }
aki=$(openssl x509 -in "$WORK/leaf.pem" -noout -ext authorityKeyIdentifier | tail -n 1 | sed 's/keyid://' | tr -d ' :')
serial=$(openssl x509 -in "$WORK/leaf.pem" -noout -serial | cut -d= -f2)
[ $((${#serial} % 2)) = 0 ] || serial=0$serial
case ${serial:0:1} in [89A-Fa-f]) serial=00$serial ;; esac
URL="$ACME/renewal-info/$(xxd -r -p <<<"$aki" | b64url).$(xxd -r -p <<<"$serial" | b64url)"
curl -sf --cacert "$DATA/root.pem" "$URL" >/dev/null || { echo "error: GET $URL failed" >&2; exit 1; }

{
    echo "# renewalInfo GETs, one basalt (SQLite, release), HTTP/1.1 keep-alive, $DURATION s per run, $(nproc) cores"
    echo
    echo "| round | connections | GETs/s | p50 ms | p99 ms | errors |"
    echo "|---:|---:|---:|---:|---:|---:|"
} >"$OUT/ari.md"
for round in $(seq 1 "$ROUNDS"); do
    for c in $CONNECTIONS; do
        report=$WORK/ari-$round-$c.json
        "$BIN/basalt-ari-load" --url "$URL" --ca-bundle "$DATA/root.pem" --connections "$c" \
            --duration "$DURATION" >"$report" 2>"$WORK/ari-load.log" || true
        line=$(jq -r --arg r "$round" \
            '"| \($r) | \(.connections) | \(.gets_per_second) | \(.latency_ms.p50) | \(.latency_ms.p99) | \(.errors) |"' "$report")
        echo "$line" | tee -a "$OUT/ari.md"
    done
done
echo "wrote $OUT/ari.md"
