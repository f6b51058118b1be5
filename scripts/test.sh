#!/usr/bin/env bash
# Runs every test: unit tests, then the root tests in throwaway network namespaces. Fails if the
# root tests ran no case. Run as root from the repository: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: the root tests need root (sudo scripts/test.sh)" >&2; exit 1; }

# Root tests exec the plugin binaries, so build them first.
cargo build --workspace --bins
cargo test --workspace --exclude berth-netns-tests

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p berth-netns-tests -- --include-ignored 2>&1 | tee "$log"
passed=$(grep -o 'test result: ok\. [0-9]* passed' "$log" | awk '{s += $4} END {print s + 0}')
if [ "$passed" -eq 0 ]; then
    echo "test.sh: the root tests ran no case" >&2
    exit 1
fi
echo "test.sh: $passed root tests passed"
