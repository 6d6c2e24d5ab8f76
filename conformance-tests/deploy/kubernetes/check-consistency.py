"""Checks what a schema cannot about the rendered basalt manifests: that the pieces agree.

    check-consistency.py overlay RENDERED.yaml BASALT_BINARY
    check-consistency.py cert-manager RENDERED.yaml OVERLAY_RENDERED.yaml

overlay: the Services' ports and selectors reach the basalt container's named ports and
pods; the listen addresses in the environment use those ports; the probes are /healthz and
/readyz on the metrics port; the security context is the hardened one; every Secret and
ConfigMap the pod mounts is rendered; the Secret holds each area's intermediate and key; the
overlay's own shape (SQLite: one replica, Recreate, a PVC; PostgreSQL: several replicas, a
PodDisruptionBudget selecting them, anti-affinity, the URL from a Secret); and basalt itself
accepts the rendered basalt.toml with the rendered environment applied (`basalt config
check`, which also proves every BASALT_SECTION__KEY names a real key).

cert-manager: the ClusterIssuer's server is the ACME Service's in-cluster URL with
/acme/<area>/directory of an area basalt.toml defines, its caBundle is the base64 of the
overlay's root certificate (a PEM certificate openssl reads), its EAB Secret is rendered with
the key it names, and the Certificate example uses that issuer, both TLS usages, a 24-hour
lifetime and a new key at each renewal.

Prints each problem and exits 1 if there is any (never 0 on an empty input).
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

problems = []


def problem(text):
    problems.append(text)


def load(path):
    objects = [o for o in yaml.safe_load_all(open(path)) if o]
    if not objects:
        problem(f"{path}: no objects rendered")
    return objects


def find(objects, kind, name=None):
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects, kind, name=None):
    found = find(objects, kind, name)
    if len(found) != 1:
        problem(f"expected one {kind} {name or ''}, found {len(found)}")
        return None
    return found[0]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def check_overlay(objects, basalt):
    deployment = one(objects, "Deployment", "basalt")
    if deployment is None:
        return
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"]["labels"]
    if not selects(deployment["spec"]["selector"]["matchLabels"], labels):
        problem("the Deployment's selector does not select its own pods")
    container = next((c for c in spec["containers"] if c["name"] == "basalt"), None)
    if container is None:
        problem("no container named basalt")
        return
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if set(ports) != {"acme", "pki", "metrics"}:
        problem(f"container ports are {sorted(ports)}, expected acme, pki, metrics")

    # Services: each selects the pods and targets a named container port.
    services = find(objects, "Service")
    for service in services:
        name = service["metadata"]["name"]
        if not selects(service["spec"].get("selector"), labels):
            problem(f"Service {name} does not select the basalt pods")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if target not in ports and target not in ports.values():
                problem(f"Service {name} port {port['port']} targets {target!r}, not a container port")
    targeted = {p.get("targetPort") for s in services for p in s["spec"]["ports"]}
    for name in ports:
        if name not in targeted:
            problem(f"no Service exposes the container port {name}")

    # The listen addresses basalt gets from its environment are on the container ports.
    env = {e["name"]: e for e in container.get("env", [])}
    for variable, port_name in [
        ("BASALT_SERVER__LISTEN", "acme"),
        ("BASALT_SERVER__PKI_LISTEN", "pki"),
        ("BASALT_SERVER__METRICS_LISTEN", "metrics"),
    ]:
        value = env.get(variable, {}).get("value")
        if value is None:
            problem(f"{variable} is not set")
        elif port_of(value) != ports.get(port_name):
            problem(f"{variable}={value} is not on the {port_name} container port {ports.get(port_name)}")

    # Probes: liveness and startup on /healthz, readiness on /readyz, on the metrics port.
    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")]:
        get = container.get(probe, {}).get("httpGet")
        if not get:
            problem(f"{probe} is not an HTTP GET")
            continue
        if get.get("path") != path:
            problem(f"{probe} path is {get.get('path')}, expected {path}")
        if get.get("port") not in ("metrics", ports.get("metrics")):
            problem(f"{probe} port is {get.get('port')}, expected the metrics port")

    # The hardened security context, on every container.
    pod_security = spec.get("securityContext", {})
    if pod_security.get("runAsNonRoot") is not True:
        problem("the pod does not set runAsNonRoot: true")
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem("the pod's seccompProfile is not RuntimeDefault")
    for c in spec.get("initContainers", []) + spec["containers"]:
        security = c.get("securityContext", {})
        if security.get("allowPrivilegeEscalation") is not False:
            problem(f"container {c['name']} allows privilege escalation")
        if security.get("readOnlyRootFilesystem") is not True:
            problem(f"container {c['name']} has a writable root filesystem")
        if security.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(f"container {c['name']} does not drop ALL capabilities")
        if "memory" not in c.get("resources", {}).get("limits", {}):
            problem(f"container {c['name']} has no memory limit")
    if not any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])):
        problem("no writable /tmp for basalt (the root filesystem is read-only; SQLite uses /tmp)")
    account = one(objects, "ServiceAccount", spec.get("serviceAccountName"))
    if account is not None and account.get("automountServiceAccountToken") is not False:
        problem("the ServiceAccount mounts its API token")
    if spec.get("automountServiceAccountToken") is not False:
        problem("the pod mounts an API token")

    # Every Secret, ConfigMap and claim the pod mounts is rendered.
    volumes = {v["name"]: v for v in spec["volumes"]}
    for volume in volumes.values():
        if "secret" in volume:
            one(objects, "Secret", volume["secret"]["secretName"])
        if "configMap" in volume:
            one(objects, "ConfigMap", volume["configMap"]["name"])
        if "persistentVolumeClaim" in volume:
            one(objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    config_map = one(objects, "ConfigMap", volumes.get("config", {}).get("configMap", {}).get("name"))
    root_map = one(objects, "ConfigMap", "basalt-root")
    ca_secret = one(objects, "Secret", volumes.get("ca", {}).get("secret", {}).get("secretName"))
    if None in (config_map, root_map, ca_secret):
        return
    if "root.pem" not in root_map.get("data", {}):
        problem("ConfigMap basalt-root has no root.pem")

    # basalt itself checks the rendered file with the rendered environment.
    args = container.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else None
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    if config_path != os.path.join(mounts.get("config", "?"), "basalt.toml"):
        problem(f"--config {config_path} is not basalt.toml in the config volume")
    toml_text = config_map["data"]["basalt.toml"]
    check_config(basalt, toml_text, env)

    # The CA Secret holds every area's intermediate and key (AREA__FILE entries).
    areas = set(re.findall(r"^\[directories\.([a-z0-9_-]+)\]", toml_text, re.M)) or {"default"}
    keys = set(ca_secret.get("data", {}))
    for area in areas:
        for file in ("intermediate.pem", "intermediate-key.pem"):
            if f"{area}__{file}" not in keys:
                problem(f"Secret {ca_secret['metadata']['name']} lacks {area}__{file}")

    # The overlay's own shape.
    replicas = deployment["spec"].get("replicas", 1)
    database = env.get("BASALT_STORAGE__DATABASE_URL")
    if "persistentVolumeClaim" in volumes.get("data", {}):
        if replicas != 1:
            problem(f"SQLite with {replicas} replicas")
        if deployment["spec"].get("strategy", {}).get("type") != "Recreate":
            problem("SQLite without strategy Recreate")
        if database:
            problem("SQLite overlay sets a database URL")
    else:
        if replicas < 2:
            problem(f"the PostgreSQL overlay runs {replicas} replica(s)")
        if not database or "secretKeyRef" not in database.get("valueFrom", {}):
            problem("the database URL does not come from a Secret")
        budgets = find(objects, "PodDisruptionBudget")
        if not any(selects(b["spec"]["selector"]["matchLabels"], labels) for b in budgets):
            problem("no PodDisruptionBudget selects the basalt pods")
        if "podAntiAffinity" not in spec.get("affinity", {}):
            problem("no pod anti-affinity")


def check_config(basalt, toml_text, env):
    """`basalt config check` on the rendered file, with the rendered environment applied
    (a Secret's value replaced by a well-formed sample)."""
    samples = {"BASALT_STORAGE__DATABASE_URL": "postgres://basalt:sample@db.example:5432/basalt"}
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name, entry in env.items():
        value = entry.get("value", samples.get(name))
        if value is None:
            problem(f"{name} comes from {entry.get('valueFrom')} and the check has no sample for it")
            continue
        environment[name] = value
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(toml_text)
    try:
        result = subprocess.run(
            [basalt, "config", "check", "--config", f.name, "--json"],
            env=environment, capture_output=True, text=True,
        )
    finally:
        os.unlink(f.name)
    if result.returncode != 0:
        problem(f"basalt config check refused the rendered config: {result.stdout}{result.stderr}")
        return
    report = json.loads(result.stdout)
    overrides = set(report["overrides"])
    wanted = {n[len("BASALT_"):].lower().replace("__", ".") for n in environment if "__" in n}
    if overrides != wanted:
        problem(f"basalt applied the overrides {sorted(overrides)}, the pod sets {sorted(wanted)}")


def check_cert_manager(objects, overlay):
    issuer = one(objects, "ClusterIssuer")
    if issuer is None:
        return
    acme = issuer["spec"]["acme"]
    deployment = one(overlay, "Deployment", "basalt")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    config_map = next(o for o in overlay if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("basalt-config"))
    toml_text = config_map["data"]["basalt.toml"]

    match = re.fullmatch(r"https://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local(?::(\d+))?/acme/([a-z0-9_-]+)/directory", acme["server"])
    if not match:
        problem(f"server {acme['server']} is not https://SERVICE.NAMESPACE.svc.cluster.local[:PORT]/acme/AREA/directory")
    else:
        name, namespace, port, area = match.group(1), match.group(2), int(match.group(3) or 443), match.group(4)
        service = one(overlay, "Service", name)
        if service is not None:
            if service["metadata"].get("namespace") != namespace:
                problem(f"Service {name} is in namespace {service['metadata'].get('namespace')}, the URL says {namespace}")
            if not selects(service["spec"].get("selector"), labels):
                problem(f"Service {name} does not select the basalt pods")
            if not any(p["port"] == port and p.get("targetPort") == "acme" for p in service["spec"]["ports"]):
                problem(f"Service {name} has no port {port} targeting the acme container port")
        if area != "default" and f"[directories.{area}]" not in toml_text:
            problem(f"area {area} is not in basalt.toml")
        served = f"{name}.{namespace}.svc.cluster.local"
        if served not in toml_text:
            problem(f"{served} is not in server.serving_names: basalt's HTTPS certificate would not name it")

    # caBundle: base64 of a PEM certificate, the overlay's root.
    root = one(overlay, "ConfigMap", "basalt-root")
    try:
        bundle = base64.b64decode(acme.get("caBundle", ""), validate=True).decode()
    except Exception as error:
        problem(f"caBundle is not base64: {error}")
        bundle = ""
    parsed = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=bundle, capture_output=True, text=True)
    if parsed.returncode != 0 or not bundle.startswith("-----BEGIN CERTIFICATE-----"):
        problem(f"caBundle is not a PEM certificate: {parsed.stderr.strip()}")
    elif root is not None and bundle.strip() != root["data"]["root.pem"].strip():
        problem("caBundle is not the overlay's root certificate (ConfigMap basalt-root)")

    # EAB: the Secret the issuer names, in cert-manager's namespace, with that key.
    binding = acme.get("externalAccountBinding", {})
    ref = binding.get("keySecretRef", {})
    secret = one(objects, "Secret", ref.get("name"))
    if secret is not None:
        if secret["metadata"].get("namespace") != "cert-manager":
            problem("the EAB Secret is not in the cert-manager namespace")
        if ref.get("key") not in secret.get("data", {}):
            problem(f"the EAB Secret lacks the key {ref.get('key')}")
        elif not re.fullmatch(r"[A-Za-z0-9_-]+", base64.b64decode(secret["data"][ref["key"]]).decode()):
            problem("the EAB HMAC key is not base64url (a stray newline or quote?)")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", binding.get("keyID", "")):
        problem(f"the EAB keyID {binding.get('keyID')!r} is not a basalt kid (base64url)")

    certificate = one(objects, "Certificate")
    if certificate is not None:
        spec = certificate["spec"]
        if spec["issuerRef"].get("kind") != "ClusterIssuer" or spec["issuerRef"].get("name") != issuer["metadata"]["name"]:
            problem("the Certificate does not use the ClusterIssuer")
        if not {"server auth", "client auth"} <= set(spec.get("usages", [])):
            problem("the Certificate lacks server auth or client auth")
        if spec.get("privateKey", {}).get("rotationPolicy") != "Always":
            problem("the Certificate keeps its private key across renewals")
        if spec.get("duration") != "24h":
            problem(f"the Certificate lasts {spec.get('duration')}, basalt issues 24h")


def main():
    mode, rendered = sys.argv[1], sys.argv[2]
    objects = load(rendered)
    if mode == "overlay":
        check_overlay(objects, sys.argv[3])
    else:
        check_cert_manager(objects, load(sys.argv[3]))
    for text in problems:
        print(f"problem: {text}")
    if problems:
        sys.exit(1)
    print(f"consistent: {len(objects)} objects")


if __name__ == "__main__":
    main()
