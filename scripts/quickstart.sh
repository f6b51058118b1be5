#!/usr/bin/env bash
# berth quickstart: installs what is needed, builds berth, and shows its main job end to end
# with the `berth` CLI: a busybox image is made from the machine's static busybox and imported,
# a network is created, a web server container (busybox httpd) runs on it with a published
# port, its page is fetched from an "outside" namespace, a second container reaches it by
# address, `berth ps` shows it, and everything is removed.
#
# Everything happens in a throwaway namespace (berth-demo-host) that plays the host, with
# berth's state in a temp dir; the machine's own network is not touched.
# Run as root from the repository: sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (sudo scripts/quickstart.sh)" >&2; exit 1; }

# What the build and the demo need, as (command or library, Debian package): protoc because the
# etcd client (overlay networks) compiles etcd's protos, libseccomp for berth-runtime's filters.
missing=()
for pair in busybox:busybox-static nsenter:util-linux ip:iproute2 nft:nftables \
    protoc:protobuf-compiler pkg-config:pkg-config; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
dpkg -s libseccomp-dev >/dev/null 2>&1 || missing+=(libseccomp-dev)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release --workspace --bins

BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
HOST=berth-demo-host
OUT=berth-demo-outside
export BERTH_ROOT=$WORK/root BERTH_RUN=$WORK/run
# berth ARGS: the CLI, run inside the demo host namespace (only the network namespace changes).
berth() { nsenter --net=/run/netns/$HOST "$BIN/berth" "$@"; }
cleanup() {
    for c in $(berth ps -aq 2>/dev/null); do berth rm -f "$c" >/dev/null 2>&1 || true; done
    berth net rm --force demo >/dev/null 2>&1 || true
    umount "$WORK/run/netns" 2>/dev/null || true
    ip netns del "$HOST" 2>/dev/null || true
    ip netns del "$OUT" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$HOST"
ip netns add "$OUT"
# The "outside" network: a veth from the demo host (192.168.79.1) to a neighbour (.2).
ip link add qs-host netns "$HOST" type veth peer name eth0 netns "$OUT"
nsenter --net=/run/netns/$HOST sh -c 'ip addr add 192.168.79.1/24 dev qs-host; ip link set qs-host up; ip link set lo up'
nsenter --net=/run/netns/$OUT sh -c 'ip addr add 192.168.79.2/24 dev eth0; ip link set eth0 up; ip link set lo up'

# A busybox image: the static busybox, its applets as symlinks, and a page to serve.
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/www"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for a in $("$ROOTFS/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOTFS/etc/passwd"
echo "hello from a berth container" > "$ROOTFS/www/index.html"
tar -C "$ROOTFS" -cf "$WORK/busybox.tar" .
echo "== berth import busybox.tar busybox:latest"; berth import "$WORK/busybox.tar" busybox:latest
berth images
echo "== berth net create demo"; berth net create demo
echo "== berth run -d --name web --network demo -p 8080:80 busybox httpd -f -p 80 -h /www"
berth run -d --name web --network demo -p 8080:80 busybox httpd -f -p 80 -h /www
sleep 0.3
echo "== the outside fetches the page through the host's port 8080"
nsenter --net=/run/netns/$OUT busybox wget -q -O - http://192.168.79.1:8080/
WEB_IP=$(berth inspect web | grep -A1 '"IpAddresses"' | tail -n1 | tr -d ' ",' | cut -d/ -f1)
echo "== a second container on demo fetches it from web ($WEB_IP) directly"
berth run --rm --network demo busybox wget -q -O - "http://$WEB_IP/index.html"
echo "== berth ps"; berth ps
echo "== berth exec web: the container's hostname (its short id) and /etc/hosts"
berth exec web sh -c 'echo "hostname: $(hostname)"; cat /etc/hosts | tail -n1'
echo "== stop, remove the container and the network"
berth stop -t 2 web && berth rm web && berth net rm demo
echo "quickstart: OK"
