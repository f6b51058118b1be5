#!/usr/bin/env python3
"""Time create/start/delete and run for one OCI runtime on a prepared bundle.

Usage: driver.py NAME BINARY BUNDLE RUNS OUT.json
Each phase is one invocation of the runtime's CLI, timed from fork to exit (the same
subprocess overhead for every runtime). Peak RSS is measured in separate rounds with
/usr/bin/time -f %M (the forking parent must be small: ru_maxrss counts the pre-exec copy).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd):
    # stderr goes to a file: a pipe would stay open in the container's waiting init.
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=errf)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = 0
        dt = (time.perf_counter_ns() - t0) / 1e6
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return dt, ru.ru_maxrss


def rss_of(cmd):
    with tempfile.NamedTemporaryFile("r") as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return int(f.read().strip().splitlines()[-1])


def peak_rss(base, bundle, name):
    out = {"create": 0, "start": 0, "delete": 0, "run": 0}
    for i in range(5):
        cid = f"rss-{name}-{os.getpid()}-{i}"
        out["create"] = max(out["create"], rss_of(base + ["create", "--bundle", bundle, cid]))
        out["start"] = max(out["start"], rss_of(base + ["start", cid]))
        time.sleep(0.05)
        out["delete"] = max(out["delete"], rss_of(base + ["delete", "--force", cid]))
        out["run"] = max(out["run"], rss_of(base + ["run", "--bundle", bundle, cid + "-run"]))
        subprocess.run(base + ["delete", "--force", cid + "-run"], capture_output=True)
    return out


def main():
    name, binary, bundle, runs, out = sys.argv[1:6]
    runs = int(runs)
    root = f"/run/bench-{name}"
    base = [binary, "--root", root]
    res = {"create": [], "start": [], "delete": [], "run": []}
    for i in range(runs + 3):  # 3 warm-up rounds, not counted
        cid = f"bench-{name}-{os.getpid()}-{i}"
        c, _ = timed(base + ["create", "--bundle", bundle, cid])
        s, _ = timed(base + ["start", cid])
        # /bin/true exits at once; wait until it has so delete measures the normal path.
        deadline = time.time() + 5
        while time.time() < deadline:
            st = subprocess.run(base + ["state", cid], capture_output=True, text=True)
            if '"stopped"' in st.stdout:
                break
        d, _ = timed(base + ["delete", cid])
        r, _ = timed(base + ["run", "--bundle", bundle, cid + "-run"])
        subprocess.run(base + ["delete", "--force", cid + "-run"], capture_output=True)
        if i >= 3:
            res["create"].append(c)
            res["start"].append(s)
            res["delete"].append(d)
            res["run"].append(r)
    summary = {k: statistics.median(v) for k, v in res.items()}
    summary["rss_kb"] = peak_rss(base, bundle, name)
    summary["runs"] = runs
    with open(out, "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
