# Shared by the benches that run one basalt: refusing taken ports, and starting the test DNS
# server and `basalt serve` (release build) on a data directory. Sourced after BIN, WORK, PIDS
# and the *_PORT variables are set; the caller's EXIT trap kills $PIDS.

# Exits if any of the given ports is taken.
require_free_ports() {
    for port in "$@"; do
        if ss -Hltnu "( sport = :$port )" | grep -q .; then echo "error: port $port is taken" >&2; exit 2; fi
    done
}

# start_basalt DATA AREA: the test DNS and basalt serving DATA; waits until AREA's directory
# answers.
start_basalt() {
    local data=$1 area=$2
    "$BIN/basalt-test-dns" --listen "127.0.0.1:$DNS_PORT" --control "127.0.0.1:$DNS_CONTROL_PORT" >"$WORK/dns.log" 2>&1 &
    PIDS+=($!)
    RUST_LOG=warn "$BIN/basalt" serve --data "$data" --listen "127.0.0.1:$ACME_PORT" \
        --http01-port "$HTTP01_PORT" --resolver "127.0.0.1:$DNS_PORT" \
        --egress-allow 127.0.0.0/8 --egress-allow ::1 >"$WORK/basalt.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf --cacert "$data/root.pem" "https://127.0.0.1:$ACME_PORT/acme/$area/directory" >/dev/null && return 0
        sleep 0.1
    done
    echo "error: basalt did not start; its log:" >&2
    cat "$WORK/basalt.log" >&2
    exit 1
}
