#!/usr/bin/env bash
# Runs the opencontainers runtime-tools validation suite (built by you from its sources, under a
# temp dir; see the README's "OCI conformance") against one or more OCI runtimes, side by side,
# and prints per test file how many TAP assertions passed, failed or were skipped (a test that
# prints no TAP counts as one assertion, passed when it exits 0), and the failing ones. Every test runs in a throwaway network namespace (unshare -n), with a timeout.
#
# Usage: sudo scripts/oci-conformance.sh RUNTIME_TOOLS_DIR RUNTIME...   e.g.
#   sudo scripts/oci-conformance.sh /tmp/rt/src runc "$PWD/target/release/berth-runtime"
# Needs the suite's `runtimetest` and `validation/*/*.t` built (`make runtimetest
# validation-executables`). OUT (default /tmp/oci-conformance) keeps each run's TAP output.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "oci-conformance.sh: needs root" >&2; exit 1; }
[ $# -ge 2 ] || { sed -n 2,10p "$0" >&2; exit 2; }
SUITE=$(cd "$1" && pwd); shift
OUT=${OUT:-/tmp/oci-conformance}
TIMEOUT=${TIMEOUT:-120}
[ -x "$SUITE/runtimetest" ] || { echo "no $SUITE/runtimetest: build the suite first" >&2; exit 1; }
mkdir -p "$OUT"
cd "$SUITE"
tests=$(ls validation/*/*.t | sort)
for rt in "$@"; do
    name=$(basename "$rt")
    mkdir -p "$OUT/$name"
    for t in $tests; do
        base=$(basename "$t" .t)
        RUNTIME=$rt timeout "$TIMEOUT" unshare -n "$t" >"$OUT/$name/$base.tap" 2>"$OUT/$name/$base.err"
        echo $? >"$OUT/$name/$base.rc"
    done
done
python3 - "$OUT" "$@" <<'PY'
import os, re, sys
out, rts = sys.argv[1], [os.path.basename(r) for r in sys.argv[2:]]
def summary(rt, base):
    p = os.path.join(out, rt, base + ".tap")
    ok = bad = skip = 0
    fails = []
    for line in open(p, errors="replace"):
        if line.startswith("ok "):
            if "# SKIP" in line or "# skip" in line:
                skip += 1
            else:
                ok += 1
        elif line.startswith("not ok "):
            if "# TODO" in line:
                skip += 1
            else:
                bad += 1
                fails.append(line.strip())
    rc = open(os.path.join(out, rt, base + ".rc")).read().strip()
    # Some tests print no TAP lines and say their verdict by their exit status, or by a YAML
    # diagnostic with an error.
    text = open(p, errors="replace").read()
    if ok + bad + skip == 0 and rc == "0" and "error" not in text:
        ok = 1
    elif ok + bad + skip == 0 and rc == "0":
        bad, fails = 1, ["diagnostic: " + " ".join(text.split())[-300:]]
    elif ok + bad + skip == 0:
        bad, fails = 1, [f"no assertions (exit {rc}): " + open(os.path.join(out, rt, base + ".err"), errors="replace").read().strip()[-300:]]
    return ok, bad, skip, fails
bases = sorted(f[:-4] for f in os.listdir(os.path.join(out, rts[0])) if f.endswith(".tap"))
print("| test | " + " | ".join(f"{r} ok/fail/skip" for r in rts) + " |")
print("|---|" + "---|" * len(rts))
totals = {r: [0, 0, 0] for r in rts}
details = {r: [] for r in rts}
for b in bases:
    cells = []
    for r in rts:
        ok, bad, skip, fails = summary(r, b)
        t = totals[r]; t[0] += ok; t[1] += bad; t[2] += skip
        cells.append(f"{ok}/{bad}/{skip}")
        details[r] += [f"{b}: {f}" for f in fails]
    print(f"| {b} | " + " | ".join(cells) + " |")
print("| **total** | " + " | ".join("/".join(map(str, totals[r])) for r in rts) + " |")
for r in rts:
    print(f"\n{r}: failing assertions")
    for d in details[r]:
        print("  " + d)
PY
