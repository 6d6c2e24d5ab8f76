"""Lays out the basalt pod of a rendered overlay on this machine, so that the test can run
what the kubelet would run, without a cluster:

    extract-pod.py RENDERED.yaml ROOT

Under ROOT, one directory per pod volume: Secrets and ConfigMaps as the kubelet writes
them (each key a symlink into a `..data` directory, Secret files mode 0440 as fsGroup makes
them), an empty directory for emptyDir and PersistentVolumeClaim volumes. Then:
  ROOT/init.sh     the init container's script, its mount paths moved under ROOT
  ROOT/serve.env   the basalt container's environment (NAME=VALUE lines), paths moved too
  ROOT/serve.args  its arguments to `basalt serve`, one per line, paths moved too
"""

import base64
import os
import re
import shutil
import sys

import yaml


def main():
    rendered, root = sys.argv[1], sys.argv[2]
    objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    spec = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]

    for volume in spec["volumes"]:
        path = os.path.join(root, volume["name"])
        if ("secret" in volume or "configMap" in volume) and os.path.isdir(path):
            shutil.rmtree(path)
        if "secret" in volume:
            data = by_name[("Secret", volume["secret"]["secretName"])]["data"]
            files = {k: base64.b64decode(v) for k, v in data.items()}
            write_atomic_volume(path, files, volume["secret"].get("defaultMode", 0o644))
        elif "configMap" in volume:
            data = by_name[("ConfigMap", volume["configMap"]["name"])]["data"]
            files = {k: v.encode() for k, v in data.items()}
            write_atomic_volume(path, files, volume["configMap"].get("defaultMode", 0o644))
        else:
            os.makedirs(path, mode=0o700, exist_ok=True)

    init = spec["initContainers"][0]
    script = init["command"][-1]
    with open(os.path.join(root, "init.sh"), "w") as f:
        f.write(relocate(script, init["volumeMounts"], root))

    container = next(c for c in spec["containers"] if c["name"] == "basalt")
    with open(os.path.join(root, "serve.env"), "w") as f:
        for entry in container.get("env", []):
            if "value" in entry:
                f.write(f"{entry['name']}={relocate(entry['value'], container['volumeMounts'], root)}\n")
    with open(os.path.join(root, "serve.args"), "w") as f:
        for arg in container.get("args", []):
            f.write(relocate(arg, container["volumeMounts"], root) + "\n")


def write_atomic_volume(path, files, mode):
    """The kubelet's layout: PATH/..TIMESTAMP/KEY, PATH/..data -> ..TIMESTAMP, PATH/KEY ->
    ..data/KEY. With fsGroup set, kubelet adds group read to the files (0440 for 0400)."""
    real = os.path.join(path, "..2026_01_01_00_00_00.000000000")
    os.makedirs(real)
    for key, content in files.items():
        with open(os.path.join(real, key), "wb") as f:
            f.write(content)
        os.chmod(os.path.join(real, key), mode | 0o440)
        os.symlink(os.path.join("..data", key), os.path.join(path, key))
    os.symlink(os.path.basename(real), os.path.join(path, "..data"))


def relocate(text, mounts, root):
    """TEXT with every mount path (as a whole path or a path's start) replaced by its volume's
    directory under ROOT, in one pass, so that a replacement is never replaced again."""
    paths = sorted((m["mountPath"] for m in mounts), key=len, reverse=True)
    where = {m["mountPath"]: os.path.join(root, m["name"]) for m in mounts}
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, paths)) + r")(?![\w.-])")
    return pattern.sub(lambda m: where[m.group(1)], text)


if __name__ == "__main__":
    main()
