#!/usr/bin/env bash
# Builds the release berth-runtime binary: static (glibc and libseccomp linked in, not a PIE),
# with the release-runtime profile. A static binary maps no shared libraries and relocates
# nothing at start, which takes about 1 MiB off every invocation's peak RSS and some time off
# its start; see bench/runtime/RESULTS.md. Prints the binary's path.
# Needs libc6-dev and libseccomp-dev (their static archives). Extra args go to cargo.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TARGET=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps RUSTFLAGS off build scripts and proc-macros (they cannot be static).
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    LIBSECCOMP_LINK_TYPE=static \
    LIBSECCOMP_LIB_PATH="${LIBSECCOMP_LIB_PATH:-$(dirname "$(gcc -print-file-name=libseccomp.a)")}" \
    cargo build --manifest-path "$REPO/Cargo.toml" --profile release-runtime -p berth-runtime \
    --target "$TARGET" "$@" >&2
echo "$REPO/target/$TARGET/release-runtime/berth-runtime"
