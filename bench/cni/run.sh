#!/usr/bin/env bash
# Side-by-side benchmark of berth's CNI plugins against the reference plugins (Debian's
# containernetworking-plugins, installed here if missing): ADD and DEL of one container
# (bridge + host-local, ptp/veth + host-local), and the N-th ADD as --scale containers join
# one bridge; with --suite firewall (or all), bridge with ipMasq + portmap with 1 and 10
# published ports. Prints a markdown report (medians and ratios); bench/RESULTS.md holds the
# figures. Everything runs in throwaway namespaces made by cni-bench; the machine's own
# network is not touched.
# Usage: sudo bench/cni/run.sh [cni-bench flags]   (default: --suite plugins --runs 30
#        --scale 1000; BENCH_NO_BUILD=1 uses target/release and target/plugins as they are)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }

if [ ! -x /usr/lib/cni/bridge ] || [ ! -x /usr/lib/cni/host-local ] || [ ! -x /usr/lib/cni/portmap ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containernetworking-plugins >/dev/null
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release -q -p berth-bench --manifest-path "$REPO/Cargo.toml"
    "$REPO/scripts/build-plugins.sh" >/dev/null
fi
[ $# -gt 0 ] || set -- --suite plugins --runs 30 --scale 1000
cd "$REPO"
exec target/release/cni-bench --ref-dir /usr/lib/cni --berth-dir target/plugins "$@"
