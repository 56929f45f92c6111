#!/usr/bin/env python
"""The study's job shape, timed: Betti profiles of ResNet-18 on 2000 images of 32x32.

Suresh et al. compute, for each image and each of ResNet-18's 11 "blocks" layers, the
persistence of the activation tensor C x H x W with CubicalRipser, one image at a time, and
count Betti numbers at a threshold.  This script runs that reference pipeline and cuph's
batched path on the same activations, in the same run, and checks that the Betti numbers
agree exactly.

Usage::

    PYTHONPATH=python python bench/profile_model.py             # 2000 images (cripser ~100 s)
    PYTHONPATH=python python bench/profile_model.py --images 200 --quick

Method
------
* A randomly initialised torchvision ResNet-18 (eval mode; no weights can be downloaded
  here), ``--images`` generated images (10 "classes" of smooth random images, 3 x 32 x 32,
  ImageNet-normalised).  Activations of the 11 layers are extracted once (timed apart:
  the forward pass is the same for both pipelines) and kept in memory as float32.
* eta = each activation's mean (cuph's default rule), computed once and given to both.
* cripser: ``cripser.computePH(act_i.astype(float64), maxdim=2)`` per image and layer, then
  alive pairs counted with numpy, as the study's code does (1 thread).
* cuph: per layer, the whole batch in one call of :func:`cuph.metrics.betti_at`
  (``n_threads`` = all cores), which uses the exact Betti-at-threshold kernel for 1-3-D
  items when the build has it, else persistence diagrams.
* Times are wall clock (``time.perf_counter``) of the persistence part only; best of
  ``--repeats`` for cuph (cripser runs once at full size: it dominates the run).
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import sys
import time
from typing import Dict, List

import numpy as np

import _common as C

cuph = C.import_cuph()


def make_images(n: int, seed: int = 0):
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    # 10 classes: each a fixed low-frequency pattern plus per-image smooth noise.
    protos = torch.rand(10, 3, 6, 6, generator=g)
    labels = torch.arange(n) % 10
    noise = torch.rand(n, 3, 8, 8, generator=g)
    x = F.interpolate(protos[labels], size=32, mode="bicubic", align_corners=False)
    x = 0.7 * x + 0.3 * F.interpolate(noise, size=32, mode="bicubic", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x.clamp(0, 1) - mean) / std


def cripser_betti(acts: np.ndarray, eta: np.ndarray, maxdim: int = 2) -> np.ndarray:
    import cripser

    out = np.zeros((acts.shape[0], maxdim + 1), dtype=np.int64)
    for i in range(acts.shape[0]):
        ph = cripser.computePH(np.ascontiguousarray(acts[i], dtype=np.float64), maxdim=maxdim)
        alive = (ph[:, 1] <= eta[i]) & (eta[i] < ph[:, 2])
        out[i] = np.bincount(ph[alive, 0].astype(np.int64), minlength=maxdim + 1)[: maxdim + 1]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="write ...-quick.md")
    ap.add_argument("--no-cripser", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch
    import torchvision

    from cuph.metrics import betti_at
    from cuph.nn import ActivationExtractor

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = torchvision.models.resnet18(weights=None).eval()
    x = make_images(args.images)
    t0 = time.perf_counter()
    ext = ActivationExtractor(model, layers="blocks")
    chunks: Dict[str, List[np.ndarray]] = {n: [] for n in ext.layer_names}
    for _, acts in ext.stream(x, batch_size=250):
        for n, a in acts.items():
            chunks[n].append(a.numpy())
    acts_np = {n: np.concatenate(c) for n, c in chunks.items()}
    t_forward = time.perf_counter() - t0
    etas = {n: a.reshape(a.shape[0], -1).mean(axis=1, dtype=np.float64) for n, a in acts_np.items()}
    voxels = sum(a.size for a in acts_np.values())
    print(f"{args.images} images, {len(acts_np)} layers, {voxels / 1e6:.1f} M activation values; "
          f"forward pass {t_forward:.2f} s")

    # cuph: per layer, the whole batch in one call; best of repeats.
    cuph_res: Dict[str, np.ndarray] = {}
    per_layer_cuph: Dict[str, float] = {n: float("inf") for n in acts_np}
    for _ in range(max(1, args.repeats)):
        for n, a in acts_np.items():
            t = time.perf_counter()
            cuph_res[n] = betti_at(a, etas[n], batch_dims=1, maxdim=2, construction="V")
            per_layer_cuph[n] = min(per_layer_cuph[n], time.perf_counter() - t)
    t_cuph = sum(per_layer_cuph.values())

    rows = []
    agree_all = True
    t_cr_total = 0.0
    for n, a in acts_np.items():
        t_cr = None
        agree = "-"
        if not args.no_cripser:
            t = time.perf_counter()
            ref = cripser_betti(a, etas[n])
            t_cr = time.perf_counter() - t
            t_cr_total += t_cr
            ok = bool(np.array_equal(ref, cuph_res[n]))
            agree_all &= ok
            agree = "yes" if ok else f"NO ({int((ref != cuph_res[n]).any(axis=1).sum())} images differ)"
        rows.append([n, "x".join(map(str, a.shape[1:])), C.fmt_s(t_cr), C.fmt_s(per_layer_cuph[n]),
                     f"{t_cr / per_layer_cuph[n]:.1f}x" if t_cr else "-", agree])
    rows.append(["**all**", f"{voxels / 1e6:.1f} M values", C.fmt_s(t_cr_total or None), C.fmt_s(t_cuph),
                 f"**{t_cr_total / t_cuph:.1f}x**" if t_cr_total else "-", "yes" if agree_all else "NO"])
    table = C.md_table(["layer", "activation", "cripser [s]", "cuph [s]", "ratio", "Betti agree"], rows)
    print(table)
    body = (
        f"ResNet-18 (random init, eval), {args.images} generated 3x32x32 images, the 11 'blocks' "
        f"layers, Betti numbers b0..b2 at eta = each activation's mean, V construction. "
        f"Persistence part only (forward pass {t_forward:.2f} s, excluded). cripser: "
        f"computePH per image and layer, 1 thread, as the study's code; cuph: "
        f"cuph.metrics.betti_at per layer over the batch, {os.cpu_count()} threads, best of "
        f"{args.repeats}. {C.run_stamp()}\n\n{table}\n"
    )
    info = C.machine_info(cuph)
    path = C.results_path(quick=args.quick, kind="study-jobs") if args.out is None else C.Path(args.out)
    body = f"### Betti profile job: ResNet-18, {args.images} images\n\n" + body
    C.write_section(path, "profile-model", body, info)
    print(f"wrote {path}")
    return 0 if agree_all else 1


if __name__ == "__main__":
    sys.exit(main())
