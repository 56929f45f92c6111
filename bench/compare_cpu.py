#!/usr/bin/env python
"""cuph vs gudhi / CubicalRipser on the CPU: a ratio table, peers and cuph timed in the same
run, interleaved, with an exactness check of every result.

Usage::

    PYTHONPATH=python python bench/compare_cpu.py              # all cases, full size
    PYTHONPATH=python python bench/compare_cpu.py --quick      # small sizes, 1 repeat (< 1 min)
    PYTHONPATH=python python bench/compare_cpu.py --cases 'v3d-*,t2d-batch-noise'
    PYTHONPATH=python python bench/compare_cpu.py --list

Method
------
* Each case builds one input (seeded uniform noise, or the same noise Gaussian-filtered with
  ``scipy.ndimage.gaussian_filter``: "smooth", which has far fewer critical cells).
* Every tool is first called once untimed (warm-up: lazy imports, first-touch allocations,
  allocator growth): on the whole input, or on a small corner of it for the heavy cases
  (128^3 and 4-D, where one call takes seconds), so that the medians measure the steady state
  of a user who runs many such calls. Then the tools are timed in turn, ``repeats`` times, in
  alternating order (peer(s), cuph, ... then cuph, ..., peer(s)) so that slow drifts of a
  noisy machine hit both sides alike.  Reported times are medians (``time.perf_counter``,
  wall clock) of the whole call, including conversion of the peer's output to numpy
  arrays where the peer returns Python objects (gudhi) -- not including our
  canonicalisation of results for the check.
* ratio = peer time / cuph time (> 1: cuph is faster).  cuph runs with ``n_threads=1``
  unless a row says otherwise; for the 2-D batches (items over threads) and the single 3-D
  and 4-D items (sweeps, replays and reduction split over threads) a second table gives cuph
  with all ``os.cpu_count()`` threads, the scaling efficiency t1 / (tN * N) and the first
  peer's time over cuph's with N threads (the peers run on one thread).
* ``--pin CPU`` runs the whole process (every tool alike) on one CPU and writes its own
  section. On the 2-vCPU VM this was developed on, unpinned one-thread 2-D batch times vary
  from run to run, more than pinned ones: first the system time of touching fresh result
  memory (removed by the result pool, ``cpp/include/cuph/result_pool.hpp``), and still a
  spread in user time that moves between the 1- and 2-thread rows (likely other tenants on
  the vCPUs). Both tables are reported.
* agree: the multisets of off-diagonal (item, dim, birth, death) of the first run of each
  tool are equal (birth/death compared as float64; CubicalRipser's DBL_MAX read as inf).
  A "no" gives the number of pairs on each side and, per dimension, how many pairs have no
  partner.  The all-thread cuph result is compared with the 1-thread one.

Writes the tables into ``bench/results/cpu-<YYYY-MM-DD>.md`` (``...-quick.md`` with
``--quick``, or ``--out PATH``), next to the machine description; ``bench/memory.py``
adds its section to the same file.
"""

from __future__ import annotations

import os

# BLAS thread pools (numpy's and scipy's OpenBLAS) spin on a 2-core box; cuph and the peers
# use no BLAS.  Must be set before numpy is imported.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import fnmatch
import gc
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import _common as C

cuph = C.import_cuph()


# --------------------------------------------------------------------------------------
# tools: (label, run(x) -> raw result, canon(raw) -> (n, 4) pair array)
# --------------------------------------------------------------------------------------

@dataclass
class Tool:
    label: str
    run: Callable[[np.ndarray], Any]
    canon: Callable[[Any], np.ndarray]


def tool_cuph(construction: str, maxdim: int, batch_dims: int = 0, n_threads: int = 1,
              label: Optional[str] = None) -> Tool:
    def run(x):
        return cuph.persistence(x, maxdim=maxdim, construction=construction,
                                batch_dims=batch_dims, n_threads=n_threads)

    return Tool(label or f"cuph ({n_threads} thr)", run, lambda dg: C.pairs_cuph(dg, maxdim))


def tool_gudhi_sklearn_T(dims=(0, 1)) -> Tool:
    from gudhi.sklearn.cubical_persistence import CubicalPersistence

    def run(x):
        # iterates the first axis: one 2-D top-cell image per item -> Persistence_on_rectangle
        cp = CubicalPersistence(homology_dimensions=list(dims),
                                input_type="top_dimensional_cells", homology_coeff_field=2,
                                n_jobs=1)
        return cp.fit_transform(x)

    return Tool("gudhi.sklearn CubicalPersistence (n_jobs=1)", run,
                lambda res: C.pairs_gudhi_intervals(res, list(dims)))


def tool_gudhi_cc(construction: str, maxdim: int) -> Tool:
    import gudhi

    dims = list(range(maxdim + 1))

    def run(x):
        if construction == "V":
            cc = gudhi.CubicalComplex(vertices=x)
        else:
            cc = gudhi.CubicalComplex(top_dimensional_cells=x)
        cc.compute_persistence(homology_coeff_field=2)
        return [[cc.persistence_intervals_in_dimension(k) for k in dims]]

    kw = "vertices" if construction == "V" else "top_dimensional_cells"
    return Tool(f"gudhi CubicalComplex({kw}=)", run,
                lambda res: C.pairs_gudhi_intervals(res, dims))


def tool_cripser(maxdim: int) -> Tool:
    import cripser

    return Tool("cripser.computePH", lambda x: cripser.computePH(x, maxdim=maxdim),
                lambda r: C.pairs_cripser(r, maxdim))


def tool_tcripser(maxdim: int) -> Tool:
    import tcripser

    return Tool("tcripser.computePH", lambda x: tcripser.computePH(x, maxdim=maxdim),
                lambda r: C.pairs_cripser(r, maxdim))


# --------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    shape: Tuple[int, ...]
    quick_shape: Tuple[int, ...]
    kind: str                       # "noise" | "smooth"
    dtype: Any
    construction: str
    maxdim: int
    sigma: float = 0.0
    batch_dims: int = 0
    peers: List[Callable[[], Tool]] = field(default_factory=list)
    threads: bool = False           # also time cuph with all threads
    heavy: bool = False             # at most 3 repeats unless --repeats is given

    def describe(self, quick: bool) -> str:
        shape = self.quick_shape if quick else self.shape
        s = "x".join(map(str, shape))
        smooth = f", sigma={self.sigma:g}" if self.kind == "smooth" else ""
        return (f"{s} {np.dtype(self.dtype).name} {self.construction}, {self.kind}{smooth}, "
                f"maxdim {self.maxdim}")


def build_cases() -> List[Case]:
    cases: List[Case] = []
    for kind in ("noise", "smooth"):
        cases.append(Case(
            f"t2d-batch-{kind}", (2048, 56, 56), (128, 56, 56), kind, np.float32, "T", 1,
            sigma=2.0, batch_dims=1, peers=[tool_gudhi_sklearn_T], threads=True))
    for kind in ("noise", "smooth"):
        cases.append(Case(
            f"v3d-64-{kind}", (64, 56, 56), (16, 24, 24), kind, np.float64, "V", 2,
            sigma=2.0, peers=[lambda: tool_cripser(2), lambda: tool_gudhi_cc("V", 2)],
            threads=True))
    for kind in ("noise", "smooth"):
        cases.append(Case(
            f"v3d-128-{kind}", (128, 128, 128), (32, 32, 32), kind, np.float64, "V", 2,
            sigma=3.0, peers=[lambda: tool_cripser(2)], heavy=True, threads=True))
    for kind in ("noise", "smooth"):  # 4-D: CubicalRipser only (gudhi takes minutes)
        for cons in ("V", "T"):
            peer = (lambda: tool_cripser(3)) if cons == "V" else (lambda: tool_tcripser(3))
            cases.append(Case(
                f"v4d-24-{kind}-{cons}", (24, 24, 24, 24), (8, 8, 8, 8), kind, np.float64, cons,
                3, sigma=2.0, peers=[peer], heavy=True, threads=True))
    for kind in ("noise", "smooth"):
        for cons in ("V", "T"):
            peers = [lambda cons=cons: tool_gudhi_cc(cons, 1),
                     (lambda: tool_cripser(1)) if cons == "V" else (lambda: tool_tcripser(1))]
            cases.append(Case(
                f"img1024-{kind}-{cons}", (1024, 1024), (256, 256), kind, np.float64, cons, 1,
                sigma=3.0, peers=peers, threads=True))
    return cases


def select(cases: List[Case], spec: Optional[str]) -> List[Case]:
    if not spec:
        return cases
    pats = [p.strip() for p in spec.split(",") if p.strip()]
    out = [c for c in cases if any(fnmatch.fnmatch(c.name, p) or p in c.name for p in pats)]
    if not out:
        sys.exit(f"--cases {spec!r} matches no case; --list shows them")
    return out


# --------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------

def _corner(x: np.ndarray, batch_dims: int) -> np.ndarray:
    sl = tuple(slice(0, min(s, 4)) for s in x.shape[:batch_dims])
    sl += tuple(slice(0, min(s, 12)) for s in x.shape[batch_dims:])
    return np.ascontiguousarray(x[sl])


def time_tools(x: np.ndarray, tools: List[Tool], repeats: int, batch_dims: int,
               log, full_warmup: bool = True) -> Tuple[Dict[str, List[float]], Dict[str, Any]]:
    warm = x if full_warmup else _corner(x, batch_dims)
    for t in tools:  # warm-up
        t.run(warm)
        gc.collect()
    times: Dict[str, List[float]] = {t.label: [] for t in tools}
    first: Dict[str, Any] = {}
    for r in range(repeats):
        order = tools if r % 2 == 0 else tools[::-1]
        for t in order:
            gc.collect()
            t0 = time.perf_counter()
            res = t.run(x)
            dt = time.perf_counter() - t0
            times[t.label].append(dt)
            if t.label not in first:
                first[t.label] = res
            del res
            log(f"    {t.label}: {dt:.3f} s")
    return times, first


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, 1 repeat (a smoke test of the script, < 1 minute)")
    ap.add_argument("--cases", default=None,
                    help="comma-separated case names or globs (e.g. 'v3d-*,img1024-noise-V')")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs per tool (default 5, 3 for 128^3, 1 with --quick)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="thread count of the all-threads rows (default os.cpu_count())")
    ap.add_argument("--out", default=None, help="results file (default bench/results/cpu-<date>.md)")
    ap.add_argument("--pin", type=int, default=None, metavar="CPU",
                    help="run the whole process on this one CPU (every tool alike; the "
                         "all-threads rows are left out); written as a section of its own")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args(argv)

    cases = select(build_cases(), args.cases)
    if args.list:
        for c in cases:
            print(f"{c.name:24s} {c.describe(False)}  [quick: {c.describe(True)}]")
        return 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.pin is not None:
        # Before any timed tool starts a thread: threads inherit the mask.
        os.sched_setaffinity(0, {args.pin})
    info = C.machine_info(cuph)
    stamp = C.run_stamp()
    log("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()))
    nthr = max(1, args.threads)

    ratio_rows: List[List[str]] = []
    thread_rows: List[List[str]] = []
    disagreements: List[str] = []
    t_start = time.perf_counter()
    for case in cases:
        shape = case.quick_shape if args.quick else case.shape
        if args.repeats is not None:
            reps = args.repeats
        elif args.quick:
            reps = 1
        else:
            reps = 3 if case.heavy else 5
        log(f"{case.name}: {case.describe(args.quick)}, {reps} repeat(s)")
        x = C.make_input(shape, case.kind, case.dtype, seed=C.stable_seed(case.name), sigma=case.sigma, batch_dims=case.batch_dims)
        peers = [p() for p in case.peers]
        cu1 = tool_cuph(case.construction, case.maxdim, case.batch_dims, 1)
        tools = peers + [cu1]
        cuN = None
        if case.threads and args.pin is None:
            cuN = tool_cuph(case.construction, case.maxdim, case.batch_dims, nthr)
            tools.append(cuN)
        times, first = time_tools(x, tools, reps, case.batch_dims, log,
                                  full_warmup=not case.heavy)
        med = {k: statistics.median(v) for k, v in times.items()}
        ref = cu1.canon(first[cu1.label])
        n_cells = int(np.prod(shape))
        for p in peers:
            ok, note = C.compare(ref, p.canon(first[p.label]))
            if not ok:
                disagreements.append(f"{case.name} vs {p.label}: {note}")
            ratio_rows.append([
                case.name, case.describe(args.quick), p.label, C.fmt_s(med[p.label]),
                C.fmt_s(med[cu1.label]), f"{med[p.label] / med[cu1.label]:.2f}",
                "yes" if ok else "NO", note,
                f"{med[cu1.label] / n_cells * 1e9:.0f}",
            ])
            log(f"  -> {p.label}: ratio {med[p.label] / med[cu1.label]:.2f}, agree {ok} ({note})")
        if cuN is not None:
            ok, note = C.compare(ref, cuN.canon(first[cuN.label]))
            if not ok:
                disagreements.append(f"{case.name} cuph {nthr} threads vs 1 thread: {note}")
            t1, tn = med[cu1.label], med[cuN.label]
            thread_rows.append([
                case.name, C.fmt_s(t1), C.fmt_s(tn), str(nthr), f"{t1 / tn:.2f}",
                f"{100 * t1 / (tn * nthr):.0f}%", f"{med[peers[0].label] / tn:.2f} ({peers[0].label})",
                "yes" if ok else "NO",
            ])
            log(f"  -> {nthr} threads: speedup {t1 / tn:.2f}, efficiency {t1 / (tn * nthr):.0%}")
        del first, x
        gc.collect()
    elapsed = time.perf_counter() - t_start

    title = "Ratio table (compare_cpu.py)" if args.pin is None else \
        f"Ratio table, the process pinned to CPU {args.pin} (compare_cpu.py --pin)"
    body = [f"## {title}", "", stamp, ""]
    body.append(
        f"Median wall time of {'1 run' if args.quick else 'several runs (5; 3 for 128^3)'} "
        "per tool, peers and cuph interleaved in the same process; ratio = peer / cuph "
        "(> 1: cuph faster); cuph with 1 thread. agree = equal multisets of off-diagonal "
        "(item, dim, birth, death). ns/cell = cuph time per input cell."
        + (" **--quick run: small sizes, not the targets' sizes.**" if args.quick else ""))
    body.append("")
    body.append(C.md_table(
        ["case", "input", "peer", "peer (s)", "cuph (s)", "ratio", "agree", "pairs", "ns/cell"],
        ratio_rows))
    if thread_rows:
        body += ["", f"cuph on N = {nthr} threads (batches: items over threads; single 3-D/4-D "
                 "items: their sweeps, replays and reduction split) vs 1 thread; efficiency = "
                 "t1 / (tN * N); vs peer = the first peer's time (one thread) / cuph's on N:", ""]
        body.append(C.md_table(
            ["case", "1 thread (s)", f"{nthr} threads (s)", "N", "speedup", "efficiency",
             "vs peer", "same result"], thread_rows))
    if disagreements:
        body += ["", "**Disagreements:**", ""] + [f"- {d}" for d in disagreements]
    body += ["", f"Command: `{' '.join(['python bench/compare_cpu.py'] + (argv if argv is not None else sys.argv[1:]))}`"
             f", {elapsed:.0f} s in all.", ""]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        path = Path(args.out) if args.out else C.results_path(quick=args.quick)
        C.write_section(path, "ratios" if args.pin is None else "ratios-pinned", text, info)
        log(f"wrote {path}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
