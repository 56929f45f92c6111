"""``cuph landscape``: the loss surface of a torch model around its parameters, its barcode of
minima (CSV), the TO-score (JSON) and a picture of the surface with minima and saddles marked.

Examples
--------
The built-in demonstration: a small MLP trained for a moment on scikit-learn's bundled digits
(no download), a 101 x 101 filter-normalised slice::

    cuph landscape --model mlp --data digits --resolution 101 --out landscape-out

A saved model and data (``.npz`` with arrays ``x`` and ``y``)::

    cuph landscape --model net.pt --data batch.npz --resolution 61 --span 0.5 --out out
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Tuple

import numpy as np

__all__ = ["add_parser", "run"]


class _UsageError(Exception):
    """Raised for bad command-line input; cli.main prints it."""


def _cli_error() -> type:
    try:
        from ..cli import CLIError

        return CLIError
    except ImportError:  # pragma: no cover
        return _UsageError


def load_data(spec: str) -> Tuple[np.ndarray, np.ndarray]:
    """``digits`` (scikit-learn's bundled 8x8 digits, scaled to [0, 1]) or an ``.npz`` file
    with arrays ``x`` and ``y`` (else its first two arrays)."""
    if spec == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    if not spec.endswith(".npz"):
        raise _cli_error()(f"--data: expected 'digits' or a .npz file, got {spec!r}")
    if not os.path.exists(spec):
        raise _cli_error()(f"--data: file {spec!r} does not exist")
    with np.load(spec, allow_pickle=False) as z:
        names = list(z.files)
        if "x" in names and "y" in names:
            return z["x"], z["y"]
        if len(names) < 2:
            raise _cli_error()(f"--data: {spec!r} needs arrays 'x' and 'y' (inputs and targets)")
        return z[names[0]], z[names[1]]


def builtin_mlp(x: np.ndarray, y: np.ndarray, *, hidden: int = 32, steps: int = 300,
                seed: int = 0) -> Any:
    """A one-hidden-layer MLP trained briefly (full-batch Adam) on (x, y): a model whose loss
    surface has something to show, built without any download."""
    import torch

    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32).reshape(len(x), -1)
    yt = torch.as_tensor(y, dtype=torch.int64)
    n_classes = int(yt.max()) + 1
    model = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, n_classes))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss = torch.nn.CrossEntropyLoss()
    for _ in range(steps):
        opt.zero_grad()
        loss(model(xt), yt).backward()
        opt.step()
    return model


def load_model(spec: str, x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """``mlp`` (the built-in model) or a file: TorchScript (``torch.jit.load``) first, else a
    whole pickled module (``torch.load(..., weights_only=False)``: only for trusted files)."""
    import torch

    if spec == "mlp":
        return builtin_mlp(x, y, seed=seed)
    if not os.path.exists(spec):
        raise _cli_error()(f"--model: expected 'mlp' or a model file, {spec!r} does not exist")
    try:
        return torch.jit.load(spec, map_location="cpu")
    except Exception:  # noqa: BLE001 - not TorchScript: try a pickled module
        pass
    model = torch.load(spec, map_location="cpu", weights_only=False)
    if not isinstance(model, torch.nn.Module):
        raise _cli_error()(
            f"--model: {spec!r} holds a {type(model).__name__}, not a module; save the whole "
            "model (torch.save(model, path)) or a TorchScript file (torch.jit.save)"
        )
    return model


def plot_surface(path: str, surf: Any, bc: Any) -> bool:
    """PNG of a 1-D or 2-D surface with minima (dots) and their saddles (crosses)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 5))
    if surf.losses.ndim == 2:
        a, b = surf.axes
        cs = ax.contourf(a, b, surf.losses.T, levels=40, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="loss")
        ax.plot(bc.min_location[:, 0], bc.min_location[:, 1], "o", color="white", mec="black",
                ms=6, label="minima")
        fin = ~bc.essential
        for m, sd in zip(bc.min_location[fin], bc.saddle_location[fin]):  # who dies where
            ax.plot([m[0], sd[0]], [m[1], sd[1]], color="red", lw=0.8, alpha=0.6)
        ax.plot(bc.saddle_location[fin, 0], bc.saddle_location[fin, 1], "x", color="red", ms=7,
                label="saddles")
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
    elif surf.losses.ndim == 1:
        ax.plot(surf.axes[0], surf.losses, color="black")
        ax.plot(bc.min_location[:, 0], bc.minimum, "o", label="minima")
        fin = ~bc.essential
        ax.plot(bc.saddle_location[fin, 0], bc.saddle[fin], "x", color="red", label="saddles")
        ax.set_xlabel("direction 1")
        ax.set_ylabel("loss")
    else:
        plt.close(fig)
        return False
    ax.legend(loc="upper right")
    ax.set_title("loss surface, minima and saddles")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True


def run(args: argparse.Namespace) -> int:
    """Run ``cuph landscape``; returns the exit status."""
    from . import loss_surface, to_score

    try:
        import torch
    except ImportError:
        raise _cli_error()("cuph landscape needs PyTorch: pip install torch") from None
    x, y = load_data(args.data)
    model = load_model(args.model, x, y, args.seed)
    losses = {"cross_entropy": torch.nn.CrossEntropyLoss(), "mse": torch.nn.MSELoss()}
    device = None if args.device == "auto" else args.device
    t0 = time.perf_counter()
    surf = loss_surface(
        model, losses[args.loss], (np.asarray(x, dtype=np.float32), y), directions=args.directions,
        resolution=args.resolution, span=args.span, normalization=args.normalization,
        seed=args.seed, device=device, batch_size=args.batch_size, progress=not args.no_progress,
    )
    t_sample = time.perf_counter() - t0
    bc = surf.minima_barcode()
    score = to_score(bc)
    os.makedirs(args.out, exist_ok=True)
    np.savez(os.path.join(args.out, "surface.npz"), losses=surf.losses,
             **{f"axis{i}": a for i, a in enumerate(surf.axes)})
    bc.to_csv(os.path.join(args.out, "barcode.csv"))
    with open(os.path.join(args.out, "to_score.json"), "w") as f:
        json.dump({
            "to_score": score,
            "formula": "sum of finite minima-segment lengths / (max loss - min loss) on the grid",
            "n_minima": len(bc),
            "value_range": list(bc.value_range),
            "center_loss": surf.center_loss,
            "resolution": list(surf.losses.shape),
            "span": args.span,
            "normalization": args.normalization,
            "seed": args.seed,
        }, f, indent=2)
    png = os.path.join(args.out, "surface.png")
    wrote_png = plot_surface(png, surf, bc)
    print(f"{surf.losses.size} loss values in {t_sample:.2f} s; {len(bc)} minima, "
          f"TO-score {score:.6g} -> {args.out}/barcode.csv, to_score.json, surface.npz"
          + (", surface.png" if wrote_png else " (no PNG: needs matplotlib and 1 or 2 directions)"))
    return 0


def add_parser(sub: Any) -> None:
    """Registers the ``landscape`` subcommand on the ``cuph`` subparsers."""
    p = sub.add_parser(
        "landscape",
        help="loss-surface barcode of minima and TO-score of a torch model",
        description="Sample the loss of a model on a grid of filter-normalised random "
        "directions around its parameters (Li et al. 2018), compute the barcode of minima "
        "(cubical persistence, dimension 0) and the TO-score (Barannikov et al.), and write "
        "barcode.csv, to_score.json, surface.npz and surface.png to --out.",
    )
    p.add_argument("--model", default="mlp",
                   help="'mlp' (built in: trained briefly on the data) or a TorchScript / "
                   "torch.save'd module file (unpickled: trusted files only)")
    p.add_argument("--data", default="digits",
                   help="'digits' (scikit-learn's bundled digits) or a .npz with arrays x and y")
    p.add_argument("--loss", choices=("cross_entropy", "mse"), default="cross_entropy")
    p.add_argument("--resolution", type=int, default=101, help="grid points per direction (default 101)")
    p.add_argument("--directions", type=int, default=2, choices=(1, 2, 3),
                   help="number of random directions (default 2)")
    p.add_argument("--span", type=float, default=1.0, help="coefficients in [-span, span] (default 1)")
    p.add_argument("--normalization", choices=("filter", "layer", "none"), default="filter")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--batch-size", type=int, default=4096, help="samples per forward pass")
    p.add_argument("--out", default="cuph-landscape", help="output folder (default cuph-landscape)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
