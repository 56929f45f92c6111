"""The GPU engine against gudhi and cuph's CPU engine: batched 2-D maps (the activation-map case).

Each case is a batch of float32 maps (default 2048 x 56 x 56, T and V, noise and smooth, dims
0-1). Rows, all timed in this run on the same input, each checked to give the CPU engine's pairs:

- gudhi's fast path on 1 CPU thread: ``gudhi.sklearn.CubicalPersistence`` (T), and for V
  ``gudhi.CubicalComplex(vertices=...)`` item by item on the first ``--gudhi-items`` items,
  scaled to the batch (said so in the table);
- cuph's CPU engine, 1 thread and all threads;
- the GPU kernels run by the CPU launcher (``portable``, all threads): what CI tests;
- cuph ``device="cuda"`` from a host array (with the replay of a block per item and pass, the
  default where it fits, and with the one-thread replay), and from a torch CUDA tensor, when a
  GPU is usable.

Times are medians of ``--reps`` runs after one warm-up; the GPU calls return after the results
are on the host, so wall time is end to end. Ratios are gudhi / row. With a GPU the table goes to
``bench/results/gpu-<device>-<date>.md``; without one it is printed only (``--write`` forces it).

    python bench/compare_gpu.py [--items 2048] [--size 56] [--reps 5] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (RESULTS_DIR, compare, fmt_s, import_cuph, machine_info, make_input,  # noqa: E402
                     md_table, pairs_cripser, pairs_cuph, pairs_gudhi_intervals, run_stamp,
                     stable_seed)

cuph = import_cuph()
from cuph.engine import _persistence  # noqa: E402


def median_time(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm-up: module load, thread pool, device context
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def gudhi_t(x: np.ndarray) -> list:
    """gudhi's fast path for a batch of 2-D top-cell maps, as it returns them."""
    from gudhi.sklearn.cubical_persistence import CubicalPersistence

    cp = CubicalPersistence(homology_dimensions=[0, 1], input_type="top_dimensional_cells",
                            homology_coeff_field=2, n_jobs=1)
    return cp.fit_transform(x)


def gudhi_v(x: np.ndarray, n: int) -> list:
    """gudhi.CubicalComplex(vertices=...) on the first n items, intervals as it returns them."""
    import gudhi

    per_item = []
    for item in x[:n]:
        cc = gudhi.CubicalComplex(vertices=item)
        cc.compute_persistence(homology_coeff_field=2)
        per_item.append([cc.persistence_intervals_in_dimension(k) for k in (0, 1)])
    return per_item


def volumes(args: argparse.Namespace, gpu: bool, threads: int) -> List[List[str]]:
    """3-D V volumes, alone or in batches ("B:DxHxW", e.g. 16:64x56x56, the activations of a
    layer as 3-D items): cripser (maxdim 2, 1 thread, volume by volume; one run beyond 2^21
    voxels), the CPU engine, the GPU kernels on the CPU launcher (maxdim 0; small inputs), and
    device='cuda' with maxdim 0 (the kernels alone) and 2 (the hybrid), each checked against
    the CPU engine."""
    table: List[List[str]] = []
    for spec in filter(None, args.volumes.split(",")):
        batch, _, dims = spec.rpartition(":")
        shape = tuple(int(v) for v in dims.lower().split("x"))
        n = int(batch) if batch else 1
        voxels = n * int(np.prod(shape))
        for kind in ("noise", "smooth"):
            name = f"3d-V-{kind}-{spec}"
            x = make_input((n,) + shape, kind, np.float32, stable_seed(name), sigma=3.0,
                           batch_dims=1)
            reps = 1 if voxels > 2**21 else args.reps
            rows: List[Tuple[str, float]] = []
            for maxdim in (2, 0):
                want = pairs_cuph(cuph.persistence(x, maxdim=maxdim, batch_dims=1, device="cpu"))

                def row(label: str, fn: Callable[[], object], n_runs: int = reps) -> None:
                    got = fn()
                    got = got if isinstance(got, np.ndarray) else pairs_cuph(got)
                    ok, detail = compare(got, want)
                    if not ok:
                        raise SystemExit(f"{name} {label}: pairs differ from the CPU engine: {detail}")
                    rows.append((label, median_time(fn, n_runs)))

                if maxdim == 2:
                    import cripser

                    def cripser_all() -> np.ndarray:
                        parts = [pairs_cripser(cripser.computePH(v.astype(np.float64), maxdim=2))
                                 for v in x]
                        for i, part in enumerate(parts):
                            part[:, 0] = i
                        rows_all = np.concatenate(parts)
                        return rows_all[np.lexsort(rows_all.T[::-1])]

                    row("cripser.computePH, maxdim 2 (1 thread)", cripser_all, 1)
                for t in sorted({1, threads}):
                    row(f"cuph CPU engine, maxdim {maxdim}, {t} thread(s)",
                        lambda t=t: cuph.persistence(x, maxdim=maxdim, batch_dims=1, n_threads=t,
                                                     device="cpu"))
                if maxdim == 0 and voxels <= 2**21:
                    row(f"GPU kernels on the CPU launcher, maxdim 0, {threads} threads",
                        lambda: _persistence(x, 0, "V", 1, threads, False, False, None,
                                             "portable"))
                if gpu:
                    row(f"cuph device='cuda' from numpy, maxdim {maxdim}"
                        + (" (hybrid)" if maxdim else ""),
                        lambda: cuph.persistence(x, maxdim=maxdim, batch_dims=1, device="cuda"))
            peer = rows[0][1]
            for label, t in rows:
                table.append([name, label, fmt_s(t), f"{voxels / t / 1e6:.1f}", f"{peer / t:.2f}"])
            print(md_table(["case", "row", "s", "Mvoxel/s", "x cripser"], table[-len(rows):]))
    return table


def profile(args: argparse.Namespace, gpu: bool, threads: int) -> str:
    """Where one call's time goes, step by step: the launcher's launch profile
    (cuda/launch_profile.hpp; each launch, allocation and transfer between two synchronizations)
    for a 2-D batch (T, noise, dims 0-1; from a torch CUDA tensor where there is one) and a 3-D
    volume (V, noise, maxdim 0: the kernels alone), on the CUDA launcher with a GPU, else on the
    CPU launcher. Also the call's wall time with the profile off and on: the difference is what
    the synchronizations cost."""
    if gpu:
        from cuph import _cuda

        switch, engine = _cuda._profile, "cuda"
    else:
        from cuph import _core

        switch, engine = _core._portable_profile, "portable"
    vol = tuple(int(v) for v in args.profile_volume.lower().split("x"))
    sections = []
    for name, shape, construction, maxdim in [
            ("2d-T-noise", (args.items, args.size, args.size), "T", 1),
            (f"3d-V-noise-{args.profile_volume}", (1,) + vol, "V", 0)]:
        x = make_input(shape, "noise", np.float32, stable_seed(name), sigma=2.0, batch_dims=1)
        xin = x
        if gpu:
            try:
                import torch

                xin = torch.from_numpy(x).cuda() if torch.cuda.is_available() else x
            except ImportError:
                pass
        want = pairs_cuph(cuph.persistence(x, maxdim=maxdim, construction=construction,
                                           batch_dims=1, device="cpu"))

        def call() -> object:
            if gpu:  # the public entry point: a torch tensor is read in place
                return cuph.persistence(xin, maxdim=maxdim, construction=construction,
                                        batch_dims=1, device="cuda")
            return _persistence(x, maxdim, construction, 1, threads, False, False, None, engine)

        ok, detail = compare(pairs_cuph(call()), want)
        if not ok:
            raise SystemExit(f"profile {name}: pairs differ from the CPU engine: {detail}")
        off = median_time(call, args.reps)
        switch(True)
        switch()  # forget the steps of anything before
        t = time.perf_counter()
        call()
        on = time.perf_counter() - t
        steps = switch(False)["steps"]
        total = sum(s for _, s in steps.values()) or 1.0
        rows = [[step, str(calls), f"{s * 1e3:.3f}", f"{100 * s / total:.1f}"]
                for step, (calls, s) in sorted(steps.items(), key=lambda kv: -kv[1][1])]
        head = (f"### {name} {'x'.join(map(str, shape))}, maxdim {maxdim}, "
                f"{'CUDA' if gpu else 'CPU'} launcher, from "
                f"{type(xin).__module__.split('.')[0]}\n\nwall: {off * 1e3:.3f} ms (profile off, "
                f"median of {args.reps}), {on * 1e3:.3f} ms (profile on); steps sum to "
                f"{total * 1e3:.3f} ms\n\n")
        sections.append(head + md_table(["step", "calls", "ms", "% of steps"], rows))
        print(sections[-1])
    return "\n\n".join(sections) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=2048)
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--gudhi-items", type=int, default=256,
                    help="V: gudhi.CubicalComplex runs on this many items, scaled to the batch")
    ap.add_argument("--volumes", default="64x56x56",
                    help="comma-separated 3-D volume shapes for the volume table, each "
                         "optionally a batch ('16:64x56x56'); '' for none")
    ap.add_argument("--only-volumes", action="store_true",
                    help="only the volume table (written to its own results file)")
    ap.add_argument("--profile", action="store_true",
                    help="only the launch profiles of a 2-D batch (--items x --size^2) and a 3-D "
                         "volume (--profile-volume), written to their own results file")
    ap.add_argument("--profile-volume", default="128x128x128")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--write", action="store_true", help="write the table even without a GPU")
    args = ap.parse_args(argv)

    gpu = cuph.cuda_available()
    threads = os.cpu_count() or 1
    if args.profile:
        body = profile(args, gpu, threads)
        if (gpu or args.write) and not args.no_write:
            write_results(gpu, "-profile", f"## Launch profiles\n\n{run_stamp()}\n\n{body}")
        return 0
    if args.only_volumes:
        table_v = volumes(args, gpu, threads)
        if (gpu or args.write) and not args.no_write:
            write_results(gpu, "-volumes", "## 3-D volumes\n\n" + volume_body(table_v))
        return 0
    n, s = args.items, args.size
    pixels = n * s * s
    table = []
    for construction in "TV":
        for kind in ("noise", "smooth"):
            name = f"2d-{construction}-{kind}"
            x = make_input((n, s, s), kind, np.float32, stable_seed(name), sigma=2.0, batch_dims=1)
            want = pairs_cuph(cuph.persistence(x, construction=construction, batch_dims=1,
                                               maxdim=1, device="cpu"))
            rows = []

            # Only the tool's own call is timed: its output is turned into pairs for the
            # check outside the timed runs.
            def row(label: str, fn: Callable[[], object], ref: np.ndarray = want,
                    scale: float = 1.0) -> float:
                got = fn()
                got = pairs_gudhi_intervals(got, [0, 1]) if isinstance(got, list) else pairs_cuph(got)
                ok, detail = compare(got, ref)
                if not ok:
                    raise SystemExit(f"{name} {label}: pairs differ from the CPU engine: {detail}")
                t = median_time(fn, args.reps) * scale
                rows.append([label, t])
                return t

            if construction == "T":
                peer = row("gudhi CubicalPersistence (1 thread)", lambda: gudhi_t(x))
            else:  # gudhi has no batched V path: a subset, scaled to the batch
                m = min(n, args.gudhi_items)
                subset = pairs_cuph(cuph.persistence(x[:m], construction="V", batch_dims=1,
                                                     maxdim=1, device="cpu"))
                peer = row(f"gudhi CubicalComplex (1 thread; {m} items x {n / m:g})",
                           lambda: gudhi_v(x, m), subset, scale=n / m)
            row("cuph CPU engine, 1 thread",
                lambda: cuph.persistence(x, construction=construction, batch_dims=1, maxdim=1,
                                         n_threads=1, device="cpu"))
            row(f"cuph CPU engine, {threads} threads",
                lambda: cuph.persistence(x, construction=construction, batch_dims=1, maxdim=1,
                                         n_threads=threads, device="cpu"))
            row(f"GPU kernels on the CPU launcher, {threads} threads",
                lambda: _persistence(x, 1, construction, 1, threads, False, False, None,
                                     "portable"))
            if gpu:
                from cuph import _cuda

                row("cuph device='cuda' from numpy",
                    lambda: cuph.persistence(x, construction=construction, batch_dims=1,
                                             maxdim=1, device="cuda"))
                before = _cuda._replay(blocks=False)  # the replay on one thread per item
                try:
                    row("cuph device='cuda' from numpy, one-thread replay",
                        lambda: cuph.persistence(x, construction=construction, batch_dims=1,
                                                 maxdim=1, device="cuda"))
                finally:
                    _cuda._replay(blocks=before["blocks"])
                try:
                    import torch

                    if torch.cuda.is_available():
                        xt = torch.from_numpy(x).cuda()
                        row("cuph from a torch CUDA tensor",
                            lambda: cuph.persistence(xt, construction=construction, batch_dims=1,
                                                     maxdim=1))
                except ImportError:
                    pass
            for label, t in rows:
                table.append([name, label, fmt_s(t), f"{pixels / t / 1e9:.3f}", f"{peer / t:.2f}"])
            print(md_table(["case", "row", "s", "Gpixel/s", "x gudhi"], table[-len(rows):]))

    # Betti numbers at each map's mean (the profiling job's question), no diagram: cripser
    # image by image as the study's code does (a subset, scaled), the CPU kernel, the GPU one.
    from cuph.betti import _betti_numbers_at

    betti_table = []
    for kind in ("noise", "smooth"):
        x = make_input((n, s, s), kind, np.float32, stable_seed(f"betti-{kind}"), sigma=2.0,
                       batch_dims=1)
        eta = x.reshape(n, -1).mean(axis=1, dtype=np.float64)
        want = cuph.betti_numbers_at(x, eta, batch_dims=1, device="cpu")
        m = min(n, args.gudhi_items)

        def cripser_betti() -> np.ndarray:
            import cripser

            out = np.zeros((m, 2), np.int64)
            for i in range(m):
                ph = cripser.computePH(x[i].astype(np.float64), maxdim=1)
                alive = (ph[:, 1] <= eta[i]) & (eta[i] < ph[:, 2])
                out[i] = np.bincount(ph[alive, 0].astype(int), minlength=2)[:2]
            return out

        rows_b = [("cripser image by image (1 thread; "
                   f"{m} items x {n / m:g})", cripser_betti, want[:m], n / m),
                  ("cuph CPU kernel, 1 thread",
                   lambda: cuph.betti_numbers_at(x, eta, batch_dims=1, n_threads=1,
                                                 device="cpu"), want, 1.0),
                  (f"GPU kernels on the CPU launcher, {threads} threads",
                   lambda: _betti_numbers_at(x, eta, 1, None, "V", threads, "portable"), want,
                   1.0)]
        if gpu:
            rows_b.append(("cuph device='cuda' from numpy",
                           lambda: cuph.betti_numbers_at(x, eta, batch_dims=1, device="cuda"),
                           want, 1.0))
            try:
                import torch

                if torch.cuda.is_available():
                    xt = torch.from_numpy(x).cuda()
                    rows_b.append(("cuph from a torch CUDA tensor",
                                   lambda: cuph.betti_numbers_at(xt, eta, batch_dims=1), want,
                                   1.0))
            except ImportError:
                pass
        peer = None
        for label, fn, ref, scale in rows_b:
            if not np.array_equal(fn(), ref):
                raise SystemExit(f"betti {kind} {label}: Betti numbers differ from the CPU kernel")
            t = median_time(fn, args.reps) * scale
            peer = t if peer is None else peer
            betti_table.append([f"betti-V-{kind}", label, fmt_s(t), f"{pixels / t / 1e9:.3f}",
                                f"{peer / t:.2f}"])
        print(md_table(["case", "row", "s", "Gpixel/s", "x cripser"], betti_table[-len(rows_b):]))

    volume_table = volumes(args, gpu, threads)

    body = (f"{run_stamp()}\n\nBatches of {n} x {s} x {s} float32 maps, dims 0-1, median of "
            f"{args.reps} runs after a warm-up; x gudhi = gudhi's time / the row's.\n\n"
            + md_table(["case", "row", "s", "Gpixel/s", "x gudhi"], table))
    if (gpu or args.write) and not args.no_write:
        betti_body = ("Betti numbers (V) of each map at its mean value, no diagram; x cripser = "
                      "CubicalRipser's time (image by image) / the row's.\n\n"
                      + md_table(["case", "row", "s", "Gpixel/s", "x cripser"], betti_table))
        write_results(gpu, "", "## Batched 2-D maps\n\n" + body
                      + "\n## Betti numbers at a threshold\n\n" + betti_body
                      + "\n## 3-D volumes\n\n" + volume_body(volume_table))
    return 0


def volume_body(table: List[List[str]]) -> str:
    return ("3-D V volumes, float32, alone or in batches (B:shape); maxdim 0: dimension 0 "
            "alone (the GPU kernels alone); maxdim 2: every dimension (the GPU kernels' dimensions 0 and 2, the CPU "
            "engine's dimension 1: the hybrid). x cripser = cripser.computePH's time (maxdim 2, "
            f"1 thread) / the row's.\n\n{run_stamp()}\n\n"
            + md_table(["case", "row", "s", "Mvoxel/s", "x cripser"], table))


def write_results(gpu: bool, suffix: str, sections: str) -> None:
    """bench/results/gpu-<device>-<date><suffix>.md: the machine, then the sections."""
    info = machine_info(cuph)
    device = "cpu-launcher"
    if gpu:
        from cuph import _cuda

        info["GPU"] = _cuda.device_name()
        device = re.sub(r"[^A-Za-z0-9]+", "-", _cuda.device_name()).strip("-").lower()
    path = RESULTS_DIR / f"gpu-{device}-{_dt.date.today().isoformat()}{suffix}.md"
    lines = ["# cuph GPU benchmarks", "", "Written by `bench/compare_gpu.py`.", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    path.write_text("\n".join(lines) + "\n\n" + sections)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
