#!/usr/bin/env bash
# berth quickstart: installs what is needed, builds berth, and shows its CNI plugins working end
# to end: two containers (network namespaces) join a bridge through berth's `bridge` and
# `host-local` plugins, ping each other, and are removed again.
#
# Everything happens in throwaway namespaces (berth-demo-*); the machine's own network is
# not touched. Run as root from the repository: sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (sudo scripts/quickstart.sh)" >&2; exit 1; }

if ! command -v busybox >/dev/null || ! command -v nsenter >/dev/null || ! command -v ip >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 busybox-static util-linux >/dev/null
fi
cargo build --release --workspace --bins

BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
HOST=berth-demo-host
cleanup() {
    for n in a b; do run_cni DEL "$n" >/dev/null 2>&1 || true; done
    for ns in "$HOST" berth-demo-a berth-demo-b; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
CONF='{"cniVersion":"1.1.0","name":"demo","type":"bridge","bridge":"berth0","isGateway":true,
"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.7.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],
"dataDir":"'"$WORK"'/ipam"}}'
# run_cni COMMAND CONTAINER: call berth's bridge plugin as a CNI runtime would, from the host netns.
run_cni() {
    CNI_COMMAND=$1 CNI_CONTAINERID=demo-$2 CNI_NETNS=/run/netns/berth-demo-$2 CNI_IFNAME=eth0 \
        CNI_PATH=$BIN nsenter --net=/run/netns/$HOST "$BIN/bridge" <<<"$CONF"
}
trap cleanup EXIT

ip netns add "$HOST"
ip netns add berth-demo-a
ip netns add berth-demo-b
echo "== ADD container a"; A=$(run_cni ADD a); echo "$A"
echo "== ADD container b"; B=$(run_cni ADD b); echo "$B"
ip_of() { grep -o '"address":"[0-9.]*' <<<"$1" | head -n1 | cut -d'"' -f4; }
IP_A=$(ip_of "$A"); IP_B=$(ip_of "$B")
echo "== a ($IP_A) pings b ($IP_B)"
nsenter --net=/run/netns/berth-demo-a busybox ping -c 2 -W 2 "$IP_B"
echo "== b pings a"
nsenter --net=/run/netns/berth-demo-b busybox ping -c 2 -W 2 "$IP_A"
echo "== DEL both"
run_cni DEL a && run_cni DEL b
echo "quickstart: OK"
