#!/usr/bin/env bash
# Issuance rate with the intermediate key in a file and in a PKCS#11 token (SoftHSM2), side by
# side on one basalt (SQLite): one server with two areas, `default` (init's file key) and
# `hsm` (`area add --pkcs11-token`, the key generated in a SoftHSM2 token this script makes),
# and basalt-load against each area in turn, ROUNDS times.
#
#   benches/keys.sh [--no-build]
#
# Environment: CONCURRENCY [32], DURATION [15] seconds per run, ROUNDS [2], and the ports
# ACME_PORT [14000] HTTP01_PORT [5002] DNS_PORT [8053] DNS_CONTROL_PORT [8055] (refused if
# taken). Prints one line per run and writes target/bench/keys.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
BIN=$TARGET/release
OUT=${BENCH_OUT:-$TARGET/bench}
CONCURRENCY=${CONCURRENCY:-32} DURATION=${DURATION:-15} ROUNDS=${ROUNDS:-2}
ACME_PORT=${ACME_PORT:-14000} HTTP01_PORT=${HTTP01_PORT:-5002}
DNS_PORT=${DNS_PORT:-8053} DNS_CONTROL_PORT=${DNS_CONTROL_PORT:-8055}
MODULE=${PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

[ "${1:-}" = --no-build ] || (cd "$REPO" && cargo build --release -p basalt -p basalt-load -p basalt-testkit --bins)
[ -e "$MODULE" ] || { echo "error: $MODULE not found (apt-get install softhsm2)" >&2; exit 2; }
source "$REPO/benches/serve.sh"
require_free_ports "$ACME_PORT" "$HTTP01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT"

WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT
export SOFTHSM2_CONF=$WORK/softhsm2.conf
mkdir -p "$WORK/tokens" "$OUT"
printf '%s\n' "directories.tokendir = $WORK/tokens" "objectstore.backend = file" "log.level = ERROR" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --so-pin 87654321 --pin 12345678 >/dev/null
echo 12345678 >"$WORK/pin"
DATA=$WORK/data
"$BIN/basalt" init --data "$DATA" >/dev/null
sed -i "/^\[keys\]/a pkcs11_module = \"$MODULE\"\npkcs11_pin_file = \"$WORK/pin\"" "$DATA/basalt.toml"
"$BIN/basalt" area add hsm --data "$DATA" --root-password-file "$DATA/offline/root-password.txt" \
    --pkcs11-token bench >/dev/null 2>"$WORK/add.log"

start_basalt "$DATA" hsm

{
    echo "# File key and SoftHSM2 key, one basalt (SQLite), C=$CONCURRENCY, $DURATION s per run"
    echo
    echo "| round | area (key) | certificates/s | p50 ms | p99 ms | failed |"
    echo "|---:|---|---:|---:|---:|---:|"
} >"$OUT/keys.md"
for round in $(seq 1 "$ROUNDS"); do
    for area in default hsm; do
        report=$WORK/$area-$round.json
        "$BIN/basalt-load" --directory "https://127.0.0.1:$ACME_PORT/acme/$area/directory" \
            --ca-bundle "$DATA/root.pem" --http-port "$HTTP01_PORT" --concurrency "$CONCURRENCY" \
            --duration "$DURATION" --output "$report" >/dev/null 2>"$WORK/load.log" || true
        kind=$([ "$area" = hsm ] && echo "SoftHSM2" || echo "file")
        line=$(jq -r --arg r "$round" --arg a "$area ($kind)" \
            '"| \($r) | \($a) | \(.certificates_per_second) | \(.latency_ms.p50) | \(.latency_ms.p99) | \(.orders_failed) |"' "$report")
        echo "$line" | tee -a "$OUT/keys.md"
    done
done
echo "wrote $OUT/keys.md"
