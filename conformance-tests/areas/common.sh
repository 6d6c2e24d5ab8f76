# Shared by areas/run and areas/rotation (issue 14: areas, rotation, CRLs, the admin CLI):
# the admin command wrapper, certificate helpers and the process bookkeeping. Sourced after
# ../lib.sh, whose ports, `scenario`, `fail`, `lint` and `require_free_port` it uses.

CLIENT=areas
# Every process a scenario starts in the background records its pid here, because scenarios
# run in subshells: `cleanup` stops them all from the main shell.
PIDS_DIR=$WORK/pids
mkdir -p "$PIDS_DIR"

# `basalt` on this suite's data directory (and database, when AREAS_DATABASE_URL is set).
adm() {
    "$BIN/basalt" "$@" --data "$DATA" ${AREAS_DATABASE_URL:+--database-url "$AREAS_DATABASE_URL"}
}
# The only secret the area commands need: the root key and its passphrase, from `init`.
ROOT_KEY=(--root-key "$DATA/offline/root-key.pem" --root-password-file "$DATA/offline/root-password.txt")

# Starts a background process NAME COMMAND... with its output in $WORK/NAME.log.
spawn() {
    local name=$1
    shift
    "$@" >>"$WORK/$name.log" 2>&1 &
    echo $! >"$PIDS_DIR/$name"
}
pid_of() { cat "$PIDS_DIR/$1" 2>/dev/null; }
# Stops the background process NAME and waits (up to 10 s) until it is gone.
stop() {
    local pid
    pid=$(pid_of "$1") || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDS_DIR/$1"
}
stop_all() {
    local f
    for f in "$PIDS_DIR"/*; do [ -e "$f" ] && stop "$(basename "$f")"; done
    return 0
}

start_dns() {
    spawn dns "$BIN/basalt-test-dns" --listen "$DNS_ADDR" --control "$DNS_CONTROL"
}

# Waits up to $1 seconds for COMMAND... to succeed (every 0.2 s); false if it never did.
wait_for() {
    local deadline=$(($(date +%s) + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

directory_up() { curl -sf --cacert "$WORK/root.pem" "$1" >/dev/null; }

# ---- certificates ----

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
# Subject key identifier of a certificate, as basalt writes key ids: lowercase hex, no colons.
keyid_of() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr 'A-F' 'a-f'; }
# The key id of a certificate's issuer (its authority key identifier).
issuer_keyid_of() {
    openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | sed -n 2p | sed 's/keyid://' | tr -d ' :' | tr 'A-F' 'a-f'
}
fingerprint_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# Splits a PEM chain file into its first certificate ($2) and the rest ($3).
split_chain() {
    awk -v out="$2" -v rest="$3" 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} {print > (n==1 ? out : rest)}' "$1"
}

# Checks a leaf of area AREA: it chains to the root through CHAIN, whose first certificate is
# the intermediate at INTERMEDIATE (the area's active one), carries exactly NAMES (as
# check_leaf), names that intermediate as its issuer, and is clean under pkilint.
check_area_leaf() {
    local leaf=$1 chain=$2 names=$3 intermediate=$4 got
    openssl verify -x509_strict -purpose sslserver -CAfile "$WORK/root.pem" -untrusted "$chain" "$leaf" >/dev/null \
        || fail "$leaf does not chain to basalt's root through $chain"
    got=$(openssl x509 -in "$leaf" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' | sort | paste -sd, -)
    [ "$got" = "$names" ] || fail "$leaf names '$got', expected '$names'"
    [ "$(openssl x509 -in "$chain" | fingerprint_of /dev/stdin)" = "$(fingerprint_of "$intermediate")" ] \
        || fail "the chain of $leaf does not start with $intermediate"
    [ "$(issuer_keyid_of "$leaf")" = "$(keyid_of "$intermediate")" ] \
        || fail "$leaf was not issued by $intermediate (authority key id $(issuer_keyid_of "$leaf"))"
    lint "$leaf"
}

# Leaves forged in the test: a certificate for NAME (a DNS name or an IP address) signed
# directly with an intermediate's key, never through basalt. Only name constraints can stop it.
forge() {
    local name=$1 ca=$2 ca_key=$3 out=$4 san subject="/CN=$1"
    # An address goes in the SAN only: openssl would check an address-like CN as a DNS name.
    if [[ $name =~ ^[0-9.]+$|: ]]; then san="IP:$name" subject="/O=forged"; else san="DNS:$name"; fi
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$out.key" \
        -subj "$subject" -out "$out.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=$san" "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid" >"$out.ext"
    openssl x509 -req -in "$out.csr" -CA "$ca" -CAkey "$ca_key" -set_serial "0x$(openssl rand -hex 16)" \
        -days 1 -extfile "$out.ext" -out "$out" 2>/dev/null || fail "could not forge a certificate for $name"
}

# ---- JSON output of the admin commands ----

json_ok() { jq -e . "$1" >/dev/null || fail "$1 is not JSON: $(head -c 300 "$1")"; }
# True if the JSON file $1 holds the string $2 (case-insensitive) anywhere, as a whole value.
json_has() { jq -e --arg s "$2" 'any(.. | strings; ascii_downcase == ($s | ascii_downcase))' "$1" >/dev/null; }
