#!/usr/bin/env bash
# Compares basalt with Pebble under the same ACME load (crates/basalt-load).
#
#   benches/compare.sh [--postgres URL] [--no-build]
#
# Builds the release binaries (basalt, basalt-test-dns, basalt-load), starts the test DNS
# server, then for each server and each concurrency starts a FRESH server process (so its
# peak RSS is that run's), runs basalt-load against it, and records:
#   certificates/s and p50/p90/p99 of a full order   (from basalt-load's JSON)
#   server CPU per certificate                        (utime+stime from /proc/PID/stat)
#   peak RSS (VmHWM at the end) and idle RSS          (VmRSS ~1 s after the first answer)
#   database statements per certificate               (basalt-sqlite-metrics only: the
#                                                      server's own statement count, in
#                                                      compare.json)
#   start-up to serving                               (basalt: restarted on the data the run
#                                                      left behind; Pebble keeps no data, so
#                                                      its fresh start)
# Servers, in turn:
#   basalt-sqlite    basalt on SQLite, fresh data directory per run
#   basalt-sqlite-metrics  the same with its metrics listener on (server.metrics_listen) and
#                    /metrics scraped every second during the load, as a Prometheus with a
#                    short scrape interval would: the cost of metrics (issue 17)
#   basalt-postgres  basalt on PostgreSQL, fresh database per run; only with --postgres URL or
#                    BASALT_BENCH_POSTGRES_URL (URL of a database the script may CREATE/DROP
#                    databases from). For a throwaway server:
#                      scripts/test-databases start; eval "$(scripts/test-databases env)"
#                      benches/compare.sh --postgres "$BASALT_TEST_POSTGRES_URL"
#   pebble           /usr/bin/pebble (Debian package; it ships no test certificate, so the
#                    script makes a throwaway CA and serving certificate with openssl), run with
#                    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
#
# Writes target/bench/compare.md (the tables) and target/bench/compare.json (every record,
# with basalt-load's full report); server and load logs go to target/bench/logs/.
#
# basalt-load honours Retry-After on pending orders (capped at 1 s), as lego, certbot and
# x/crypto do. basalt sends `Retry-After: 1` there and Pebble sends none, so at a fixed
# concurrency that wait, not server capacity, can set basalt's rate; for capacity, run
# again with LOAD_ARGS="--retry-after-cap-ms 0" (short polls only).
#
# Environment (defaults in brackets):
#   CONCURRENCY ["8 32"]   concurrencies to run, each a separate fresh server
#   DURATION [20]          seconds of load per run; or ORDERS=N for a fixed number of orders
#   NAMES [1]              DNS names per order
#   SERVERS ["basalt-sqlite basalt-postgres pebble"]  which servers to run
#   LOAD_ARGS []           extra basalt-load options for every run
#                          (e.g. "--retry-after-cap-ms 0" to poll without honouring Retry-After)
#   PEBBLE_LOAD_ARGS ["--serialize-order-setup"]  extra basalt-load options for Pebble only:
#                          Pebble 2.4 deadlocks when newOrder and authorization fetches run
#                          concurrently (seen at concurrency >= 32), so its order setup is
#                          serialized, at every concurrency so the runs stay comparable
#   ACME_PORT [14000] HTTP01_PORT [5002] TLSALPN01_PORT [5001] DNS_PORT [8053]
#   DNS_CONTROL_PORT [8055] PEBBLE_MGMT_PORT [15000]
#                          the defaults are the conformance tests' ports: while those may be
#                          running, use others (e.g. 24000 15002 15001 18053 18055 24002)
#   BASALT_LOG [info]      RUST_LOG for basalt (it logs one line per request at info)
#   BENCH_OUT [target/bench]  where compare.md, compare.json and logs/ go
#
# Refuses to start if a port it needs is taken. Everything it starts is stopped on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
BIN=$TARGET/release
OUT=${BENCH_OUT:-$TARGET/bench}

ACME_PORT=${ACME_PORT:-14000}
HTTP01_PORT=${HTTP01_PORT:-5002}
TLSALPN01_PORT=${TLSALPN01_PORT:-5001}
DNS_PORT=${DNS_PORT:-8053}
DNS_CONTROL_PORT=${DNS_CONTROL_PORT:-8055}
PEBBLE_MGMT_PORT=${PEBBLE_MGMT_PORT:-15000}
METRICS_PORT=${METRICS_PORT:-9102}
CONCURRENCY=${CONCURRENCY:-"8 32"}
DURATION=${DURATION:-20}
ORDERS=${ORDERS:-}
NAMES=${NAMES:-1}
SERVERS=${SERVERS:-"basalt-sqlite basalt-postgres pebble"}
LOAD_ARGS=${LOAD_ARGS:-}
PEBBLE_LOAD_ARGS=${PEBBLE_LOAD_ARGS:---serialize-order-setup}
BASALT_LOG=${BASALT_LOG:-info}
POSTGRES_URL=${BASALT_BENCH_POSTGRES_URL:-}
BUILD=1

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case $1 in
        --postgres) POSTGRES_URL=${2:?--postgres needs a URL}; shift 2 ;;
        --postgres=*) POSTGRES_URL=${1#*=}; shift ;;
        --no-build) BUILD=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

log() { echo "compare.sh: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

for tool in curl jq openssl python3 ss; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

# ---------------------------------------------------------------------------------------
# Process bookkeeping: every process started is killed on exit, whatever happens.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/basalt-compare.XXXXXX")
STARTED_PIDS=()
CREATED_DATABASES=()
# psql: no NOTICE lines ("database … does not exist, skipping") in the output.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    local db
    for db in "${CREATED_DATABASES[@]}"; do
        psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
    local gone=$1 pid kept=()
    for pid in "${STARTED_PIDS[@]}"; do
        [ "$pid" = "$gone" ] || kept+=("$pid")
    done
    STARTED_PIDS=("${kept[@]}")
}

# SIGTERM, then SIGKILL after 10 s.
stop_process() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

require_free_port() {
    local port=$1
    if ss -Hltnu "( sport = :$port )" 2>/dev/null | grep -q .; then
        ss -Hltnup "( sport = :$port )" >&2 || true
        die "port $port is already in use; set ACME_PORT/HTTP01_PORT/DNS_PORT/DNS_CONTROL_PORT/PEBBLE_MGMT_PORT to free ones"
    fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waits until URL answers 200 (trusting CA) while PID lives; prints the ms since START_MS.
wait_serving() {
    local url=$1 ca=$2 pid=$3 start_ms=$4
    for _ in $(seq 1 3000); do
        if curl -sf -o /dev/null --max-time 2 --cacert "$ca" "$url" 2>/dev/null; then
            echo $(($(now_ms) - start_ms))
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

# utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after
# the parenthesised command name, which may contain spaces).
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# Sum of utime+stime of the PostgreSQL backends serving database DB, or "null" when they
# cannot be read (a server on another machine or user). With a fresh database per run, its
# backends all belong to this run's basalt.
database_ticks() {
    local db=$1 total=0 pid ticks
    [ -n "$db" ] || { echo null; return; }
    for pid in $(psql -qAt "$POSTGRES_URL" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db'" 2>/dev/null); do
        ticks=$(cpu_ticks "$pid" 2>/dev/null) || { echo null; return; }
        total=$((total + ticks))
    done
    echo "$total"
}

# A /proc/PID/status field in kB (VmRSS, VmHWM).
status_kb() {
    awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------------------
# Servers. Each start_* sets SERVER_PID, DIRECTORY_URL and SERVER_CA and returns once the
# directory answers, with START_MS_TAKEN = ms from exec to the first answer.

start_basalt() {
    local name=$1 data=$2 database_url=$3 metrics=${4:-}
    local args=(serve --data "$data" --listen "127.0.0.1:$ACME_PORT" --http01-port "$HTTP01_PORT"
        --tlsalpn01-port "$TLSALPN01_PORT" --resolver "127.0.0.1:$DNS_PORT" --log-format json
        --egress-allow 127.0.0.0/8 --egress-allow ::1)
    [ -n "$database_url" ] && args+=(--database-url "$database_url")
    [ -n "$metrics" ] && args+=(--metrics-listen "127.0.0.1:$METRICS_PORT")
    DIRECTORY_URL="https://127.0.0.1:$ACME_PORT/acme/default/directory"
    SERVER_CA=$data/root.pem
    local start_ms
    start_ms=$(now_ms)
    RUST_LOG=$BASALT_LOG "$BIN/basalt" "${args[@]}" >>"$OUT/logs/$name.log" 2>&1 &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    START_MS_TAKEN=$(wait_serving "$DIRECTORY_URL" "$SERVER_CA" "$SERVER_PID" "$start_ms") ||
        die "basalt ($name) did not start; see $OUT/logs/$name.log"
}

PEBBLE_DIR=$WORK/pebble

prepare_pebble() {
    mkdir -p "$PEBBLE_DIR"
    (
        cd "$PEBBLE_DIR"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=basalt compare.sh throwaway CA" -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
            -keyout key.pem -out server.csr 2>/dev/null
        printf '%s\n' "subjectAltName=DNS:localhost,DNS:pebble,IP:127.0.0.1,IP:::1" \
            "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext.cnf -out cert.pem 2>/dev/null
    )
    jq -n --arg listen "127.0.0.1:$ACME_PORT" --arg mgmt "127.0.0.1:$PEBBLE_MGMT_PORT" \
        --arg cert "$PEBBLE_DIR/cert.pem" --arg key "$PEBBLE_DIR/key.pem" \
        --argjson http "$HTTP01_PORT" --argjson tls "$TLSALPN01_PORT" \
        '{pebble: {listenAddress: $listen, managementListenAddress: $mgmt, certificate: $cert,
          privateKey: $key, httpPort: $http, tlsPort: $tls, ocspResponderURL: "",
          externalAccountBindingRequired: false}}' >"$PEBBLE_DIR/config.json"
}

start_pebble() {
    local name=$1
    DIRECTORY_URL="https://127.0.0.1:$ACME_PORT/dir"
    SERVER_CA=$PEBBLE_DIR/ca.pem
    local start_ms
    start_ms=$(now_ms)
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
        pebble -config "$PEBBLE_DIR/config.json" -dnsserver "127.0.0.1:$DNS_PORT" \
        >>"$OUT/logs/$name.log" 2>&1 &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    START_MS_TAKEN=$(wait_serving "$DIRECTORY_URL" "$SERVER_CA" "$SERVER_PID" "$start_ms") ||
        die "pebble did not start; see $OUT/logs/$name.log"
}

# Prints a fresh database URL for run NAME (drops and creates the database).
fresh_postgres_database() {
    local db=basalt_bench_${1//[^a-z0-9]/_}
    FRESH_DATABASE=$db
    psql -q -v ON_ERROR_STOP=1 "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null
    psql -q -v ON_ERROR_STOP=1 "$POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
    CREATED_DATABASES+=("$db")
    local base=${POSTGRES_URL%%\?*}
    local query=${POSTGRES_URL#"$base"}
    FRESH_DATABASE_URL="${base%/*}/$db$query"
}

# ---------------------------------------------------------------------------------------
# One measurement: fresh server, idle RSS, load, CPU and peak RSS, then (basalt) a restart.

RECORDS=$WORK/records.jsonl
CLK_TCK=$(getconf CLK_TCK)

measure() {
    local server=$1 concurrency=$2
    local run=$server-c$concurrency
    local extra=() restart_ms=null start_kind note="" database=""
    log "$run: starting a fresh server"
    local metrics="" scraper=""
    case $server in
        basalt-sqlite | basalt-sqlite-metrics | basalt-postgres)
            local data=$WORK/$run database_url=""
            "$BIN/basalt" init --data "$data" >>"$OUT/logs/$run.log" 2>&1
            if [ "$server" = basalt-postgres ]; then
                fresh_postgres_database "$run"
                database_url=$FRESH_DATABASE_URL
                database=$FRESH_DATABASE
            fi
            [ "$server" = basalt-sqlite-metrics ] && metrics=1
            start_basalt "$run" "$data" "$database_url" "$metrics"
            start_kind=restart
            if [ -n "$metrics" ]; then
                # A scrape a second, in the OpenMetrics format Prometheus asks for.
                while curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' \
                    "http://127.0.0.1:$METRICS_PORT/metrics" -o /dev/null; do sleep 1; done &
                scraper=$!
                STARTED_PIDS+=("$scraper")
                note="metrics listener on, scraped every second"
            fi
            ;;
        pebble)
            start_pebble "$run"
            start_kind=fresh
            # shellcheck disable=SC2206 # word splitting intended: a list of options
            extra=($PEBBLE_LOAD_ARGS)
            [ -n "$PEBBLE_LOAD_ARGS" ] && note="basalt-load $PEBBLE_LOAD_ARGS"
            ;;
    esac
    local first_start_ms=$START_MS_TAKEN
    sleep 1
    local idle_rss_kb cpu_before cpu_after peak_rss_kb db_before db_after db_ticks=null
    idle_rss_kb=$(status_kb "$SERVER_PID" VmRSS)
    cpu_before=$(cpu_ticks "$SERVER_PID")
    db_before=$(database_ticks "$database")

    local limit=(--duration "$DURATION")
    [ -n "$ORDERS" ] && limit=(--orders "$ORDERS")
    local report=$OUT/$run.json rc=0
    log "$run: load ${limit[*]} --concurrency $concurrency --names-per-order $NAMES ${LOAD_ARGS} ${extra[*]}"
    # The load generator's own CPU, to show it is not the bottleneck (GNU time, if present).
    local timer=()
    [ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%U %S' -o "$WORK/$run.load-time")
    # shellcheck disable=SC2086 # LOAD_ARGS is a list of options
    "${timer[@]}" "$BIN/basalt-load" --directory "$DIRECTORY_URL" --ca-bundle "$SERVER_CA" \
        --http-port "$HTTP01_PORT" --concurrency "$concurrency" --names-per-order "$NAMES" \
        "${limit[@]}" $LOAD_ARGS "${extra[@]}" --output "$report" \
        >/dev/null 2>"$OUT/logs/$run.load.log" || rc=$?

    kill -0 "$SERVER_PID" 2>/dev/null || die "$run: the server died during the load; see $OUT/logs/$run.log"
    cpu_after=$(cpu_ticks "$SERVER_PID")
    db_after=$(database_ticks "$database")
    if [ "$db_before" != null ] && [ "$db_after" != null ]; then
        db_ticks=$((db_after - db_before))
    fi
    peak_rss_kb=$(status_kb "$SERVER_PID" VmHWM)
    [ -n "$scraper" ] && { kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; }
    # Database statements (every pool and the inline SQLite writer) per certificate: counted
    # by the server itself, so a change that adds or saves a round trip shows here exactly,
    # whatever the machine's noise does to the rates.
    local statements=null
    if [ -n "$metrics" ]; then
        statements=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" |
            awk '/^basalt_database_query_duration_seconds_count/ { n += $NF } END { print n + 0 }') ||
            statements=null
    fi
    local load_cpu_seconds=null
    if [ -s "$WORK/$run.load-time" ]; then
        load_cpu_seconds=$(awk 'END { print $1 + $2 }' "$WORK/$run.load-time")
    fi
    stop_process "$SERVER_PID"

    if [ "$rc" -eq 2 ] || [ ! -s "$report" ]; then
        log "$run: basalt-load setup failed (exit $rc): $(tail -n 3 "$OUT/logs/$run.load.log")"
        echo '{}' >"$report"
    elif [ "$rc" -ne 0 ]; then
        log "$run: $(jq -r .orders_failed "$report") orders failed; first: $(jq -r '.failures[0]' "$report")"
    fi

    if [ "$start_kind" = restart ]; then
        start_basalt "$run" "$data" "${database_url:-}"
        restart_ms=$START_MS_TAKEN
        stop_process "$SERVER_PID"
    else
        restart_ms=$first_start_ms
    fi

    jq -c -n --arg server "$server" --argjson concurrency "$concurrency" \
        --slurpfile load "$report" --argjson exit "$rc" \
        --argjson cpu_ticks $((cpu_after - cpu_before)) --argjson clk_tck "$CLK_TCK" \
        --argjson db_ticks "$db_ticks" --argjson load_cpu "$load_cpu_seconds" \
        --argjson idle_rss_kb "$idle_rss_kb" --argjson peak_rss_kb "$peak_rss_kb" \
        --argjson first_start_ms "$first_start_ms" --argjson start_ms "$restart_ms" \
        --arg start_kind "$start_kind" --arg note "$note" --argjson statements "$statements" \
        '{server: $server, concurrency: $concurrency, load_exit: $exit, load: $load[0],
          server_cpu_seconds: ($cpu_ticks / $clk_tck),
          server_cpu_ms_per_certificate:
            (if ($load[0].orders_ok // 0) > 0
             then ($cpu_ticks / $clk_tck * 1000 / $load[0].orders_ok) else null end),
          database_cpu_ms_per_certificate:
            (if $db_ticks != null and ($load[0].orders_ok // 0) > 0
             then ($db_ticks / $clk_tck * 1000 / $load[0].orders_ok) else null end),
          load_generator_cpu_ms_per_certificate:
            (if $load_cpu != null and ($load[0].orders_ok // 0) > 0
             then ($load_cpu * 1000 / $load[0].orders_ok) else null end),
          database_statements_per_certificate:
            (if $statements != null and ($load[0].orders_ok // 0) > 0
             then ($statements / $load[0].orders_ok) else null end),
          idle_rss_kb: $idle_rss_kb, peak_rss_kb: $peak_rss_kb,
          first_start_ms: $first_start_ms, start_to_serving_ms: $start_ms,
          start_kind: $start_kind, note: $note}' >>"$RECORDS"
    log "$run: $(jq -r '"\(.orders_ok // 0) ok, \(.orders_failed // "?") failed, \(.certificates_per_second // 0) certificates/s"' "$report")"
}

# ---------------------------------------------------------------------------------------

for port in "$ACME_PORT" "$HTTP01_PORT" "$DNS_PORT" "$DNS_CONTROL_PORT" "$PEBBLE_MGMT_PORT" "$METRICS_PORT"; do
    require_free_port "$port"
done

if [ "$BUILD" = 1 ]; then
    log "building release binaries (basalt, basalt-test-dns, basalt-load)"
    (cd "$REPO" && cargo build --release --bins -p basalt -p basalt-testkit -p basalt-load)
fi
for binary in basalt basalt-test-dns basalt-load; do
    [ -x "$BIN/$binary" ] || die "$BIN/$binary is missing (run without --no-build)"
done

mkdir -p "$OUT/logs"
rm -f "$OUT"/logs/*.log

"$BIN/basalt-test-dns" --listen "127.0.0.1:$DNS_PORT" --control "127.0.0.1:$DNS_CONTROL_PORT" \
    >"$OUT/logs/dns.log" 2>&1 &
DNS_PID=$!
STARTED_PIDS+=("$DNS_PID")
for _ in $(seq 1 100); do
    ss -Hltn "( sport = :$DNS_PORT )" | grep -q . && break
    kill -0 "$DNS_PID" 2>/dev/null || die "the test DNS server did not start; see $OUT/logs/dns.log"
    sleep 0.05
done

SELECTED=()
for server in $SERVERS; do
    case $server in
        basalt-sqlite | basalt-sqlite-metrics) SELECTED+=("$server") ;;
        basalt-postgres)
            if [ -n "$POSTGRES_URL" ]; then
                command -v psql >/dev/null || die "psql is needed for basalt-postgres"
                psql -q -v ON_ERROR_STOP=1 "$POSTGRES_URL" -c 'SELECT 1' >/dev/null ||
                    die "cannot connect to $POSTGRES_URL"
                SELECTED+=("$server")
            else
                log "skipping basalt-postgres: no --postgres URL or BASALT_BENCH_POSTGRES_URL"
            fi
            ;;
        pebble)
            if command -v pebble >/dev/null; then
                prepare_pebble
                SELECTED+=("$server")
            else
                log "skipping pebble: /usr/bin/pebble not installed (apt-get install pebble)"
            fi
            ;;
        *) die "unknown server $server in SERVERS" ;;
    esac
done

: >"$RECORDS"
for concurrency in $CONCURRENCY; do
    for server in "${SELECTED[@]}"; do
        measure "$server" "$concurrency"
    done
done

jq -s . "$RECORDS" >"$OUT/compare.json"

ORDERS=$ORDERS DURATION=$DURATION NAMES=$NAMES LOAD_ARGS=$LOAD_ARGS \
    python3 - "$OUT/compare.json" "$OUT/compare.md" <<'PY'
import json
import os
import sys

records = json.load(open(sys.argv[1]))
env = os.environ


def num(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(a, b, digits=2):
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.{digits}f}"


def row_values(r):
    load = r["load"] or {}
    lat = load.get("latency_ms") or {}
    return {
        "cps": load.get("certificates_per_second"),
        "p50": lat.get("p50"),
        "p90": lat.get("p90"),
        "p99": lat.get("p99"),
        "cpu": r["server_cpu_ms_per_certificate"],
        "db_cpu": r.get("database_cpu_ms_per_certificate"),
        "load_cpu": r.get("load_generator_cpu_ms_per_certificate"),
        # Everything the CA needs: its process plus its database backends, when known.
        "total_cpu": None
        if r["server_cpu_ms_per_certificate"] is None
        else r["server_cpu_ms_per_certificate"] + (r.get("database_cpu_ms_per_certificate") or 0),
        "peak": r["peak_rss_kb"] / 1024,
        "idle": r["idle_rss_kb"] / 1024,
        "start": r["start_to_serving_ms"],
        "ok": load.get("orders_ok"),
        "failed": load.get("orders_failed"),
    }


lines = []
first = records[0]["load"] if records else {}
limit = f"{env['ORDERS']} orders" if env.get("ORDERS") else f"{env.get('DURATION', '20')} s"
lines.append("# basalt vs Pebble")
lines.append("")
lines.append(
    f"Load: basalt-load, {limit} per run, {env.get('NAMES', '1')} name(s) per order, http-01; "
    f"a fresh server process per row. Machine: {os.cpu_count()} CPUs, "
    f"load average at the end {os.getloadavg()[0]:.2f}."
)
if env.get("LOAD_ARGS"):
    lines.append(f"Extra basalt-load options for every run: `{env['LOAD_ARGS']}`.")
notes = sorted({r["note"] for r in records if r["note"] and r["server"] == "pebble"})
for note in notes:
    lines.append(
        f"Pebble runs use `{note}`: Pebble 2.4 deadlocks when newOrder and authorization "
        "fetches run concurrently (seen at concurrency >= 32)."
    )
if any(r["server"] == "basalt-sqlite-metrics" for r in records):
    lines.append(
        "basalt-sqlite-metrics: the metrics listener on and /metrics scraped every second "
        "(OpenMetrics) during the load."
    )
lines.append("")
lines.append(
    "| server | C | certs/s | p50 ms | p90 ms | p99 ms | server CPU ms/cert | DB CPU ms/cert "
    "| peak RSS MiB | idle RSS MiB | start→serving ms | ok | failed | load-gen CPU ms/cert |"
)
lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in records:
    v = row_values(r)
    start = num(v["start"], 0) + (" (restart)" if r["start_kind"] == "restart" else " (fresh)")
    lines.append(
        f"| {r['server']} | {r['concurrency']} | {num(v['cps'])} | {num(v['p50'])} | "
        f"{num(v['p90'])} | {num(v['p99'])} | {num(v['cpu'], 2)} | {num(v['db_cpu'], 2)} | "
        f"{num(v['peak'])} | {num(v['idle'])} | {start} | {v['ok']} | {v['failed']} | "
        f"{num(v['load_cpu'], 2)} |"
    )

pebble = {r["concurrency"]: row_values(r) for r in records if r["server"] == "pebble"}
basalts = [r for r in records if r["server"].startswith("basalt") and r["concurrency"] in pebble]
if basalts:
    lines.append("")
    lines.append("Ratios basalt / Pebble (certs/s: higher is better for basalt; the rest: lower is).")
    lines.append("")
    lines.append(
        "| server | C | certs/s | p50 | p99 | CPU/cert | peak RSS | idle RSS | start→serving |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in basalts:
        b, p = row_values(r), pebble[r["concurrency"]]
        lines.append(
            f"| {r['server']} | {r['concurrency']} | {ratio(b['cps'], p['cps'])} | "
            f"{ratio(b['p50'], p['p50'])} | {ratio(b['p99'], p['p99'])} | "
            f"{ratio(b['total_cpu'], p['total_cpu'])} | {ratio(b['peak'], p['peak'])} | "
            f"{ratio(b['idle'], p['idle'])} | {ratio(b['start'], p['start'])} |"
        )
lines.append("")
lines.append(
    "start→serving: basalt restarted on the data its run left behind; Pebble (no persistent "
    "state) from a fresh start. Server CPU is the CA process's utime+stime; DB CPU is the "
    "PostgreSQL backends serving the run's database (SQLite runs inside the process); the "
    "CPU/cert ratio compares server + DB CPU with Pebble's (in-memory) process."
)
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
PY
log "wrote $OUT/compare.md and $OUT/compare.json"
