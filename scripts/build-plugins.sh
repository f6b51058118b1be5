#!/usr/bin/env bash
# Builds the CNI plugins the way they ship: static, position-dependent executables, copied into
# target/plugins/ (point CNI_PATH or podman's cni_plugin_dirs there, or copy them to /opt/cni/bin).
# A plugin is a new process for every CNI call; without a dynamic loader, libc to map and
# relocations to apply, it starts in about half the time (bench/RESULTS.md); the
# release-plugins profile (opt-level z, fat LTO, stripped) shaves another 7-10 % off ADD and DEL.
# Usage: scripts/build-plugins.sh [extra cargo flags]
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps these flags off build scripts and proc-macros (which cannot be static) and
# keeps the static build apart from target/release.
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --profile release-plugins --target "$host" -p berth-plugins --bins "$@"
mkdir -p target/plugins
for src in plugins/src/bin/*.rs; do
    bin=$(basename "$src" .rs)
    install -m 0755 "target/$host/release-plugins/$bin" target/plugins/
done
echo "build-plugins: static plugins in target/plugins/"
