#!/usr/bin/env python
"""Peak memory of cuph and CubicalRipser on the 3-D V cases, in bytes per voxel.

Usage::

    PYTHONPATH=python python bench/memory.py            # 64x56x56 and 128^3, noise and smooth
    PYTHONPATH=python python bench/memory.py --quick    # small volumes (smoke test)
    PYTHONPATH=python python bench/memory.py --cases 'v3d-128-*' --tools cuph

Method
------
Every measurement runs in a fresh Python subprocess (``memory.py --child``), so that
nothing allocated by an earlier measurement (heap fragments, cached pages) is counted or
reused.  The parent writes each input once to a temporary ``.npy`` file; the child

1. imports numpy, cuph and cripser and calls the tool once on a tiny volume (lazy
   initialisation is not charged to the measurement);
2. reads VmRSS (``rss_start``), loads the input with ``np.load`` (one allocation of exactly
   the array, no temporaries), calls ``malloc_trim(0)`` so that freed heap memory is handed
   back to the kernel and cannot be silently reused, and reads VmRSS again (``rss_input``);
3. resets the kernel's peak-RSS counter by writing ``5`` to ``/proc/self/clear_refs``
   (Linux >= 4.0: "reset the peak resident set size"); VmHWM in ``/proc/self/status`` then
   equals the current RSS;
4. runs the tool once (``cuph.persistence(x, maxdim=2, n_threads=1)`` /
   ``cripser.computePH(x, maxdim=2)``), keeping the result alive, and reads VmHWM
   (``peak``).

``ru_maxrss`` (getrusage) cannot be reset, hence cannot give the growth of one call.  When
``clear_refs`` is not writable (some containers), the child falls back to a sampling
thread that reads VmRSS every 0.5 ms during the call (it can miss a short spike; the
method used is printed with every row).

Reported, per voxel of the input (float64: the input itself is 8 bytes/voxel):

* ``call``: (peak - rss_input) / voxels -- working memory of the call, including its
  result, excluding the input array and the interpreter;
* ``incl. input``: (peak - rss_start) / voxels -- the above plus the input array (what a
  "peak memory per voxel" figure of a C++ program reading its own input would count).

The issue's target (cuph <= 40 bytes/voxel on these volumes) is compared with ``call``;
the table shows both.  Results go to stdout and, as the ``memory`` section, into the same
``bench/results/cpu-<date>.md`` as ``compare_cpu.py``.
"""

from __future__ import annotations

import os

# BLAS thread pools (numpy's and scipy's OpenBLAS) spin on a 2-core box; cuph and the peers
# use no BLAS.  Must be set before numpy is imported.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import ctypes
import fnmatch
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

import _common as C

CASES = {
    # name: (shape, quick shape, kind, sigma)
    "v3d-64-noise": ((64, 56, 56), (16, 24, 24), "noise", 2.0),
    "v3d-64-smooth": ((64, 56, 56), (16, 24, 24), "smooth", 2.0),
    "v3d-128-noise": ((128, 128, 128), (48, 48, 48), "noise", 3.0),
    "v3d-128-smooth": ((128, 128, 128), (48, 48, 48), "smooth", 3.0),
}
TOOLS = ("cuph", "cripser")
TARGET_BYTES_PER_VOXEL = 40


# --------------------------------------------------------------------------------------
# child
# --------------------------------------------------------------------------------------

def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _Sampler(threading.Thread):
    def __init__(self, period: float = 0.0005):
        super().__init__(daemon=True)
        self.period = period
        self.peak = C.status_kb("VmRSS")
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, C.status_kb("VmRSS"))
            time.sleep(self.period)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, C.status_kb("VmRSS"))
        return self.peak


def child(tool: str, path: str, maxdim: int, force_sampling: bool) -> Dict:
    if tool == "cuph":
        cuph = C.import_cuph()

        def run(x):
            return cuph.persistence(x, maxdim=maxdim, construction="V", n_threads=1)
    elif tool == "cripser":
        import cripser

        def run(x):
            return cripser.computePH(x, maxdim=maxdim)
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    run(np.random.default_rng(0).random((6, 6, 6)))  # warm-up
    gc.collect()
    _malloc_trim()
    rss_start = C.status_kb("VmRSS")
    x = np.load(path)
    assert x.dtype == np.float64 and x.flags.c_contiguous
    gc.collect()
    _malloc_trim()
    rss_input = C.status_kb("VmRSS")
    method = "clear_refs/VmHWM"
    sampler = None
    if force_sampling or not C.reset_peak():
        method = "VmRSS sampling (0.5 ms)"
        sampler = _Sampler()
        sampler.start()
    t0 = time.perf_counter()
    res = run(x)
    dt = time.perf_counter() - t0
    peak = sampler.stop() if sampler else C.status_kb("VmHWM")
    n_pairs = len(res.dim) if tool == "cuph" else len(res)
    del res
    return {"tool": tool, "voxels": int(x.size), "rss_start_kb": rss_start,
            "rss_input_kb": rss_input, "peak_kb": peak, "seconds": dt, "method": method,
            "pairs": n_pairs}


# --------------------------------------------------------------------------------------
# parent
# --------------------------------------------------------------------------------------

def measure(tool: str, path: Path, maxdim: int, force_sampling: bool) -> Dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [p for p in [str(C.REPO / "python"), env.get("PYTHONPATH", "")] if p])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, str(path),
           "--maxdim", str(maxdim)]
    if force_sampling:
        cmd.append("--sampling")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"child {tool} {path.name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small volumes (smoke test)")
    ap.add_argument("--cases", default=None, help="comma-separated names or globs")
    ap.add_argument("--tools", default=",".join(TOOLS), help="cuph,cripser")
    ap.add_argument("--repeats", type=int, default=1,
                    help="subprocess runs per measurement; the median is reported")
    ap.add_argument("--sampling", action="store_true",
                    help="use the VmRSS sampling thread even where clear_refs works")
    ap.add_argument("--out", default=None, help="results file (default bench/results/cpu-<date>.md)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--maxdim", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("TOOL", "NPY"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.maxdim, args.sampling)))
        return 0

    names = list(CASES)
    if args.cases:
        pats = [p.strip() for p in args.cases.split(",") if p.strip()]
        names = [n for n in names if any(fnmatch.fnmatch(n, p) or p in n for p in pats)]
        if not names:
            sys.exit(f"--cases {args.cases!r} matches none of {list(CASES)}")
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]

    cuph = C.import_cuph()
    info = C.machine_info(cuph)
    stamp = C.run_stamp()
    rows: List[List[str]] = []
    methods = set()
    over_target: List[str] = []
    with tempfile.TemporaryDirectory(prefix="cuph-mem-") as tmp:
        for name in names:
            shape, qshape, kind, sigma = CASES[name]
            shape = qshape if args.quick else shape
            x = C.make_input(shape, kind, np.float64, seed=C.stable_seed(name), sigma=sigma)
            path = Path(tmp) / f"{name}.npy"
            np.save(path, x)
            n = x.size
            del x
            for tool in tools:
                runs = [measure(tool, path, args.maxdim, args.sampling)
                        for _ in range(max(1, args.repeats))]
                runs.sort(key=lambda r: r["peak_kb"] - r["rss_input_kb"])
                r = runs[len(runs) // 2]
                methods.add(r["method"])
                call = (r["peak_kb"] - r["rss_input_kb"]) * 1024 / n
                incl = (r["peak_kb"] - r["rss_start_kb"]) * 1024 / n
                inp = (r["rss_input_kb"] - r["rss_start_kb"]) * 1024 / n
                if tool == "cuph" and call > TARGET_BYTES_PER_VOXEL:
                    over_target.append(f"{name}: {call:.1f} bytes/voxel")
                rows.append([name, "x".join(map(str, shape)) + f" {kind}", tool,
                             f"{call:.1f}", f"{incl:.1f}", f"{inp:.1f}",
                             f"{(r['peak_kb'] - r['rss_input_kb']) / 1024:.1f}",
                             f"{r['seconds']:.2f}", str(r["pairs"])])
                print(f"{name} {tool}: call {call:.1f} B/voxel, incl. input {incl:.1f} "
                      f"({r['method']})", file=sys.stderr, flush=True)

    body = ["## Peak memory (memory.py)", "", stamp, ""]
    body.append(
        f"Float64 V volumes, maxdim {args.maxdim}, 1 thread, one fresh subprocess per row; "
        f"method: {', '.join(sorted(methods))} (see the docstring of bench/memory.py). "
        "call = (peak RSS during the call - RSS with the input loaded) / voxels; "
        "incl. input = (peak - RSS before loading the input) / voxels; input = what the "
        f"loaded input itself added. Target: cuph call <= {TARGET_BYTES_PER_VOXEL} B/voxel."
        + (" **--quick run: small volumes.**" if args.quick else ""))
    body.append("")
    body.append(C.md_table(
        ["case", "input", "tool", "call (B/voxel)", "incl. input (B/voxel)",
         "input (B/voxel)", "call peak (MiB)", "time (s)", "pairs"], rows))
    if over_target:
        body += ["", f"cuph above the {TARGET_BYTES_PER_VOXEL} B/voxel target: "
                 + "; ".join(over_target)]
    body.append("")
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        path = Path(args.out) if args.out else C.results_path(quick=args.quick)
        C.write_section(path, "memory", text, info)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
