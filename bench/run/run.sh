#!/usr/bin/env bash
# Side-by-side benchmark of `berth run --rm IMG true` and `podman run --rm IMG true` on the
# same busybox image (made from /bin/busybox, imported into both), with network none and
# with a bridge network: medians of RUNS runs and the berth/podman ratio. Then the RSS
# (VmRSS) of berth's shim and of podman's conmon for a running `sleep` container.
#
# Everything runs inside a throwaway netns that plays the host (`nsenter --net=`, not
# `ip netns exec`, which hides the cgroup v1 mounts); podman follows
# /work/shared/reference/podman-interop.md (cni backend, runc, default_ulimits, temp storage,
# --root/--runroot) and everything is removed at the end.
# Needs root, podman, runc, conmon, containernetworking-plugins, busybox-static, python3.
# Usage: sudo bench/run/run.sh [RUNS]   (default 20; BENCH_NO_BUILD=1 uses target/release as is)
set -euo pipefail
RUNS=${1:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }

[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q --workspace --bins --manifest-path "$REPO/Cargo.toml"
BIN=$REPO/target/release
WORK=$(mktemp -d /tmp/berth-runbench.XXXXXX)
SCRATCH=$WORK/podman
HOST=brb-host-$$
export BERTH_ROOT=$WORK/berth-root BERTH_RUN=$WORK/berth-run
export CONTAINERS_CONF=$SCRATCH/containers.conf CONTAINERS_STORAGE_CONF=$SCRATCH/storage.conf

berth() { nsenter --net=/run/netns/$HOST "$BIN/berth" "$@"; }
pm() { timeout 60 nsenter --net=/run/netns/$HOST podman --root "$SCRATCH/storage" --runroot "$SCRATCH/run" "$@"; }
cleanup() {
    set +e
    for c in $(berth ps -aq 2>/dev/null); do berth rm -f "$c" >/dev/null 2>&1; done
    berth net rm --force benchnet >/dev/null 2>&1
    pm rm -af -t 0 >/dev/null 2>&1; pm rmi -af >/dev/null 2>&1
    umount "$BERTH_RUN/netns" 2>/dev/null
    ip netns del "$HOST" 2>/dev/null
    rm -rf "$WORK"
    rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
    true
}
trap cleanup EXIT
ip netns add "$HOST"
nsenter --net=/run/netns/$HOST ip link set lo up

# podman's configuration, as in the interop recipe (no logging wrapper: plain plugins).
mkdir -p "$SCRATCH"/{cni-bin,net.d,tmp,log,ipam,storage,run}
ln -s /usr/lib/cni/* "$SCRATCH/cni-bin/"
cat > "$SCRATCH/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$SCRATCH/cni-bin"]
network_config_dir = "$SCRATCH/net.d"
default_subnet = "10.233.9.0/24"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$SCRATCH/events.log"
tmp_dir = "$SCRATCH/tmp"
static_dir = "$SCRATCH/storage/libpod"
volume_path = "$SCRATCH/storage/volumes"
CONF
cat > "$SCRATCH/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$SCRATCH/storage"
runroot = "$SCRATCH/run"
CONF
cat > "$SCRATCH/net.d/pc-net.conflist" <<CONF
{ "cniVersion": "1.0.0", "name": "pc-net", "plugins": [
  { "type": "bridge", "bridge": "pc-br0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
    "ipam": { "type": "host-local", "dataDir": "$SCRATCH/ipam", "routes": [{ "dst": "0.0.0.0/0" }],
              "ranges": [[{ "subnet": "10.233.0.0/24", "gateway": "10.233.0.1" }]] } },
  { "type": "portmap", "capabilities": { "portMappings": true } } ] }
CONF

# One busybox image, imported into both.
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in $("$ROOTFS/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOTFS/etc/passwd"
tar -C "$ROOTFS" -cf "$WORK/bb.tar" .
berth import "$WORK/bb.tar" bb:latest >/dev/null
pm import --change 'CMD ["sh"]' "$WORK/bb.tar" bb >/dev/null 2>&1
berth net create --subnet 10.234.0.0/24 benchnet >/dev/null
[ "$(pm info --format '{{.Host.NetworkBackend}}')" = cni ]

# time_runs FILE CMD...: RUNS timed runs (after 2 untimed warm-ups), milliseconds to FILE.
time_runs() {
    local file=$1; shift
    "$@" >/dev/null; "$@" >/dev/null
    : > "$file"
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 )) >> "$file"
    done
}
time_runs "$WORK/berth-none" berth run --rm --network none bb true
time_runs "$WORK/podman-none" pm run --rm --network none bb true
time_runs "$WORK/berth-bridge" berth run --rm --network benchnet bb true
time_runs "$WORK/podman-bridge" pm run --rm --network pc-net bb true

# RSS of the per-container supervisor for a running `sleep`.
vmrss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
id=$(berth run -d --network none bb sleep 600)
sleep 0.5
shim_pid=$(cat "$BERTH_RUN/containers/$id/shim.pid")
shim_exe=$(readlink "/proc/$shim_pid/exe")
shim_rss=$(vmrss "$shim_pid")
berth rm -f "$id" >/dev/null
pm run -d --name rss --network none bb sleep 600 >/dev/null
sleep 0.5
conmon_pid=$(pm inspect -f '{{.State.ConmonPid}}' rss)
conmon_rss=$(vmrss "$conmon_pid")
pm rm -f -t 0 rss >/dev/null

python3 - "$WORK" "$RUNS" "$shim_rss" "$conmon_rss" "$(basename "$shim_exe")" <<'PY'
import statistics, sys
work, runs, shim, conmon, shim_exe = sys.argv[1:6]
med = lambda n: statistics.median(int(x) for x in open(f"{work}/{n}")) / 1000
print(f"medians of {runs} runs of `run --rm bb true`, milliseconds\n")
print("| network | berth | podman | berth/podman |")
print("|---|---|---|---|")
for net in ("none", "bridge"):
    b, p = med(f"berth-{net}"), med(f"podman-{net}")
    print(f"| {net} | {b:.1f} | {p:.1f} | {b/p:.3f} |")
print(f"\nVmRSS of a running `sleep` container's supervisor, KiB\n")
print("| berth shim (" + shim_exe + ") | podman conmon | ratio |")
print("|---|---|---|")
print(f"| {shim} | {conmon} | {int(shim)/int(conmon):.2f} |")
PY
