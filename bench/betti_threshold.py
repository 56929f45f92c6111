#!/usr/bin/env python
"""Betti numbers at one threshold per item: the dedicated kernel (``cuph.betti_numbers_at``)
against the diagram path (``cuph.persistence`` + counting the classes alive at eta), timed in
the same run, with an exactness check.

Usage::

    PYTHONPATH=python python bench/betti_threshold.py            # 2000 items, 5 repeats
    PYTHONPATH=python python bench/betti_threshold.py --quick    # 220 items, 1 repeat

Input: activations of ResNet-18 at a 32x32 input, one batch per layer shape (C x H x W items,
V construction, float32): 64x16x16 (3 layers), 64x8x8 (2), 128x4x4 (2), 256x2x2 (2), 512x1x1
(2), the items shared evenly among the 11 layers. Values are relu(gaussian-smoothed normal
noise, sigma 1 voxel on the spatial axes), standardised per channel so that about half of them
are exact zeros (many ties, as after a real ReLU). eta = each item's mean.

Method: both paths run on the same batches, alternating order each repeat; times are medians
of the whole call over all layers (``time.perf_counter``; also ``time.process_time``, the CPU
time of all threads, which other load on a shared machine disturbs less), with
``n_threads=1`` and with all cores. ratio = diagram time / kernel time. The results of the
first repeat must be equal.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
from scipy.ndimage import gaussian_filter

from _common import fmt_s, import_cuph, machine_info, md_table

cuph = import_cuph()
from cuph.betti import _betti_from_diagrams  # noqa: E402  (after the path fallback)

LAYERS: List[Tuple[Tuple[int, int, int], int]] = [
    ((64, 16, 16), 3), ((64, 8, 8), 2), ((128, 4, 4), 2), ((256, 2, 2), 2), ((512, 1, 1), 2),
]


def make_batches(n_items: int, seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """One (x, eta) per layer: x of shape (items, C, H, W) float32, eta the item means."""
    rng = np.random.default_rng(seed)
    n_layers = sum(k for _, k in LAYERS)
    out = []
    layer = 0
    for shape, count in LAYERS:
        for _ in range(count):
            n = n_items // n_layers + (1 if layer < n_items % n_layers else 0)
            layer += 1
            x = gaussian_filter(rng.normal(size=(n,) + shape), sigma=(0, 0, 1, 1), mode="reflect")
            x = (x - x.mean(axis=(2, 3), keepdims=True)) / (x.std(axis=(2, 3), keepdims=True) + 1e-12)
            if shape[1] == 1:  # 1x1 maps: no spatial statistics, standardise over channels
                x = rng.normal(size=(n,) + shape)
            x = np.maximum(x, 0).astype(np.float32)
            eta = x.reshape(n, -1).mean(axis=1, dtype=np.float64)
            out.append((x, eta))
    return out


def kernel(batches, n_threads: int) -> List[np.ndarray]:
    return [cuph.betti_numbers_at(x, eta, batch_dims=1, n_threads=n_threads) for x, eta in batches]


def diagrams(batches, n_threads: int) -> List[np.ndarray]:
    return [_betti_from_diagrams(x, eta, "V", 1, x.ndim - 2, n_threads) for x, eta in batches]


def timed(fn: Callable, *args) -> Tuple[float, float, List[np.ndarray]]:
    """Wall and CPU seconds (all threads of the process) of one call, and its result."""
    t, c = time.perf_counter(), time.process_time()
    res = fn(*args)
    return time.perf_counter() - t, time.process_time() - c, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="220 items, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.items, args.repeats = 220, 1
    batches = make_batches(args.items)
    voxels = sum(x.size for x, _ in batches)
    info = machine_info(cuph)
    print(f"{args.items} items ({voxels / 1e6:.1f} M voxels), ResNet-18-like activations, "
          f"eta = item mean; cpu: {info['cpu']}, cores: {info['cores']}, "
          f"load: {info['load average at start (1/5/15 min)']}, commit {info['cuph commit']}")
    kernel(batches[:1], 1), diagrams(batches[:1], 1)  # warm-up

    rows = []
    for n_threads in sorted({1, os.cpu_count() or 1}):
        times: Dict[str, List[float]] = {"kernel": [], "diagrams": []}
        cpu: Dict[str, List[float]] = {"kernel": [], "diagrams": []}
        for r in range(args.repeats):
            order = [("kernel", kernel), ("diagrams", diagrams)]
            for name, fn in order if r % 2 == 0 else order[::-1]:
                t, c, res = timed(fn, batches, n_threads)
                times[name].append(t)
                cpu[name].append(c)
                if r == 0:
                    if name == "kernel":
                        got = res
                    else:
                        want = res
            if r == 0:
                same = all(np.array_equal(a.reshape(b.shape), b) for a, b in zip(got, want))
                if not same:
                    raise SystemExit("kernel and diagram path disagree")
        tk, td = float(np.median(times["kernel"])), float(np.median(times["diagrams"]))
        ck, cd = float(np.median(cpu["kernel"])), float(np.median(cpu["diagrams"]))
        rows.append([str(n_threads), fmt_s(tk), f"{tk / voxels * 1e9:.2f}", fmt_s(td),
                     f"{td / voxels * 1e9:.1f}", f"{td / tk:.1f}", f"{ck:.3g} / {cd:.3g}",
                     f"{cd / ck:.1f}", "yes"])
    print(md_table(["threads", "kernel s", "kernel ns/voxel", "diagrams s", "diagrams ns/voxel",
                    "ratio (wall)", "CPU s kernel / diagrams", "ratio (CPU)", "agree"], rows),
          end="")
    print("Wall times are medians; CPU = process CPU time (all threads), less sensitive to "
          "other load on a shared machine.")


if __name__ == "__main__":
    main()
