#!/usr/bin/env bash
# Side-by-side benchmark of runc, crun and berth-runtime on the same busybox bundle doing
# /bin/true: create, start, delete and run timed separately (medians), plus peak RSS.
# Two configs: runc's default spec, and the same with memory + pids limits.
# crun refuses the hybrid cgroup layout, so it runs in a private mount namespace with the
# cgroup2 mount at /sys/fs/cgroup/unified unmounted. Needs root, runc, crun, busybox-static.
# Usage: bench/runtime/run.sh [RUNS]   (default 30). Writes bench/runtime/results-*.json and
# prints a Markdown table.
set -euo pipefail
RUNS=${1:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

BERTH=$("$REPO/scripts/build-runtime.sh" -q)

make_bundle() { # dir limits(0/1)
    local b=$1
    mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
    cp /bin/busybox "$b/rootfs/bin/busybox"
    for a in $(/bin/busybox --list); do [ -e "$b/rootfs/bin/$a" ] || ln -s busybox "$b/rootfs/bin/$a"; done
    (cd "$b" && runc spec)
    python3 - "$b/config.json" "$2" <<'PY'
import json, sys
p, limits = sys.argv[1], sys.argv[2] == "1"
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
if limits:
    c["linux"]["resources"]["memory"] = {"limit": 64 << 20}
    c["linux"]["resources"]["pids"] = {"limit": 64}
json.dump(c, open(p, "w"), indent=1)
PY
}

make_bundle "$WORK/default" 0
make_bundle "$WORK/limits" 1

for cfg in default limits; do
    python3 "$HERE/driver.py" runc "$(command -v runc)" "$WORK/$cfg" "$RUNS" "$HERE/results-runc-$cfg.json"
    python3 "$HERE/driver.py" berth "$BERTH" "$WORK/$cfg" "$RUNS" "$HERE/results-berth-$cfg.json"
    unshare -m --propagation private sh -c \
        "umount /sys/fs/cgroup/unified 2>/dev/null || true; \
         python3 '$HERE/driver.py' crun '$(command -v crun)' '$WORK/$cfg' '$RUNS' '$HERE/results-crun-$cfg.json'"
done

python3 - "$HERE" "$RUNS" <<'PY'
import json, sys
here, runs = sys.argv[1], sys.argv[2]
print(f"medians of {runs} runs, milliseconds; peak RSS in KiB (max over runs)\n")
for cfg in ("default", "limits"):
    r = {n: json.load(open(f"{here}/results-{n}-{cfg}.json")) for n in ("runc", "crun", "berth")}
    print(f"### {cfg} config\n")
    print("| phase | runc | crun | berth-runtime | berth/crun | berth/runc |")
    print("|---|---|---|---|---|---|")
    for ph in ("create", "start", "delete", "run"):
        a, b, c = r["runc"][ph], r["crun"][ph], r["berth"][ph]
        print(f"| {ph} | {a:.2f} | {b:.2f} | {c:.2f} | {c/b:.2f} | {c/a:.2f} |")
    for ph in ("create", "run"):
        a, b, c = (r[n]["rss_kb"][ph] for n in ("runc", "crun", "berth"))
        print(f"| peak RSS {ph} (KiB) | {a} | {b} | {c} | {c/b:.2f} | {c/a:.2f} |")
    print()
PY
