#!/usr/bin/env bash
# Side-by-side benchmark of berthd against Debian's dockerd (package docker.io, 20.10), both
# driven by the same docker CLI (/usr/local/bin/docker, 28.x), on the same busybox image:
#   1. `docker run --rm bb true` through berthd, through dockerd, and `berth run --rm bb true`
#      (the daemon's overhead over the CLI), and `docker version` against berthd (the docker
#      CLI's own floor: a Go binary starting and one request, which `berth run` never pays):
#      medians of RUNS runs, ratios;
#   2. 50 `docker run -d bb sleep 600` issued at once: wall time, ratio;
#   3. berthd's VmRSS at start, idle after the burst, and with 100 running containers
#      (growth per container).
# Each daemon runs in a throwaway network namespace of its own that plays its host (dockerd
# also in a private mount namespace, with its own data root, exec root and containerd); the
# machine's own network is not touched. Everything is removed at the end.
# Needs root, docker.io (installed here if missing, without starting its service), the docker
# CLI, busybox-static, python3.
# berth and berthd run the CNI plugins as shipped (static, scripts/build-plugins.sh, target/plugins).
# Usage: sudo bench/daemon/run.sh [RUNS]   (default 20; BENCH_NO_BUILD=1 uses target/release
# and target/plugins as they are)
set -euo pipefail
RUNS=${1:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
DOCKER=/usr/local/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
if ! command -v dockerd >/dev/null; then
    apt-get update -qq
    # A policy-rc.d that says "no" keeps the package from starting a dockerd on the machine's
    # own network; ours goes again afterwards.
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release -q --workspace --bins --manifest-path "$REPO/Cargo.toml"
    "$REPO/scripts/build-plugins.sh" -q
fi
BIN=$REPO/target/release
# berth and berthd use the CNI plugins as they ship: static, from target/plugins.
export BERTH_CNI_PATH=$REPO/target/plugins
[ -x "$BERTH_CNI_PATH/bridge" ] || { echo "run.sh: no $BERTH_CNI_PATH/bridge: run scripts/build-plugins.sh" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-daemonbench.XXXXXX)
BNS=bdb-berth-$$ DNS=bdb-docker-$$
export BERTH_ROOT=$WORK/berth-root BERTH_RUN=$WORK/berth-run
export DOCKER_CONFIG=$WORK/docker-config
BSOCK=$WORK/berthd.sock DSOCK=$WORK/dockerd.sock

berth() { nsenter --net=/run/netns/$BNS "$BIN/berth" "$@"; }
dk_b() { "$DOCKER" -H "unix://$BSOCK" "$@"; }
dk_d() { "$DOCKER" -H "unix://$DSOCK" "$@"; }
cleanup() {
    set +e
    [ -n "${BERTHD_PID:-}" ] && kill -TERM "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null
    for c in $(berth ps -aq 2>/dev/null); do berth rm -f "$c" >/dev/null 2>&1; done
    berth net rm --force bridge >/dev/null 2>&1
    if [ -n "${DOCKERD_PID:-}" ]; then
        dk_d rm -f $(dk_d ps -aq 2>/dev/null) >/dev/null 2>&1
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DOCKERD_PID" 2>/dev/null
    fi
    umount "$BERTH_RUN/netns" 2>/dev/null
    ip netns del "$BNS" 2>/dev/null
    ip netns del "$DNS" 2>/dev/null
    grep -o " $WORK[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$WORK"
    true
}
trap cleanup EXIT
for ns in "$BNS" "$DNS"; do
    ip netns add "$ns"
    nsenter --net=/run/netns/$ns ip link set lo up
done
mkdir -p "$DOCKER_CONFIG"

# berthd in its host namespace; dockerd in its own, with a private mount namespace so its
# mounts go with it, and cgroupfs (no systemd here).
nsenter --net=/run/netns/$BNS "$BIN/berthd" -H "unix://$BSOCK" >"$WORK/berthd.log" 2>&1 &
BERTHD_PID=$!
nsenter --net=/run/netns/$DNS unshare -m --propagation private \
    dockerd -H "unix://$DSOCK" --data-root "$WORK/docker-root" --exec-root "$WORK/docker-exec" \
    --pidfile "$WORK/dockerd.pid" --exec-opt native.cgroupdriver=cgroupfs \
    --userland-proxy=false >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do
    dk_b version >/dev/null 2>&1 && dk_d version >/dev/null 2>&1 && break
    sleep 0.1
done
dk_b version >/dev/null || { cat "$WORK/berthd.log"; exit 1; }
dk_d version >/dev/null || { tail -20 "$WORK/dockerd.log"; exit 1; }

# One busybox image (no CMD: every run names its command), imported into both.
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in $("$ROOTFS/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOTFS/etc/passwd"
tar -C "$ROOTFS" -cf "$WORK/bb.tar" .
berth import "$WORK/bb.tar" bb:latest >/dev/null
dk_d import "$WORK/bb.tar" bb:latest >/dev/null

# The four timed commands alternate, run by run (after 2 untimed warm-ups of each), so each sees
# the same background (dockerd and containerd keep working after their runs); microseconds to
# t-NAME files.
timed() {
    local file=$1; shift
    local t0 t1
    t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >> "$file"
}
for f in berthd dockerd berth floor; do : > "$WORK/t-$f"; done
for _ in 1 2; do
    dk_b run --rm bb true >/dev/null; dk_d run --rm bb true >/dev/null
    berth run --rm bb true >/dev/null; dk_b version >/dev/null
done
for _ in $(seq "$RUNS"); do
    timed "$WORK/t-berthd" dk_b run --rm bb true
    timed "$WORK/t-dockerd" dk_d run --rm bb true
    timed "$WORK/t-berth" berth run --rm bb true
    timed "$WORK/t-floor" dk_b version
done

# 50 detached runs issued at once; wall time until every one has printed its id.
burst() {
    local t0 t1
    t0=$(date +%s%N)
    for i in $(seq 50); do "$@" run -d bb sleep 600 >/dev/null & done
    wait
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
}
vmrss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rss_start=$(vmrss "$BERTHD_PID")
burst_b=$(burst dk_b)
burst_d=$(burst dk_d)
[ "$(dk_b ps -q | wc -l)" = 50 ] || { echo "berthd: not 50 running" >&2; exit 1; }
[ "$(dk_d ps -q | wc -l)" = 50 ] || { echo "dockerd: not 50 running" >&2; exit 1; }
dk_b rm -f $(dk_b ps -aq) >/dev/null
dk_d rm -f $(dk_d ps -aq) >/dev/null

# berthd's memory: idle after the burst (its pool threads have ended, free memory has been
# handed back), then with 100 running containers.
sleep 8
rss_idle=$(vmrss "$BERTHD_PID")
for i in $(seq 100); do dk_b run -d bb sleep 600 >/dev/null; done
sleep 1
rss_100=$(vmrss "$BERTHD_PID")
dk_b rm -f $(dk_b ps -aq) >/dev/null

python3 - "$WORK" "$RUNS" "$burst_b" "$burst_d" "$rss_idle" "$rss_100" "$rss_start" <<'PY'
import statistics, sys
work, runs, bb, bd, idle, full, start = sys.argv[1:8]
med = lambda n: statistics.median(int(x) for x in open(f"{work}/{n}")) / 1000
b, d, c, f = med("t-berthd"), med("t-dockerd"), med("t-berth"), med("t-floor")
print(f"medians of {runs} runs of `run --rm bb true`, milliseconds\n")
print("| berthd (docker CLI) | dockerd 20.10 (docker CLI) | berthd/dockerd | berth CLI | berthd - berth CLI | docker CLI floor (`docker version`) | berthd - berth CLI - floor |")
print("|---|---|---|---|---|---|---|")
print(f"| {b:.1f} | {d:.1f} | {b/d:.3f} | {c:.1f} | {b-c:+.1f} | {f:.1f} | {b-c-f:+.1f} |")
bb, bd = int(bb) / 1000, int(bd) / 1000
print(f"\n50 `docker run -d bb sleep 600` at once, wall time, milliseconds\n")
print("| berthd | dockerd | berthd/dockerd |\n|---|---|---|")
print(f"| {bb:.0f} | {bd:.0f} | {bb/bd:.3f} |")
idle, full, start = int(idle), int(full), int(start)
print(f"\nberthd VmRSS, KiB\n")
print("| before the burst | idle after the burst | 100 running containers | growth per container |\n|---|---|---|---|")
print(f"| {start} | {idle} | {full} | {(full-idle)/100:.1f} |")
PY
