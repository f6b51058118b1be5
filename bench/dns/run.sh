#!/usr/bin/env bash
# Side-by-side benchmark of berth-dns against aardvark-dns (Debian's, as podman runs it) on the
# same network: one berth user network with NCTR containers, both servers on its gateway
# (berth-dns on port 53, where berth starts it; aardvark-dns on 5353, with a config listing the
# same containers), queried by dnsperf from inside a container on that network:
#   1. throughput (queries per second, dnsperf -c 4 -q 200 for SECS seconds) for container
#      names, and for a forwarded name (both forward to the same upstream, a dnsmasq in an
#      "outside" netns answering it from its own records);
#   2. latency p50/p99 at a fixed 2000 queries per second (dnsperf -v, per query), same names;
#   3. the time from `berth run -d` returning to the new name resolving from another container;
#   4. each server's CPU time (user + system, from /proc) per answered query during the
#      throughput runs: what a query costs the server, apart from the load generator, which
#      shares the machine's cores with it.
# Servers alternate round by round; medians of ROUNDS rounds. Everything runs in throwaway
# network namespaces and is removed at the end. Needs root, dnsperf, aardvark-dns,
# dnsmasq-base (installed here if missing), busybox-static, python3.
# Usage: sudo bench/dns/run.sh [ROUNDS] [SECS]   (default 5 rounds of 5 s; BENCH_NO_BUILD=1
# uses target/release and target/plugins as they are)
set -euo pipefail
ROUNDS=${1:-5}
SECS=${2:-5}
NCTR=${NCTR:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
AARDVARK=/usr/lib/podman/aardvark-dns
if ! command -v dnsperf >/dev/null || [ ! -x "$AARDVARK" ] || ! command -v dnsmasq >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsperf aardvark-dns dnsmasq-base >/dev/null
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release -q --workspace --bins --manifest-path "$REPO/Cargo.toml"
    "$REPO/scripts/build-plugins.sh" -q
fi
BIN=$REPO/target/release
export BERTH_CNI_PATH=$REPO/target/plugins
WORK=$(mktemp -d /tmp/berth-dnsbench.XXXXXX)
HNS=bdns-host-$$ ONS=bdns-out-$$
export BERTH_ROOT=$WORK/root BERTH_RUN=$WORK/run BERTH_RESOLV_CONF=$WORK/resolv.conf
berth() { nsenter --net=/run/netns/$HNS "$BIN/berth" "$@"; }
# `field NAME EXPR`: a Python expression over `c`, the container's inspect record.
field() { berth inspect "$1" | python3 -c "import json,sys; c=json.load(sys.stdin)[0]; print($2)"; }
cleanup() {
    set +e
    # aardvark-dns daemonizes itself: find it by its config directory.
    pkill -f "aardvark-dns --config $WORK/aard" 2>/dev/null
    [ -n "${DNSMASQ_PID:-}" ] && kill "$DNSMASQ_PID" 2>/dev/null
    for c in $(berth ps -aq 2>/dev/null); do berth rm -f "$c" >/dev/null 2>&1; done
    berth net rm bn >/dev/null 2>&1
    ip netns del $HNS 2>/dev/null; ip netns del $ONS 2>/dev/null
    umount -l "$BERTH_RUN/netns" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add $HNS && ip netns add $ONS
ip -n $HNS link set lo up && ip -n $ONS link set lo up
ip -n $HNS link add up0 type veth peer name up1 netns $ONS
ip -n $HNS addr add 198.51.100.2/24 dev up0 && ip -n $HNS link set up0 up
ip -n $ONS addr add 198.51.100.1/24 dev up1 && ip -n $ONS link set up1 up
echo "nameserver 198.51.100.1" > "$BERTH_RESOLV_CONF"
nsenter --net=/run/netns/$ONS dnsmasq -k --no-resolv --no-hosts --bind-interfaces \
    --listen-address=198.51.100.1 --address=/outside.example/203.0.113.7 \
    --pid-file="$WORK/dnsmasq.pid" --cache-size=0 2>"$WORK/dnsmasq.log" &
DNSMASQ_PID=$!

ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for a in $("$ROOTFS/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"; done
tar -C "$ROOTFS" -cf "$WORK/bb.tar" .
berth import "$WORK/bb.tar" bb >/dev/null
berth net create --subnet 10.231.0.0/24 bn >/dev/null
GW=10.231.0.1
for i in $(seq 1 "$NCTR"); do berth run -d --network bn --name "c$i" bb sleep 3600 >/dev/null; done
berth run -d --network bn --name client bb sleep 3600 >/dev/null
CLIENT_NS=$(field client 'c["NetworkSettings"]["SandboxKey"]')

# aardvark-dns's config for the same network: listen on the gateway, forward to the upstream.
mkdir -p "$WORK/aard"
{
    echo "$GW 198.51.100.1"
    for c in $(seq 1 "$NCTR") client; do
        n=$([ "$c" = client ] && echo client || echo "c$c")
        id=$(field "$n" 'c["Id"]')
        ip=$(field "$n" 'c["NetworkSettings"]["Networks"]["bn"]["IpAddresses"][0].split("/")[0]')
        echo "$id $ip  $n"
    done
} > "$WORK/aard/bn"
nsenter --net=/run/netns/$HNS "$AARDVARK" --config "$WORK/aard" -p 5353 run >"$WORK/aard.log" 2>&1 &
sleep 1
# The servers' processes (berth-dns: its supervisor and server, both with these arguments).
pids_of() { pgrep -f "$([ "$1" = berth ] && echo "berth-dns --root $WORK/root" || echo "aardvark-dns --config $WORK/aard")"; }
# CPU ticks (user + system) of a server's processes so far.
ticks() { local t=0; for p in $(pids_of "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
HZ=$(getconf CLK_TCK)

for i in $(seq 1 "$NCTR"); do echo "c$i A"; done > "$WORK/names.txt"
echo "outside.example A" > "$WORK/forward.txt"
perf() { nsenter --net="$CLIENT_NS" dnsperf -s $GW -p "$1" -d "$2" "${@:3}" 2>&1; }
# Sanity: both answer a name and the forwarded name.
for port in 53 5353; do
    for f in names forward; do
        out=$(perf $port "$WORK/$f.txt" -n 1)
        echo "$out" | grep -q "Queries completed: *[1-9]" || { echo "port $port $f: $out" >&2; exit 1; }
        echo "$out" | grep -q "NOERROR" || { echo "port $port $f not NOERROR: $out" >&2; exit 1; }
    done
done

: > "$WORK/results"
for r in $(seq 1 "$ROUNDS"); do
    for who in berth aardvark; do
        port=$([ $who = berth ] && echo 53 || echo 5353)
        for f in names forward; do
            t0=$(ticks $who)
            out=$(perf $port "$WORK/$f.txt" -c 4 -q 200 -l "$SECS")
            t1=$(ticks $who)
            qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
            done_q=$(echo "$out" | awk '/Queries completed/ {print $3}')
            us_per_q=$(python3 -c "print('%.2f' % (($t1 - $t0) / $HZ * 1e6 / $done_q))")
            lat=$(perf $port "$WORK/$f.txt" -Q 2000 -l 2 -v | python3 -c '
import sys
l=sorted(float(x.split()[-1]) for x in sys.stdin if x.startswith(">") and x.split()[-1].replace(".","",1).isdigit())
print("%.1f %.1f" % (l[len(l)//2]*1e6, l[int(len(l)*0.99)]*1e6) if l else "nan nan")')
            echo "$who $f $qps $lat $us_per_q" >> "$WORK/results"
        done
    done
done

# Time from `run -d` returning to the name resolving from the client (berth-dns only: the
# aardvark config above is written by hand, as netavark would).
: > "$WORK/resolve"
for r in $(seq 1 "$ROUNDS"); do
    berth run -d --network bn --name "new$r" bb sleep 3600 >/dev/null
    t0=$(date +%s%N)
    until nsenter --net="$CLIENT_NS" busybox nslookup "new$r" $GW >/dev/null 2>&1; do :; done
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >> "$WORK/resolve"
done

# The floor: one nslookup of a name that resolves already (nsenter + busybox + one query).
: > "$WORK/floor"
for r in $(seq 1 "$ROUNDS"); do
    t0=$(date +%s%N)
    nsenter --net="$CLIENT_NS" busybox nslookup c1 $GW >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >> "$WORK/floor"
done

python3 - "$WORK/results" "$WORK/resolve" "$NCTR" "$WORK/floor" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
def med(who, f, i):
    return st.median(float(r[i]) for r in rows if r[0] == who and r[1] == f)
print(f"{sys.argv[3]} containers on one network; medians of {len(rows)//4} rounds\n")
print("| queries | berth-dns qps | aardvark-dns qps | berth/aardvark | berth p50 / p99 µs | aardvark p50 / p99 µs |")
print("|---|---|---|---|---|---|")
for f, label in (("names", "container names"), ("forward", "forwarded name")):
    b, a = med("berth", f, 2), med("aardvark", f, 2)
    print(f"| {label} | {b:.0f} | {a:.0f} | {b/a:.2f} | {med('berth', f, 3):.0f} / {med('berth', f, 4):.0f} | {med('aardvark', f, 3):.0f} / {med('aardvark', f, 4):.0f} |")
print("\nServer CPU per answered query (user + system, during the throughput runs):\n")
print("| queries | berth-dns µs | aardvark-dns µs | aardvark/berth |")
print("|---|---|---|---|")
for f, label in (("names", "container names"), ("forward", "forwarded name")):
    b, a = med("berth", f, 5), med("aardvark", f, 5)
    print(f"| {label} | {b:.2f} | {a:.2f} | {a/b:.2f} |")
res = [int(l) for l in open(sys.argv[2])]
floor = [int(l) for l in open(sys.argv[4])]
m, f = st.median(res) / 1000, st.median(floor) / 1000
print(f"\n`run -d` returned -> name resolves from another container: median {m:.2f} ms (max {max(res)/1000:.2f}),"
      f" of which one nslookup of a name already known takes {f:.2f} ms: {m - f:+.2f} ms beyond a lookup")
PY
