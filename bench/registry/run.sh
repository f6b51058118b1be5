#!/usr/bin/env bash
# Side-by-side registry benchmark, one run, everything inside a throwaway netns (registries on
# its 127.0.0.1): Debian's docker-registry holds a 5-layer image of ~110 MB (real files of
# this machine: busybox, perl, vim, i18n data; gzip'd by skopeo as Docker Hub images are) and
# a v2 that differs in its top layer only.
#   1. pull of v1 into an empty store, time to runnable (layers unpacked): berth pull vs
#      podman pull vs skopeo copy into a dir (download only);
#   2. pull of v2 with v1 present: bytes received on the netns's lo (HTTP included) against the
#      new layer's compressed size, berth vs podman;
#   3. push of v1 to an empty registry: berth push vs podman push (both from their stores).
# Medians of RUNS runs, tools alternating. Needs root, docker-registry, skopeo, podman,
# busybox-static, bc, python3 (installed here if missing).
# Usage: sudo bench/registry/run.sh [RUNS]   (default 5; BENCH_NO_BUILD=1 uses target/release)
set -euo pipefail
RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null || ! command -v podman >/dev/null || ! command -v bc >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry skopeo podman busybox-static bc >/dev/null
fi
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q -p berth-cli --manifest-path "$REPO/Cargo.toml"
BIN=$REPO/target/release/berth
WORK=$(mktemp -d /run/berth-regbench.XXXXXX)
# Stores, registries and images on a private tmpfs: this VM's ext4 makes file creation soon
# after many deletions cost seconds of system time (whichever tool comes next pays), which
# would measure the disk's history rather than the tools.
mount -t tmpfs -o size=6g berth-regbench "$WORK"
NS=breg-$$
inns() { nsenter --net=/run/netns/$NS "$@"; }
# Each run gets new store directories (nothing is deleted until the end).
BR=$WORK/b-0 PR=$WORK/p-0
berth() { inns env BERTH_ROOT="$BR/root" BERTH_RUN="$BR/run" "$BIN" "$@"; }
pm() { inns podman --log-level error --root "$PR/root" --runroot "$PR/run" --storage-driver overlay \
    --cgroup-manager cgroupfs --events-backend file "$@"; }
REG_PIDS=()
start_registry() { # PORT DATA
    cat > "$WORK/reg-$1.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$1
YML
    # nsenter execs the registry, so $! is the registry itself.
    nsenter --net=/run/netns/$NS docker-registry serve "$WORK/reg-$1.yml" >"$WORK/reg-$1.log" 2>&1 &
    REG_PIDS+=($!)
    for _ in $(seq 100); do inns bash -c "echo > /dev/tcp/127.0.0.1/$1" 2>/dev/null && return; sleep 0.05; done
    echo "registry on $1 did not start" >&2; exit 1
}
stop_registries() { for p in "${REG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; REG_PIDS=(); }
cleanup() {
    set +e
    stop_registries
    for d in "$WORK"/b-*; do umount -l "$d/run/netns" 2>/dev/null; done
    for d in "$WORK"/p-*; do PR=$d; pm system reset -f >/dev/null 2>&1; done
    ip netns del $NS 2>/dev/null
    umount -l "$WORK" 2>/dev/null
    rmdir "$WORK"
}
trap cleanup EXIT
ip netns add $NS && ip -n $NS link set lo up
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
lo_rx() { ip -n $NS -s -j link show lo | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])'; }

# The images: v1 = busybox + 4 layers of real files; v2 = the same with another top layer.
ROOTFS=$WORK/rootfs; mkdir -p "$ROOTFS/bin"
cp /bin/busybox "$ROOTFS/bin/"; for a in sh true echo cat ls; do ln -s busybox "$ROOTFS/bin/$a"; done
python3 "$HERE/make_image.py" "$WORK/v1.tar" bench/img:v1 "$ROOTFS" /usr/share/perl \
    /usr/lib/x86_64-linux-gnu/perl /usr/share/i18n /usr/share/vim
python3 "$HERE/make_image.py" "$WORK/v2.tar" bench/img:v2 "$ROOTFS" /usr/share/perl \
    /usr/lib/x86_64-linux-gnu/perl /usr/share/i18n /usr/share/mime
start_registry 5000 "$WORK/src-data"
SRC=127.0.0.1:5000/bench/img
for v in v1 v2; do
    inns skopeo copy -q --dest-tls-verify=false "docker-archive:$WORK/$v.tar" "docker://$SRC:$v"
done
manifest() { inns skopeo inspect --raw --tls-verify=false "docker://$SRC:$1"; }
UNCOMP=$(stat -c %s "$WORK/v1.tar")
COMP=$(manifest v1 | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')
TOP2=$(manifest v2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][-1]["size"])')
echo "image: 5 layers, $((UNCOMP / 1000000)) MB as tars, $((COMP / 1000000)) MB gzip'd in the registry; v2's new top layer $((TOP2 / 1000)) kB gzip'd"

fresh_berth() { BR=$WORK/b-$1; sync; }
fresh_podman() { PR=$WORK/p-$1; sync; }
t_berth=() t_podman=() t_skopeo=()
for i in $(seq "$RUNS"); do
    fresh_berth "$i"; s=$(now); berth pull -q "$SRC:v1" >/dev/null; t_berth+=("$(echo "$(now) - $s" | bc)")
    fresh_podman "$i"; s=$(now); pm pull -q --tls-verify=false "$SRC:v1" >/dev/null; t_podman+=("$(echo "$(now) - $s" | bc)")
    sync; s=$(now); inns skopeo copy -q --src-tls-verify=false "docker://$SRC:v1" "dir:$WORK/sk-$i"; t_skopeo+=("$(echo "$(now) - $s" | bc)")
done
# Runnable: berth runs the pulled image.
[ "$(berth run --rm --network none "$SRC:v1" echo ok)" = ok ]
pm image exists "$SRC:v1" 2>/dev/null  # podman applied the layers while pulling (its run needs rlimits this VM refuses)
mb=$(printf '%s\n' "${t_berth[@]}" | median); mp=$(printf '%s\n' "${t_podman[@]}" | median); ms=$(printf '%s\n' "${t_skopeo[@]}" | median)
echo
echo "1. pull v1 into an empty store (s, median of $RUNS): berth $mb, podman $mp, skopeo copy to dir $ms"
echo "   berth/podman $(echo "scale=3; $mb / $mp" | bc), berth/skopeo $(echo "scale=3; $mb / $ms" | bc)"
echo "   berth runs: ${t_berth[*]}"; echo "   podman runs: ${t_podman[*]}"; echo "   skopeo runs: ${t_skopeo[*]}"

# 2. v2 over v1: bytes moved.
b0=$(lo_rx); berth pull -q "$SRC:v2" >/dev/null; b1=$(lo_rx)
p0=$(lo_rx); pm pull -q --tls-verify=false "$SRC:v2" >/dev/null; p1=$(lo_rx)
echo
echo "2. pull v2 with v1 present: bytes received on lo: berth $((b1 - b0)), podman $((p1 - p0)); the new layer is $TOP2 bytes gzip'd"

# 3. push v1 from each store to an empty registry (a new one for every push); berth with gzip
#    (its default, as podman's), zstd and none.
t_bpush=() t_zpush=() t_npush=() t_ppush=()
DST=127.0.0.1:5001/bench/img
push_fresh_registry() { stop_registries; start_registry 5000 "$WORK/src-data"; start_registry 5001 "$WORK/dst-data-$1"; sync; }
for i in $(seq "$RUNS"); do
    push_fresh_registry "b$i"
    berth tag "$SRC:v1" "$DST:v1"
    r0=$(lo_rx); s=$(now); berth push -q "$DST:v1" >/dev/null; t_bpush+=("$(echo "$(now) - $s" | bc)"); r1=$(lo_rx)
    push_fresh_registry "z$i"
    z0=$(lo_rx); s=$(now); berth push -q --compression zstd "$DST:v1" >/dev/null; t_zpush+=("$(echo "$(now) - $s" | bc)"); z1=$(lo_rx)
    push_fresh_registry "n$i"
    n0=$(lo_rx); s=$(now); berth push -q --compression none "$DST:v1" >/dev/null; t_npush+=("$(echo "$(now) - $s" | bc)"); n1=$(lo_rx)
    push_fresh_registry "p$i"
    q0=$(lo_rx); s=$(now); pm push -q --tls-verify=false "$SRC:v1" "docker://$DST:v1" >/dev/null; t_ppush+=("$(echo "$(now) - $s" | bc)"); q1=$(lo_rx)
done
mbp=$(printf '%s\n' "${t_bpush[@]}" | median); mzp=$(printf '%s\n' "${t_zpush[@]}" | median)
mnp=$(printf '%s\n' "${t_npush[@]}" | median); mpp=$(printf '%s\n' "${t_ppush[@]}" | median)
echo
echo "3. push v1 to an empty registry (s, median of $RUNS): podman $mpp (gzip); berth gzip $mbp ($(echo "scale=3; $mbp / $mpp" | bc)), zstd $mzp ($(echo "scale=3; $mzp / $mpp" | bc)), none $mnp ($(echo "scale=3; $mnp / $mpp" | bc))"
echo "   bytes on lo in the last run: podman $((q1 - q0)), berth gzip $((r1 - r0)), zstd $((z1 - z0)), none $((n1 - n0))"
echo "   berth gzip runs: ${t_bpush[*]}"; echo "   berth zstd runs: ${t_zpush[*]}"; echo "   berth none runs: ${t_npush[*]}"; echo "   podman runs: ${t_ppush[*]}"
