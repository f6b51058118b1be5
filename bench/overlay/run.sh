#!/usr/bin/env bash
# Benchmark of berth's overlay network (VXLAN between hosts, state in etcd), against the same
# hosts' underlay without overlay, in one run:
#   1. TCP throughput between two "containers" on hosts 1 and 2 (iperf3 -t SECS), vs host 1
#      to host 2 over the underlay;
#   1b. the same with the underlay shaped to a LINK link (tbf on the switch's ports to hosts 1
#      and 2), as a real NIC limits it: on bare veth nothing but the CPU does;
#   2. round-trip latency, same pairs: TCP ping-pong back to back (sockperf --full-rtt, median
#      of each run), ping 1 ms apart (busybox, per-packet median: CPUs stay awake) and ping
#      20 ms apart (on a VM this is mostly idle CPUs waking up, on every hop);
#   3. the time from `berth run -d` on host 1 to its container answering a ping from a
#      container on host 3;
#   4. scale: the node agent's work per change (kernel writes, microseconds, from host 1's
#      agent log) when a probe host joins and leaves, with 3 hosts, with HOSTS hosts, and with
#      HOSTS hosts and CTRS attached containers; and how long the change takes to reach host 1.
# "Hosts" are network namespaces on one switch namespace, each with its own berth roots and
# its own agent; etcd runs in its own namespace. Containers in 1, 2 and 4 are network
# namespaces attached through the overlay CNI plugin (`berth net attach`), in 3 a real
# `berth run` container. Medians of ROUNDS rounds, underlay and overlay alternating. All of it
# is removed at the end; the machine's own network is not touched.
# Needs root, iperf3, sockperf, etcd-server, busybox-static, python3 (installed here if missing).
# Usage: sudo bench/overlay/run.sh [ROUNDS] [SECS]   (default 5 rounds of 5 s; HOSTS=20,
# CTRS=1000, LINK=10gbit; BENCH_NO_BUILD=1 uses target/release and target/plugins as they are)
set -euo pipefail
ROUNDS=${1:-5}
SECS=${2:-5}
HOSTS=${HOSTS:-20}
CTRS=${CTRS:-1000}
LINK=${LINK:-10gbit}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
if ! command -v iperf3 >/dev/null || ! command -v sockperf >/dev/null || ! command -v etcd >/dev/null; then
    apt-get update -qq
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 sockperf etcd-server >/dev/null
    rm -f /usr/sbin/policy-rc.d
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release -q --workspace --bins --manifest-path "$REPO/Cargo.toml"
    "$REPO/scripts/build-plugins.sh" -q
fi
BIN=$REPO/target/release
export BERTH_CNI_PATH=$REPO/target/plugins
WORK=$(mktemp -d /tmp/berth-ovbench.XXXXXX)
P=bov$$
SW=$P-sw
ETCD_NS=$P-etcd
STORE=etcd://192.168.77.250:23900
VNI=4300
PORTS=0
declare -A AGENT

hns() { echo "$P-h$1"; }
uip() { echo "192.168.77.$1"; }
berth_on() {
    local n=$1
    shift
    BERTH_ROOT=$WORK/h$n/root BERTH_RUN=$WORK/h$n/run nsenter --net=/run/netns/"$(hns "$n")" "$BIN/berth" "$@"
}
in_ctr() { local n=$1 c=$2; shift 2; nsenter --net="$WORK/h$n/run/netns/$c" "$@"; }
now_us() { date +%s%6N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

cleanup() {
    set +e
    for pid in "${AGENT[@]}"; do kill "$pid" 2>/dev/null; done
    [ -n "${ETCD_PID:-}" ] && kill "$ETCD_PID" 2>/dev/null
    pkill -f "iperf3 -s -D --pidfile $WORK" 2>/dev/null
    [ -n "${SOCKPERF_PIDS:-}" ] && kill $SOCKPERF_PIDS 2>/dev/null
    for d in "$WORK"/h*; do
        n=${d##*/h}
        for c in $(berth_on "$n" ps -aq 2>/dev/null); do berth_on "$n" rm -f "$c" >/dev/null 2>&1; done
        for f in "$d"/run/netns/*; do [ -e "$f" ] && umount "$f" 2>/dev/null; done
        umount "$d/run/netns" 2>/dev/null
        ip netns del "$(hns "$n")" 2>/dev/null
    done
    ip netns del "$SW" 2>/dev/null
    ip netns del "$ETCD_NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

plug() { # NS ADDR: a veth from NS (ul0) to a port of the switch
    local ns=$1 addr=$2 port=p$PORTS
    PORTS=$((PORTS + 1))
    ip link add ul0 netns "$ns" type veth peer name "$port" netns "$SW"
    ip -n "$SW" link set "$port" master sw0 up
    ip -n "$ns" addr add "$addr/24" dev ul0
    ip -n "$ns" link set ul0 up
    ip -n "$ns" link set lo up
}
add_host() { # N: a host namespace on the switch, with its berth roots
    ip netns add "$(hns "$1")"
    mkdir -p "$WORK/h$1/root" "$WORK/h$1/run"
    plug "$(hns "$1")" "$(uip "$1")"
}
start_agent() { # N [HOSTNAME]
    local n=$1 name=${2:-h$1}
    # Not through berth_on: $! must be the agent itself (nsenter execs it), so kill stops it.
    BERTH_ROOT=$WORK/h$n/root BERTH_RUN=$WORK/h$n/run nsenter --net=/run/netns/"$(hns "$n")" \
        "$BIN/berth" --log-level info node join --store "$STORE" --underlay-ip "$(uip "$n")" \
        --name "$name" --ttl 5 2>>"$WORK/agent$n.log" &
    AGENT[$n]=$!
}
peers_on() { ip -n "$(hns "$1")" -4 route show dev bvx-$VNI 2>/dev/null | grep -c ' via ' || true; }
wait_peers() { # N COUNT
    for _ in $(seq 1 600); do
        [ "$(peers_on "$1")" = "$2" ] && return 0
        sleep 0.05
    done
    echo "run.sh: host $1 never had $2 peers" >&2
    tail -n 20 "$WORK/agent$1.log" >&2
    exit 1
}

ip netns add "$SW"
ip -n "$SW" link add sw0 type bridge
ip -n "$SW" link set sw0 up
ip netns add "$ETCD_NS"
plug "$ETCD_NS" 192.168.77.250
nsenter --net=/run/netns/"$ETCD_NS" etcd --data-dir "$WORK/etcd" \
    --listen-client-urls http://192.168.77.250:23900 --advertise-client-urls http://192.168.77.250:23900 \
    --listen-peer-urls http://192.168.77.250:23901 --initial-advertise-peer-urls http://192.168.77.250:23901 \
    --initial-cluster default=http://192.168.77.250:23901 >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
for n in 1 2 3; do add_host "$n"; done
for _ in $(seq 1 200); do
    nsenter --net=/run/netns/"$(hns 1)" bash -c 'exec 3<>/dev/tcp/192.168.77.250/23900' 2>/dev/null && break
    sleep 0.05
done
berth_on 1 net create --driver overlay --subnet 10.100.0.0/16 --opt vni=$VNI --store "$STORE" ov >/dev/null
for n in 1 2 3; do start_agent "$n"; done
for n in 1 2 3; do wait_peers "$n" 2; done

# Two attached namespaces, on hosts 1 and 2, and one on host 3.
attach() { # N NAME -> prints its address
    berth_on "$1" netns add "$2" >/dev/null
    berth_on "$1" net attach ov "$2" | head -n 1 | cut -d/ -f1
}
C1=$(attach 1 c1)
C2=$(attach 2 c2)
C3=$(attach 3 c3)
# (not /sys/class/net: nsenter --net keeps the host's sysfs mount)
MTU=$(in_ctr 1 c1 ip -o link show dev eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')

iperf_bps() { # CLIENT-CMD-PREFIX... SERVER-IP
    "$@" -t "$SECS" -J | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'
}
ping_us() { # CMD-PREFIX... IP: median per-packet RTT in microseconds
    "$@" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | awk '{print int($1 * 1000)}' | median
}
rtt_us() { # CMD-PREFIX... -> median round trip of a TCP ping-pong, microseconds
    "$@" --tcp -p 11111 -t "$SECS" --full-rtt 2>&1 | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p'
}
in_ctr 2 c2 iperf3 -s -D --pidfile "$WORK/iperf-ctr.pid"
nsenter --net=/run/netns/"$(hns 2)" iperf3 -s -D --pidfile "$WORK/iperf-host.pid"
in_ctr 2 c2 sockperf server --tcp -i 0.0.0.0 -p 11111 >/dev/null 2>&1 &
SOCKPERF_PIDS=$!
nsenter --net=/run/netns/"$(hns 2)" sockperf server --tcp -i 0.0.0.0 -p 11111 >/dev/null 2>&1 &
SOCKPERF_PIDS="$SOCKPERF_PIDS $!"
sleep 0.3
for f in fast.ul fast.ov fast.vx tput.ul tput.ov tput.vx lat.ul lat.ov lat.vx rtt.ul rtt.ov rtt.vx link.ul link.ov link.vx; do : >"$WORK/$f"; done
slice_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["slice"].split("/")[0].rsplit(".", 1)[0])' "$WORK/h$1/run/overlay/ov.json"; }
# Host 2's gateway on its bridge: host to host through the VXLAN device only (no container
# veth or bridge on either side), to tell the tunnel's cost from the containers'.
GW2=$(slice_of 2).1
tput_round() { # KIND: one iperf3 run each underlay, container to container, tunnel only
    iperf_bps nsenter --net=/run/netns/"$(hns 1)" iperf3 -c "$(uip 2)" >>"$WORK/$1.ul"
    iperf_bps nsenter --net="$WORK/h1/run/netns/c1" iperf3 -c "$C2" >>"$WORK/$1.ov"
    iperf_bps nsenter --net=/run/netns/"$(hns 1)" iperf3 -c "$GW2" >>"$WORK/$1.vx"
}
for r in $(seq 1 "$ROUNDS"); do
    tput_round tput
    ping_us nsenter --net=/run/netns/"$(hns 1)" busybox ping -c 50 -i 0.02 "$GW2" >>"$WORK/lat.vx"
    ping_us nsenter --net=/run/netns/"$(hns 1)" busybox ping -c 50 -i 0.02 "$(uip 2)" >>"$WORK/lat.ul"
    ping_us nsenter --net="$WORK/h1/run/netns/c1" busybox ping -c 50 -i 0.02 "$C2" >>"$WORK/lat.ov"
    ping_us nsenter --net=/run/netns/"$(hns 1)" busybox ping -c 500 -i 0.001 "$GW2" >>"$WORK/fast.vx"
    ping_us nsenter --net=/run/netns/"$(hns 1)" busybox ping -c 500 -i 0.001 "$(uip 2)" >>"$WORK/fast.ul"
    ping_us nsenter --net="$WORK/h1/run/netns/c1" busybox ping -c 500 -i 0.001 "$C2" >>"$WORK/fast.ov"
    rtt_us nsenter --net=/run/netns/"$(hns 1)" sockperf ping-pong -i "$(uip 2)" >>"$WORK/rtt.ul"
    rtt_us nsenter --net="$WORK/h1/run/netns/c1" sockperf ping-pong -i "$C2" >>"$WORK/rtt.ov"
    rtt_us nsenter --net=/run/netns/"$(hns 1)" sockperf ping-pong -i "$GW2" >>"$WORK/rtt.vx"
done
# 1b. The underlay shaped to LINK both ways between hosts 1 and 2 (p1, p2: their switch ports).
for port in p1 p2; do tc -n "$SW" qdisc add dev "$port" root tbf rate "$LINK" burst 1mb latency 5ms; done
for r in $(seq 1 "$ROUNDS"); do
    tput_round link
done
for port in p1 p2; do tc -n "$SW" qdisc del dev "$port" root; done

# 3. run -d on host 1 until reachable from host 3.
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/www"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for a in sh httpd sleep; do ln -s busybox "$ROOTFS/bin/$a"; done
echo ok >"$ROOTFS/www/index.html"
tar -C "$ROOTFS" -cf "$WORK/bb.tar" .
berth_on 1 import "$WORK/bb.tar" bb >/dev/null
: >"$WORK/reach.start"; : >"$WORK/reach.ret"
for r in $(seq 1 "$ROUNDS"); do
    # A static address, so nothing but the ping loop runs between run -d and reachable.
    ipa=$(slice_of 1).$((100 + r))
    t0=$(now_us)
    id=$(berth_on 1 run -d --network ov --ip "$ipa" bb httpd -f -p 80 -h /www)
    t1=$(now_us)
    until in_ctr 3 c3 busybox ping -c 1 -W 1 "$ipa" >/dev/null 2>&1; do :; done
    t2=$(now_us)
    echo $(((t2 - t0) / 1000)) >>"$WORK/reach.start"
    echo $(((t2 - t1) / 1000)) >>"$WORK/reach.ret"
    berth_on 1 rm -f "$id" >/dev/null
done

# 4. Scale. A probe host joins and leaves ROUNDS times; host 1's agent logs each change.
PROBE=$((HOSTS + 1))
add_host "$PROBE"
probe_phase() { # LABEL
    local label=$1 before joins=() leaves=()
    before=$(wc -l <"$WORK/agent1.log")
    local peers
    peers=$(peers_on 1)
    for r in $(seq 1 "$ROUNDS"); do
        local t0 t1
        t0=$(now_us)
        start_agent "$PROBE" probe
        wait_peers 1 $((peers + 1))
        t1=$(now_us)
        joins+=($(((t1 - t0) / 1000)))
        kill "${AGENT[$PROBE]}"; wait "${AGENT[$PROBE]}" 2>/dev/null || true
        unset "AGENT[$PROBE]"
        t0=$(now_us)
        berth_on "$PROBE" node leave --store "$STORE" --name probe >/dev/null
        wait_peers 1 "$peers"
        t1=$(now_us)
        leaves+=($(((t1 - t0) / 1000)))
    done
    local lines
    lines=$(tail -n +"$((before + 1))" "$WORK/agent1.log" | grep 'overlay peer change applied' || true)
    local writes micros
    writes=$(echo "$lines" | sed -n 's/.*writes=\([0-9]*\).*/\1/p' | median)
    micros=$(echo "$lines" | sed -n 's/.*micros=\([0-9]*\).*/\1/p' | median)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$peers" "$writes" "$micros" \
        "$(printf '%s\n' "${joins[@]}" | median)" "$(printf '%s\n' "${leaves[@]}" | median)" >>"$WORK/scale"
}
: >"$WORK/scale"
probe_phase "3 hosts, 3 containers"
for n in $(seq 4 "$HOSTS"); do add_host "$n"; start_agent "$n"; done
wait_peers 1 $((HOSTS - 1))
probe_phase "$HOSTS hosts, 3 containers"
t0=$(now_us)
for i in $(seq 1 "$CTRS"); do
    n=$(((i - 1) % HOSTS + 1))
    attach "$n" "s$i" >/dev/null
done
ATTACH_MS=$((($(now_us) - t0) / 1000))
probe_phase "$HOSTS hosts, $((CTRS + 3)) containers"
in_ctr 1 c1 busybox ping -c 1 -W 2 "$(attach "$HOSTS" last)" >/dev/null && LAST=reachable || LAST=unreachable

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.3f}' if b else 'nan')" "$1" "$2"; }
TU=$(median <"$WORK/tput.ul"); TO=$(median <"$WORK/tput.ov"); TV=$(median <"$WORK/tput.vx")
LU=$(median <"$WORK/lat.ul"); LO=$(median <"$WORK/lat.ov"); LV=$(median <"$WORK/lat.vx")
FU=$(median <"$WORK/fast.ul"); FO=$(median <"$WORK/fast.ov"); FV=$(median <"$WORK/fast.vx")
RU=$(median <"$WORK/rtt.ul"); RO=$(median <"$WORK/rtt.ov"); RV=$(median <"$WORK/rtt.vx")
KU=$(median <"$WORK/link.ul"); KO=$(median <"$WORK/link.ov"); KV=$(median <"$WORK/link.vx")
plus() { python3 -c "import sys; print(f'+{float(sys.argv[1]) - float(sys.argv[2]):.1f} µs')" "$1" "$2"; }
echo "# bench/overlay: $(date -u +%Y-%m-%d), $(nproc) CPUs, $ROUNDS rounds, iperf3 -t $SECS, overlay MTU $MTU"
echo
echo "| | underlay, host to host | overlay, container to container | overlay/underlay | overlay, host to host (tunnel only) | tunnel/underlay |"
echo "|---|---|---|---|---|---|"
echo "| TCP throughput, bare veth, Mbit/s | $((${TU%.*} / 1000000)) | $((${TO%.*} / 1000000)) | $(ratio "$TO" "$TU")x | $((${TV%.*} / 1000000)) | $(ratio "$TV" "$TU")x |"
echo "| TCP throughput, $LINK link, Mbit/s | $((${KU%.*} / 1000000)) | $((${KO%.*} / 1000000)) | $(ratio "$KO" "$KU")x | $((${KV%.*} / 1000000)) | $(ratio "$KV" "$KU")x |"
echo "| TCP ping-pong RTT, median µs | $RU | $RO | $(plus "$RO" "$RU") | $RV | $(plus "$RV" "$RU") |"
echo "| ping 1 ms apart, median µs | $FU | $FO | $(plus "$FO" "$FU") | $FV | $(plus "$FV" "$FU") |"
echo "| ping 20 ms apart, median µs | $LU | $LO | $(plus "$LO" "$LU") | $LV | $(plus "$LV" "$LU") |"
echo
echo "run -d on host 1 to reachable from host 3: median $(median <"$WORK/reach.start") ms from the start of run -d, $(median <"$WORK/reach.ret") ms after it returned"
echo
echo "| cluster | peers of host 1 | kernel writes per change (median) | µs per change (median) | probe join to programmed on host 1, ms | probe leave to removed on host 1, ms |"
echo "|---|---|---|---|---|---|"
cat "$WORK/scale"
echo
echo "$CTRS containers attached in $ATTACH_MS ms across $HOSTS hosts; the last one, on host $HOSTS, is $LAST from host 1"
