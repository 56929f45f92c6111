#!/usr/bin/env python
"""Vietoris-Rips persistence: cuph.vr vs giotto-ph vs ripser.py (and scipy's MST for H0), in one
run, with peak memory and an agreement check.

Usage::

    PYTHONPATH=python python bench/compare_vr.py            # 2000 points in 512 dimensions
    PYTHONPATH=python python bench/compare_vr.py --quick    # 500 points, 1 repeat
    PYTHONPATH=python python bench/compare_vr.py --n 1000 --d 64 --repeats 5

Method
------
* Input: ``n`` points with i.i.d. standard normal coordinates in ``d`` dimensions (seeded),
  float64 (what every tool receives; giotto-ph and ripser.py compute in float32 inside).
* Every (tool, task) runs in its own fresh Python process: imports, input, a warm-up call on
  the first 64 points, then ``repeats`` timed calls (median reported, wall clock,
  ``time.perf_counter``; the best call too: on a shared machine it shows what the code
  does without interference). Peak memory = the largest resident set size seen during the timed
  calls (sampled every 2 ms from ``/proc/self/statm`` by a thread) minus the RSS just before
  them: what the calls needed on top of the interpreter, libraries and input.
* Tasks: ``maxdim=1`` (H0 and H1), and H0 alone. For H0 alone, giotto-ph and ripser.py run
  their full computation with ``maxdim=0``; scipy is ``pdist`` + ``squareform`` +
  ``minimum_spanning_tree``.
* Threads: cuph and giotto-ph use all cores (``n_threads``); ripser.py and scipy are
  single-threaded; cuph's H0 is also shown on 1 thread.
* Agreement: H0 deaths of each tool are compared with cuph's (sorted, relative tolerance 1e-5
  because giotto-ph and ripser.py report float32 values); H1 diagrams by their exact
  bottleneck distance (gudhi), which must be below 1e-5 times the largest finite value.
* ratio = peer time / cuph time (> 1: cuph is faster).

ripser.py is imported from the environment, or from ``--ripser-path`` (e.g. a
``pip install --target DIR ripser``); when it cannot be imported its rows say so.
Writes ``bench/results/vr-<date>.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

TOOLS_VR1 = ["cuph", "giotto-ph", "ripser.py"]
TOOLS_H0 = ["cuph", "cuph (1 thread)", "giotto-ph", "ripser.py", "scipy MST"]


def _points(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def _runner(tool: str, task: str, threads: int, ripser_path: Optional[str]):
    """A function x -> (h0 deaths, h1 pairs) for the tool and task."""
    maxdim = 1 if task == "vr1" else 0
    if tool.startswith("cuph"):
        cuph = _common.import_cuph()
        import cuph.vr  # noqa: F401

        t = 1 if "1 thread" in tool else threads

        def run(x):
            dg = cuph.vr.persistence(x, maxdim=maxdim, n_threads=t)
            return dg.in_dim(0)[:, 1], (dg.in_dim(1) if maxdim else np.zeros((0, 2)))
        return run
    if tool == "giotto-ph":
        from gph import ripser_parallel

        def run(x):
            r = ripser_parallel(x, maxdim=maxdim, n_threads=threads)["dgms"]
            return r[0][:, 1], (r[1] if maxdim else np.zeros((0, 2)))
        return run
    if tool == "ripser.py":
        if ripser_path:
            sys.path.append(ripser_path)
        from ripser import ripser

        def run(x):
            r = ripser(x, maxdim=maxdim)["dgms"]
            return r[0][:, 1], (r[1] if maxdim else np.zeros((0, 2)))
        return run
    if tool == "scipy MST":
        from scipy.sparse.csgraph import minimum_spanning_tree
        from scipy.spatial.distance import pdist, squareform

        def run(x):
            t = minimum_spanning_tree(squareform(pdist(x)))
            return np.r_[np.sort(t.data), np.inf], np.zeros((0, 2))
        return run
    raise ValueError(tool)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _worker(args: argparse.Namespace) -> None:
    import threading

    x = _points(args.n, args.d, args.seed)
    run = _runner(args.worker, args.task, args.threads, args.ripser_path)
    run(np.ascontiguousarray(x[:64]))
    base = _rss()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times = []
    out = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = run(x)
        times.append(time.perf_counter() - t0)
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss())
    h0, h1 = out
    np.savez(args.save, h0=np.sort(np.asarray(h0, np.float64)),
             h1=np.asarray(h1, np.float64).reshape(-1, 2))
    print(json.dumps({"time": float(np.median(times)), "best": float(np.min(times)), "times": times,
                      "peak_mb": (peak[0] - base) / 2.0**20}))


def _spawn(tool: str, task: str, a: argparse.Namespace, tmp: str) -> Dict[str, Any]:
    save = os.path.join(tmp, f"{tool.replace(' ', '_').replace('(', '').replace(')', '')}-{task}.npz")
    repeats = a.h0_repeats if task == "h0" else a.repeats
    cmd = [sys.executable, __file__, "--worker", tool, "--task", task, "--n", str(a.n),
           "--d", str(a.d), "--seed", str(a.seed), "--threads", str(a.threads),
           "--repeats", str(repeats), "--save", save]
    if a.ripser_path:
        cmd += ["--ripser-path", a.ripser_path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:160]}
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["save"] = save
    return res


def _agree(ref: str, other: str) -> str:
    a, b = np.load(ref), np.load(other)
    notes = []
    x, y = a["h0"], b["h0"]
    if x.shape != y.shape:
        notes.append(f"h0: {len(x)} vs {len(y)} pairs")
    elif not np.allclose(x, y, rtol=1e-5, atol=0):
        notes.append(f"h0: values differ (max rel {np.nanmax(np.abs(x - y) / np.abs(x)):.1e})")
    x, y = a["h1"], b["h1"]
    if len(x) or len(y):
        import gudhi

        scale = max(np.abs(x[np.isfinite(x)]).max(initial=0), np.abs(y[np.isfinite(y)]).max(initial=0))
        db = gudhi.bottleneck_distance(x, y, e=0)
        if not db <= 1e-5 * scale:
            notes.append(f"h1: bottleneck distance {db:.2e} ({len(x)} vs {len(y)} pairs)")
    return "yes" if not notes else "no: " + "; ".join(notes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per tool, maxdim 1")
    ap.add_argument("--h0-repeats", type=int, default=7, help="timed calls per tool, H0 alone")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true", help="500 points, 1 repeat")
    ap.add_argument("--ripser-path", default=None, help="extra sys.path entry holding ripser.py")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per tool run")
    ap.add_argument("--out", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--task", default="vr1", help=argparse.SUPPRESS)
    ap.add_argument("--save", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        _worker(a)
        return 0
    if a.quick:
        a.n, a.repeats, a.h0_repeats = 500, 1, 3
    if a.ripser_path:
        sys.path.append(a.ripser_path)
    cuph = _common.import_cuph()
    info = _common.machine_info(cuph)
    for mod in ("gph", "ripser"):
        info[mod] = _common._version(mod)
    lines = [f"# cuph.vr benchmark ({a.n} points in {a.d} dimensions)", "",
             "Written by `bench/compare_vr.py`; see its docstring for the method.", "",
             _common.run_stamp(), ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines.append("")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for task, tools, title in (("vr1", TOOLS_VR1, "maxdim = 1 (H0 + H1)"),
                                   ("h0", TOOLS_H0, "H0 alone")):
            res = {}
            for tool in tools:
                print(f"[{task}] {tool} ...", file=sys.stderr, flush=True)
                res[tool] = _spawn(tool, task, a, tmp)
            ref = res["cuph"]
            rows = []
            for tool in tools:
                r = res[tool]
                if "error" in r:
                    rows.append([tool, "-", "-", "-", "-", "-", f"not run: {r['error']}"])
                    continue
                ratio = r["time"] / ref["time"] if "time" in ref and tool != "cuph" else None
                agree = "reference" if tool == "cuph" else _agree(ref["save"], r["save"])
                ok &= agree in ("yes", "reference")
                best = r["best"] / ref["best"] if "best" in ref and tool != "cuph" else None
                rows.append([tool, _common.fmt_s(r["time"]),
                             f"{ratio:.2f}" if ratio is not None else "-",
                             _common.fmt_s(r["best"]), f"{best:.2f}" if best is not None else "-",
                             f"{r['peak_mb']:.0f}", agree])
            lines += [f"## {title}", "",
                      _common.md_table(["tool", "median [s]", "ratio (tool / cuph)", "best [s]",
                                        "ratio of best", "peak memory [MB]", "agrees with cuph"],
                                       rows)]
            print("\n".join(lines[-2:]))
    out = Path(a.out) if a.out else _common.RESULTS_DIR / (
        f"vr-{_dt.date.today().isoformat()}{'-quick' if a.quick else ''}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
