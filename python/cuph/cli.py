"""The ``cuph`` command line: ``cuph persistence``, ``cuph demo``, ``cuph profile``, ``cuph rank``.

Examples
--------
Persistence of every image of a stack (leading axis = batch) into an ``.npz`` file::

    cuph persistence stack.npy --batch-dims 1 --construction T -o diagrams.npz

A grey-scale image (Pillow reads PNG/TIFF), superlevel filtration, as CSV::

    cuph persistence cells.png --superlevel -o cells.csv

The built-in demonstration (timings against gudhi when it is installed)::

    cuph demo --out demo-output
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._threads import usable_cores

__all__ = ["main", "read_input", "run_persistence"]

_INPUT_EXTS = (".npy", ".npz", ".png", ".tif", ".tiff")
_OUTPUT_EXTS = (".npz", ".csv")


class CLIError(Exception):
    """An error with a message meant for the user of the command line."""


# ----------------------------------------------------------------------------- input
def _read_image(path: str) -> np.ndarray:
    try:
        from PIL import Image, ImageSequence
    except ImportError:
        raise CLIError(
            f"reading {os.path.basename(path)!r} needs Pillow, which is not installed: "
            "pip install pillow (or convert the image to .npy)"
        ) from None
    with Image.open(path) as im:
        frames = []
        for frame in ImageSequence.Iterator(im):
            if frame.mode in ("RGB", "RGBA", "P", "LA", "CMYK", "YCbCr", "HSV", "1"):
                frame = frame.convert("L")
            frames.append(np.asarray(frame))
    if len(frames) == 1:
        return frames[0]
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise CLIError(f"{path}: the frames of this multi-page image differ in shape: {shapes}")
    return np.stack(frames)


def read_input(path: str, key: Optional[str] = None) -> np.ndarray:
    """Read an input array from ``.npy``, ``.npz`` (first array or ``key``), ``.png``,
    ``.tif`` or ``.tiff`` (Pillow; colour images are converted to grey, multi-page TIFFs
    are stacked along a new first axis)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in _INPUT_EXTS:
        raise CLIError(
            f"unsupported input {path!r}: expected one of {', '.join(_INPUT_EXTS)}"
        )
    if not os.path.exists(path):
        raise CLIError(f"input file {path!r} does not exist")
    if ext == ".npy":
        return np.load(path, allow_pickle=False)
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if not names:
                raise CLIError(f"{path!r} holds no arrays")
            if key is None:
                return z[names[0]]
            if key not in names:
                raise CLIError(f"{path!r} has no array {key!r}; it has {names}")
            return z[key]
    if key is not None:
        raise CLIError("--key only applies to .npz inputs")
    return _read_image(path)


# ----------------------------------------------------------------------------- persistence
def run_persistence(
    x: np.ndarray,
    *,
    construction: str = "V",
    maxdim: Optional[int] = None,
    batch_dims: int = 0,
    n_threads: Optional[int] = None,
    superlevel: bool = False,
    keep_diagonal: bool = False,
    device: str = "auto",
    chunk_size: Optional[int] = None,
    progress: bool = True,
) -> Any:
    """:func:`cuph.persistence` over chunks of the batch, with a tqdm progress bar.

    The result is identical to one call of :func:`cuph.persistence` on ``x`` (item numbers
    are global, ``batch_shape`` is ``x.shape[:batch_dims]``).
    """
    from .diagrams import Diagrams
    from .engine import persistence

    kwargs: Dict[str, Any] = dict(
        construction=construction,
        maxdim=maxdim,
        n_threads=n_threads,
        superlevel=superlevel,
        keep_diagonal=keep_diagonal,
        device=device,
    )
    if batch_dims == 0:
        return persistence(x, batch_dims=0, **kwargs)
    if not 0 < batch_dims < x.ndim:
        raise CLIError(f"--batch-dims must be in [0, {x.ndim - 1}] for an input of shape {x.shape}")
    batch_shape = x.shape[:batch_dims]
    n_items = int(np.prod(batch_shape, dtype=np.int64))
    flat = x.reshape((n_items,) + x.shape[batch_dims:])
    threads = n_threads or usable_cores()
    if chunk_size is None:
        chunk_size = max(4 * threads, -(-n_items // 50))
    chunk_size = max(1, int(chunk_size))
    if n_items <= chunk_size:
        return persistence(x, batch_dims=batch_dims, **kwargs)
    bar = _progress_bar(n_items, progress)
    parts = []
    try:
        for start in range(0, n_items, chunk_size):
            part = flat[start : start + chunk_size]
            parts.append(persistence(part, batch_dims=1, **kwargs))
            if bar is not None:
                bar.update(part.shape[0])
    finally:
        if bar is not None:
            bar.close()
    return Diagrams.concat(parts, batch_shape=batch_shape)


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but keep working without it
        return None
    return tqdm(total=total, unit="item", desc="persistence", file=sys.stderr)


def _cmd_persistence(args: argparse.Namespace) -> int:
    out_ext = os.path.splitext(args.output)[1].lower()
    if out_ext not in _OUTPUT_EXTS:
        raise CLIError(f"unsupported output {args.output!r}: expected .npz or .csv")
    x = read_input(args.input, args.key)
    t0 = time.perf_counter()
    dg = run_persistence(
        x,
        construction=args.construction,
        maxdim=args.maxdim,
        batch_dims=args.batch_dims,
        n_threads=args.threads,
        superlevel=args.superlevel,
        keep_diagonal=args.keep_diagonal,
        device=args.device,
        chunk_size=args.chunk_size,
        progress=not args.no_progress,
    )
    elapsed = time.perf_counter() - t0
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    if out_ext == ".npz":
        dg.save(args.output)
    else:
        dg.to_csv(args.output)
    counts = np.bincount(np.asarray(dg.dim, dtype=np.int64), minlength=dg.maxdim + 1)
    per_dim = ", ".join(f"H{k}: {int(c)}" for k, c in enumerate(counts))
    print(
        f"{dg.n_items} item(s) of shape {dg.item_shape}, {dg.n_pairs} pairs ({per_dim}) "
        f"in {elapsed:.3f} s -> {args.output}"
    )
    return 0


# ----------------------------------------------------------------------------- demo
def _smooth(noise: np.ndarray, sigma: float, axes: Sequence[int]) -> np.ndarray:
    """Periodic Gaussian smoothing along ``axes`` with numpy's FFT (no scipy needed)."""
    f = np.fft.fftn(noise, axes=axes)
    for ax in axes:
        n = noise.shape[ax]
        k = np.fft.fftfreq(n)
        g = np.exp(-2.0 * (np.pi * sigma * k) ** 2)
        shape = [1] * noise.ndim
        shape[ax] = n
        f = f * g.reshape(shape)
    return np.real(np.fft.ifftn(f, axes=axes))


def _demo_data(quick: bool) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240607)
    n_maps, side, vol = (32, 32, 24) if quick else (256, 56, 64)
    maps = _smooth(rng.standard_normal((n_maps, side, side)), 3.0, axes=(1, 2))
    volume = _smooth(rng.standard_normal((vol, vol, vol)), 2.0, axes=(0, 1, 2))
    return maps, volume


def _counter(pairs: Any) -> Counter:
    return Counter((int(k), float(b), float(d)) for k, (b, d) in pairs)


def _gudhi_sklearn() -> Any:
    try:
        from gudhi.sklearn import CubicalPersistence
    except ImportError:  # gudhi.sklearn needs scikit-learn
        return None
    return CubicalPersistence


def _gudhi_maps(gudhi: Any, maps: np.ndarray, cp_class: Any) -> Tuple[List[Counter], str]:
    if cp_class is not None:
        cp = cp_class(homology_dimensions=[0, 1], homology_coeff_field=2, n_jobs=1)
        out = cp.fit_transform(maps)
        counters = []
        for per_dim in out:
            c: Counter = Counter()
            for k, arr in enumerate(per_dim):
                for b, d in np.asarray(arr).reshape(-1, 2).tolist():
                    c[(k, float(b), float(d))] += 1
            counters.append(c)
        return counters, "gudhi.sklearn.CubicalPersistence(n_jobs=1)"
    counters = []
    for m in maps:
        cc = gudhi.CubicalComplex(top_dimensional_cells=m)
        counters.append(_counter(cc.persistence(homology_coeff_field=2)))
    return counters, "gudhi.CubicalComplex (loop; gudhi.sklearn needs scikit-learn)"


def _best_of(fn: Any, repeats: int) -> Tuple[float, Any]:
    """The shortest wall time of ``repeats`` calls of ``fn`` and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _cmd_demo(args: argparse.Namespace) -> int:
    from .engine import persistence

    maps, volume = _demo_data(args.quick)
    threads = args.threads or usable_cores()
    gudhi: Any = None
    if not args.no_gudhi:
        try:
            import gudhi  # type: ignore[no-redef]
        except ImportError:
            print("gudhi is not installed: showing cuph timings only (pip install gudhi)")
    print(f"cuph demo: {threads} thread(s)")

    # Warm up (the first call builds per-process tables), then keep the best of a few runs.
    persistence(maps[:2], construction="T", batch_dims=1, n_threads=threads)
    persistence(volume[:8, :8, :8], construction="V", n_threads=threads)
    t_maps, dg_maps = _best_of(
        lambda: persistence(maps, construction="T", batch_dims=1, n_threads=threads), 3)
    t_vol, dg_vol = _best_of(lambda: persistence(volume, construction="V", n_threads=threads), 3)

    rows: List[Tuple[str, float, Optional[float], str]] = []
    ok = True
    label_maps = f"2-D batch {maps.shape[0]} x {maps.shape[1]}x{maps.shape[2]} (T)"
    label_vol = f"3-D volume {'x'.join(map(str, volume.shape))} (V)"
    if gudhi is not None:
        cp_class = _gudhi_sklearn()  # imported before timing: scikit-learn's import is slow
        _gudhi_maps(gudhi, maps[:2], cp_class)
        g_maps, (ref_maps, how) = _best_of(lambda: _gudhi_maps(gudhi, maps, cp_class), 3)
        ours = [_counter(d.to_gudhi()) for d in dg_maps]
        n_agree = sum(a == b for a, b in zip(ours, ref_maps))
        agree_maps = n_agree == len(ref_maps)
        ok &= agree_maps
        t0 = time.perf_counter()
        ref_vol = _counter(
            gudhi.CubicalComplex(vertices=volume).persistence(homology_coeff_field=2)
        )
        g_vol = time.perf_counter() - t0
        agree_vol = _counter(dg_vol.to_gudhi()) == ref_vol
        ok &= agree_vol
        rows.append(
            (label_maps, t_maps, g_maps, f"{'agree' if agree_maps else 'DIFFER'} "
             f"({n_agree}/{len(ref_maps)} items)")
        )
        rows.append((label_vol, t_vol, g_vol, "agree" if agree_vol else "DIFFER"))
        print(f"gudhi references: {how} for the 2-D batch, gudhi.CubicalComplex for the "
              "3-D volume (homology_coeff_field=2)")
    else:
        rows.append((label_maps, t_maps, None, "not checked"))
        rows.append((label_vol, t_vol, None, "not checked"))

    w = max(len(r[0]) for r in rows)
    print(f"{'task':<{w}}  {'cuph [s]':>9}  {'gudhi [s]':>9}  {'speed-up':>8}  diagrams")
    for label, tc, tg, verdict in rows:
        tg_s = f"{tg:9.3f}" if tg is not None else f"{'-':>9}"
        sp = f"{tg / tc:7.1f}x" if tg is not None and tc > 0 else f"{'-':>8}"
        print(f"{label:<{w}}  {tc:9.3f}  {tg_s}  {sp}  {verdict}")
    if gudhi is not None:
        print(
            "persistence diagrams (multisets of (dim, birth, death)) "
            + ("agree with gudhi" if ok else "DIFFER from gudhi")
        )

    os.makedirs(args.out, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the diagram PNG (pip install matplotlib)")
    else:
        fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
        dg_maps[0].plot(ax=axes[0])
        axes[0].set_title("2-D map 0 (T)")
        dg_vol.plot(ax=axes[1])
        axes[1].set_title(f"3-D volume {'x'.join(map(str, volume.shape))} (V)")
        fig.tight_layout()
        png = os.path.join(args.out, "cuph_demo_diagrams.png")
        fig.savefig(png, dpi=100)
        plt.close(fig)
        print(f"wrote {png}")
    return 0 if ok else 1


# ----------------------------------------------------------------------------- parser
def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _nonneg_int(s: str) -> int:
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cuph`` command."""
    parser = argparse.ArgumentParser(
        prog="cuph",
        description="Exact persistent homology of cubical complexes (1-4-D, batched).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "persistence",
        help="persistence diagrams of an array or image file",
        description="Compute persistence diagrams of INPUT and write them to OUTPUT "
        "(.npz: cuph.Diagrams.load reads it back; .csv: item,dim,birth,death,"
        "birth_index,death_index).",
    )
    p.add_argument("input", help="input file: " + ", ".join(_INPUT_EXTS))
    p.add_argument("-o", "--output", required=True, help="output file: .npz or .csv")
    p.add_argument("--key", default=None, help="array name in an .npz input (default: the first)")
    p.add_argument("--construction", choices=("V", "T"), default="V",
                   help="V: values on vertices (default); T: values on top-dimensional cells")
    p.add_argument("--maxdim", type=_nonneg_int, default=None,
                   help="highest homology dimension (default: item dimension - 1)")
    p.add_argument("--batch-dims", type=_nonneg_int, default=0,
                   help="number of leading axes that index independent items (default 0)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="worker threads (default: the cores this process may use)")
    p.add_argument("--superlevel", action="store_true", help="superlevel-set filtration")
    p.add_argument("--keep-diagonal", action="store_true", help="keep zero-length pairs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="engine device (cuda: the GPU engine, 1-D and 2-D items; default: auto)")
    p.add_argument("--chunk-size", type=_positive_int, default=None,
                   help="batch items per engine call (progress granularity)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_persistence)

    d = sub.add_parser(
        "demo",
        help="timings and a check against gudhi on built-in data",
        description="Persistence of 256 smooth random 56x56 maps (T) and a 64^3 smoothed "
        "noise volume (V), timed against gudhi when it is installed, with a check that "
        "the diagrams agree, and a PNG of two diagrams.",
    )
    d.add_argument("--out", default="cuph-demo", help="folder for the PNG (default: cuph-demo)")
    d.add_argument("--no-gudhi", action="store_true", help="do not run gudhi")
    d.add_argument("--quick", action="store_true", help="smaller data (32 maps 32x32, 24^3)")
    d.add_argument("--threads", type=_positive_int, default=None,
                   help="worker threads (default: the cores this process may use)")
    d.set_defaults(func=_cmd_demo)

    # The study commands import torch & co. only when they run.
    from . import cli_compare, cli_nn
    from .landscape.command import add_parser as add_landscape_parser

    cli_nn.add_parsers(sub, _positive_int)
    add_landscape_parser(sub)
    cli_compare.add_parsers(sub, _positive_int)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``cuph`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        return int(args.func(args))
    except CLIError as e:
        print(f"cuph {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, MemoryError, OSError) as e:
        print(f"cuph {args.command}: error: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:  # e.g. --device cuda without a usable GPU
        print(f"cuph {args.command}: error: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"cuph {args.command}: error: {e} (pip install 'cuph[nn]' for the model commands)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
