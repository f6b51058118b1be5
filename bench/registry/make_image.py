#!/usr/bin/env python3
"""Writes a docker-archive (docker save format) of a multi-layer image whose layers are real
files of this machine (so they compress as real images do): `make_image.py OUT.tar NAME:TAG
LAYER_DIR...`, each LAYER_DIR (absolute) becoming one layer, the first the busybox rootfs
given as a directory."""
import hashlib, io, json, os, sys, tarfile, tempfile

out, tag, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
work = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(out)))
layers, diff_ids = [], []
for i, d in enumerate(dirs):
    path = os.path.join(work, f"layer{i}.tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        if i == 0:  # a rootfs directory: its contents at /
            for name in sorted(os.listdir(d)):
                t.add(os.path.join(d, name), arcname=name)
        else:       # a host directory at its own path
            t.add(d, arcname=d.lstrip("/"))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    layers.append(f"layer{i}.tar")
    diff_ids.append("sha256:" + h.hexdigest())
config = {
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
               "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created_by": f"layer {i}"} for i in range(len(dirs))],
}
cfg = json.dumps(config).encode()
cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
with open(os.path.join(work, cfg_name), "wb") as f:
    f.write(cfg)
with open(os.path.join(work, "manifest.json"), "w") as f:
    json.dump([{"Config": cfg_name, "RepoTags": [tag], "Layers": layers}], f)
with tarfile.open(out, "w") as t:
    for name in ["manifest.json", cfg_name] + layers:
        t.add(os.path.join(work, name), arcname=name)
for name in os.listdir(work):
    os.unlink(os.path.join(work, name))
os.rmdir(work)
