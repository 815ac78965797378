#!/usr/bin/env python3
"""Run a command N times; report median/min/max wall time and peak RSS of the child.

    python3 bench/measure.py --label NAME --runs N -- CMD ARGS...

Peak RSS: from GNU `/usr/bin/time -f %M` when it is installed (its own tiny process is
what the child is forked from, so the figure is the child's own); otherwise from
os.wait4()'s rusage (ru_maxrss), which on Linux also counts the pre-exec copy of this
Python process: then the floor (the same measurement of /bin/true) is reported and
figures near it mean "at most the floor". Wall time is always perf_counter around the run. stdout of the command is discarded (its size is reported),
stderr of the first failing run is shown. Prints one line of JSON per command on
stdout when --json is given, a human line otherwise. Exit 1 if any run failed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


GNU_TIME = "/usr/bin/time"


def have_gnu_time():
    if os.environ.get("MEASURE_NO_GNU_TIME"):
        return False
    try:
        r = subprocess.run([GNU_TIME, "-f", "%M", "-o", "/dev/stdout", "true"],
                           capture_output=True, text=True, timeout=10)
        return r.returncode == 0 and r.stdout.strip().isdigit()
    except (OSError, subprocess.SubprocessError):
        return False


def run_once(cmd, use_time):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as tf:
        full = [GNU_TIME, "-f", "%M", "-o", tf.name] + cmd if use_time else cmd
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        except OSError as e:
            return {"rc": 127, "wall": 0.0, "rss_kib": 0, "out_bytes": 0, "stderr": str(e)}
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        rss = ru.ru_maxrss
        if use_time:
            lines = [ln for ln in tf.read().split("\n") if ln.strip()]
            rss = int(lines[-1]) if lines and lines[-1].strip().isdigit() else 0
            # GNU time prints "Command exited with non-zero status N" first; keep the code
        out.seek(0, os.SEEK_END)
        err.seek(0)
        return {"rc": p.returncode, "wall": wall, "rss_kib": rss,
                "out_bytes": out.tell(), "stderr": err.read().decode(errors="replace")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    use_time = have_gnu_time()
    floor = None if use_time else run_once(["true"], False)["rss_kib"]
    runs = [run_once(cmd, use_time) for _ in range(max(1, a.runs))]
    walls = [r["wall"] for r in runs]
    failed = [r for r in runs if r["rc"] != 0]
    res = {
        "label": a.label, "runs": len(runs), "failed_runs": len(failed),
        "exit_codes": sorted({r["rc"] for r in runs}),
        "median_ms": round(statistics.median(walls) * 1000, 1),
        "min_ms": round(min(walls) * 1000, 1), "max_ms": round(max(walls) * 1000, 1),
        "peak_rss_mib": round(max(r["rss_kib"] for r in runs) / 1024, 1),
        "stdout_bytes": runs[-1]["out_bytes"],
        "rss_source": "gnu-time" if use_time else "wait4",
    }
    if floor is not None:
        res["rss_floor_mib"] = round(floor / 1024, 1)
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{a.label:<12} median {res['median_ms']:>9.1f} ms  (min {res['min_ms']:.1f}, "
              f"max {res['max_ms']:.1f})  peak RSS {res['peak_rss_mib']:>7.1f} MiB  "
              + (f" (floor {res['rss_floor_mib']})" if floor is not None else "")
              + f"  stdout {res['stdout_bytes']} B  exit {res['exit_codes']}"
              + (f"  FAILED {len(failed)}/{len(runs)}" if failed else ""))
    if failed:
        tail = failed[0]["stderr"].strip().splitlines()[-10:]
        print(f"  {a.label}: first failure (exit {failed[0]['rc']}), stderr tail:", file=sys.stderr)
        for line in tail:
            print(f"    {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
