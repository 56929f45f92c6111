#!/usr/bin/env python
"""scikit-learn transformers: ``cuph.sklearn.CubicalPersistence`` against
``gudhi.sklearn.CubicalPersistence`` on batches of 2-D maps, timed in the same run, with an
exactness check.

Usage::

    PYTHONPATH=python python bench/compare_sklearn.py            # 5 repeats
    PYTHONPATH=python python bench/compare_sklearn.py --quick    # 256 maps, 1 repeat

Method: 2048 float32 maps of 28x28 and of 56x56, uniform noise and Gaussian-filtered noise
(sigma 2), ``input_type="top_dimensional_cells"`` (gudhi's fast path, Persistence_on_rectangle),
``homology_dimensions=[0, 1]``, ``transform`` on the whole array after ``fit``. Both
transformers run with ``n_jobs=1``, alternating order each repeat; cuph also with all cores.
Times are medians of the whole call (``time.perf_counter``). ratio = gudhi time / cuph time.
agree: every map's diagrams are equal as multisets of rows in every dimension.
Writes the "sklearn" section of ``bench/results/cpu-<date>.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Dict, List

import numpy as np

from _common import (fmt_s, import_cuph, machine_info, make_input, md_table, results_path,
                     run_stamp, write_section)

cuph = import_cuph()
from cuph.sklearn import CubicalPersistence  # noqa: E402  (after the path fallback)
from gudhi.sklearn import CubicalPersistence as GudhiCubicalPersistence  # noqa: E402


def same(a: List[List[np.ndarray]], b: List[List[np.ndarray]]) -> bool:
    rows = lambda d: sorted(map(tuple, np.asarray(d, np.float64).reshape(-1, 2).tolist()))
    return all(rows(p) == rows(q) for x, y in zip(a, b) for p, q in zip(x, y)) and len(a) == len(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--maps", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="256 maps, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.maps, args.repeats = 256, 1
    cores = os.cpu_count() or 1
    info = machine_info(cuph)
    rows = []
    for side in (28, 56):
        for kind in ("noise", "smooth"):
            x = make_input((args.maps, side, side), kind, np.float32, seed=side, sigma=2.0,
                           batch_dims=1)
            tools = {"gudhi": GudhiCubicalPersistence([0, 1], n_jobs=1),
                     "cuph": CubicalPersistence([0, 1], n_jobs=1),
                     f"cuph {cores} threads": CubicalPersistence([0, 1], n_jobs=cores)}
            results = {name: est.fit(x).transform(x) for name, est in tools.items()}  # warm-up
            agree = all(same(results["gudhi"], r) for r in results.values())
            times: Dict[str, List[float]] = {name: [] for name in tools}
            for r in range(args.repeats):
                for name in (list(tools) if r % 2 == 0 else list(tools)[::-1]):
                    t = time.perf_counter()
                    tools[name].transform(x)
                    times[name].append(time.perf_counter() - t)
            med = {name: float(np.median(v)) for name, v in times.items()}
            rows.append([f"{args.maps}x{side}x{side} float32 T, {kind}", fmt_s(med["gudhi"]),
                         fmt_s(med["cuph"]), f"{med['gudhi'] / med['cuph']:.2f}",
                         fmt_s(med[f"cuph {cores} threads"]),
                         f"{med['gudhi'] / med[f'cuph {cores} threads']:.2f}",
                         "yes" if agree else "NO"])
            print(rows[-1], flush=True)
    table = md_table(["input", "gudhi.sklearn (s)", "cuph.sklearn (s)", "ratio",
                      f"cuph.sklearn, {cores} threads (s)", f"ratio on {cores}", "agree"], rows)
    body = (f"## scikit-learn transformers (compare_sklearn.py)\n\n{run_stamp()}\n\n"
            "`CubicalPersistence([0, 1])`, `transform` of the whole batch after `fit`; medians "
            f"of {args.repeats} runs, interleaved; ratio = gudhi / cuph (> 1: cuph faster). "
            "gudhi with n_jobs=1 (Persistence_on_rectangle, one map per task).\n\n" + table)
    print(body)
    if not args.quick:
        write_section(results_path(), "sklearn", body, info)


if __name__ == "__main__":
    main()
