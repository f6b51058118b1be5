#!/usr/bin/env bash
# berth quickstart: installs what is needed, builds berth, and shows its networking end to end
# with the `berth` CLI: a network is created, two containers (named network namespaces) are
# attached to it through berth's CNI plugins, one of them serves a page on a published port that
# is fetched from an "outside" namespace, they ping each other, and everything is removed.
#
# Everything happens in a throwaway namespace (berth-demo-host) that plays the host, with
# berth's state in a temp dir; the machine's own network is not touched.
# Run as root from the repository: sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (sudo scripts/quickstart.sh)" >&2; exit 1; }

if ! command -v busybox >/dev/null || ! command -v nsenter >/dev/null || ! command -v ip >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 busybox-static util-linux >/dev/null
fi
if ! command -v nft >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null
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
    berth net rm --force demo >/dev/null 2>&1 || true
    berth netns rm a b >/dev/null 2>&1 || true
    umount "$WORK/run/netns" 2>/dev/null || true
    [ -n "${HTTPD:-}" ] && kill "$HTTPD" 2>/dev/null
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
mkdir -p "$WORK/www" && echo "hello from a berth container" > "$WORK/www/index.html"

echo "== berth net create demo"; berth net create demo
berth net ls
echo "== berth netns add a, b"; berth netns add a; berth netns add b
echo "== berth net attach demo a -p 8080:80"
IP_A=$(berth net attach demo a -p 8080:80 | head -n1 | cut -d/ -f1); echo "$IP_A"
echo "== berth net attach demo b"; IP_B=$(berth net attach demo b | head -n1 | cut -d/ -f1); echo "$IP_B"
echo "== a ($IP_A) pings b ($IP_B)"
berth netns exec a busybox ping -c 2 -W 2 "$IP_B"
echo "== b pings a"
berth netns exec b busybox ping -c 2 -W 2 "$IP_A"
echo "== a serves a page on port 80; the outside fetches it through the host's port 8080"
# (not through the berth() function: $! must be the server itself, which nsenter and berth exec)
nsenter --net=/run/netns/$HOST "$BIN/berth" netns exec a busybox httpd -f -p 80 -h "$WORK/www" &
HTTPD=$!
sleep 0.3
nsenter --net=/run/netns/$OUT busybox wget -q -O - http://192.168.79.1:8080/
echo "== berth net inspect demo (attachments)"
berth net inspect demo | grep -A1 -E '"(addresses|containerId)"'
echo "== detach both, remove the network"
kill "$HTTPD"; wait "$HTTPD" 2>/dev/null || true; HTTPD=
berth net detach demo a && berth net detach demo b && berth net rm demo
echo "quickstart: OK"
