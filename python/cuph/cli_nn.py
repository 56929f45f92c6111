"""``cuph profile`` and ``cuph rank``: Betti profiles of torch models from the command line.

Examples
--------
The embedded default (a randomly initialised ResNet-18 on scikit-learn's digits, 200
images, the 11 "blocks" layers)::

    cuph profile

On a Dask cluster (``--workers N`` starts a local one; each worker builds the model once)::

    cuph profile --images 2000 --scheduler tcp://scheduler-host:8786

A pretrained model from a local weights file, on a folder of images::

    cuph profile --model resnet50 --weights resnet50.pth --data ./images --images 500 --out r50

theta of several models on the same images, correlated with their fine-tuned accuracies::

    cuph rank resnet18=r18.pth mobilenet_v2=mnv2.pth densenet121=d121.pth --accuracies acc.csv

Ranking from published theta values (a CSV with model, theta and accuracy columns)::

    cuph rank --accuracies transferability_table.csv
"""

from __future__ import annotations

import argparse
import csv
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

__all__ = ["add_parsers", "load_model", "load_images"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _error(msg: str) -> Exception:
    from .cli import CLIError

    return CLIError(msg)


def load_model(name: str, weights: Optional[str] = None, seed: int = 0) -> Any:
    """A torchvision model by name, randomly initialised or with weights from a local file.

    A random initialisation is seeded (``seed``), so the same command gives the same model.

    ``weights`` is a path to a ``state_dict`` saved with ``torch.save`` (a dict holding it
    under "state_dict" or "model" is fine too), or the name of a torchvision weights enum
    member (e.g. ``IMAGENET1K_V1``), which torchvision loads from its cache or downloads.
    """
    import torch
    import torchvision

    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError:
        known = ", ".join(sorted(torchvision.models.list_models(torchvision.models))[:60])
        raise _error(f"--model: unknown torchvision model {name!r}; known: {known}, ...") from None
    if weights is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return builder(weights=None).eval()
    if os.path.isfile(weights):
        model = builder(weights=None)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as e:  # a corrupt or foreign file: say which
            raise _error(f"--weights: cannot read {weights!r} as a torch state_dict: {e}") from e
        if isinstance(state, dict) and not any(isinstance(v, torch.Tensor) for v in state.values()):
            state = state.get("state_dict", state.get("model", state))
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise _error(f"--weights: {weights!r} does not fit {name}: {str(e)[:400]}") from e
        return model.eval()
    try:
        return builder(weights=weights).eval()
    except Exception as e:
        raise _error(
            f"--weights: {weights!r} is not a file, and torchvision could not load it as a weights "
            f"name for {name} ({type(e).__name__}: {str(e)[:200]}); without network access, "
            "download the .pth elsewhere and pass its path"
        ) from e


def _normalise(img: Any) -> Any:
    import torch

    mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    return (img - mean) / std


def load_images(source: str, n: int, size: int = 32, seed: int = 0) -> Any:
    """``n`` RGB images of ``size`` x ``size`` as a normalised float tensor (N, 3, size, size).

    ``source``: "digits" (scikit-learn's 8x8 digits, shipped with it, upsampled; at most
    1797), "random" (smooth random images made from a seed), or a folder of image files
    (read with Pillow, sorted by path, resized).
    """
    import torch
    import torch.nn.functional as F

    if n < 1:
        raise _error(f"--images: must be >= 1, got {n}")
    if source == "digits":
        from sklearn.datasets import load_digits

        d = load_digits().images
        if n > len(d):
            raise _error(f"--images: the digits data set has {len(d)} images, asked for {n}")
        x = torch.from_numpy(d[:n].astype(np.float32) / 16.0)[:, None].repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    elif source == "random":
        g = torch.Generator().manual_seed(seed)
        coarse = torch.rand(n, 3, max(2, size // 4), max(2, size // 4), generator=g)
        x = F.interpolate(coarse, size=size, mode="bicubic", align_corners=False).clamp(0, 1)
    elif os.path.isdir(source):
        try:
            from PIL import Image
        except ImportError:
            raise _error("reading an image folder needs Pillow: pip install pillow") from None
        files = sorted(
            os.path.join(r, f) for r, _, fs in os.walk(source) for f in fs
            if f.lower().endswith(_IMAGE_EXTS)
        )[:n]
        if not files:
            raise _error(f"--data: no image files ({', '.join(_IMAGE_EXTS)}) under {source!r}")
        arrs = []
        for p in files:
            with Image.open(p) as im:
                arrs.append(np.asarray(im.convert("RGB").resize((size, size)), dtype=np.float32) / 255)
        x = torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).contiguous()
    else:
        raise _error(f"--data: expected 'digits', 'random' or an existing folder, got {source!r}")
    return _normalise(x)


def _parse_threshold(s: str) -> Any:
    if s in ("mean", "median"):
        return s
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'mean', 'median' or a number, got {s!r}") from None


def _layers_arg(s: str) -> Any:
    return "blocks" if s == "blocks" else [p for p in s.split(",") if p]


def _client(args: argparse.Namespace) -> Any:
    """A Dask client when --scheduler or --workers asks for one (created once per command)."""
    if args.scheduler is None and args.workers is None:
        return None
    if getattr(args, "_client", None) is None:
        from .dask import connect

        try:
            args._client = connect(args.scheduler, args.workers)
        except ConnectionError as e:
            raise _error(str(e)) from None
    return args._client


def _close_client(args: argparse.Namespace) -> None:
    client = getattr(args, "_client", None)
    if client is not None:
        cluster = client.cluster if args.scheduler is None else None
        client.close()
        if cluster is not None:
            cluster.close()
        args._client = None


def _profile(args: argparse.Namespace, name: str, model: Any, images: Any,
             spec: Any = None) -> Any:
    from .metrics import betti_profile

    client = _client(args)
    return betti_profile(
        spec if client is not None and spec is not None else model, images, layers=args.layers,
        threshold=args.threshold, maxdim=args.maxdim, construction=args.construction,
        batch_size=args.batch_size, per_channel=args.per_channel, n_threads=args.threads,
        eval_mode=True, progress=not args.no_progress, name=name, client=client,
    )


def _cmd_profile(args: argparse.Namespace) -> int:
    try:
        return _run_profile(args)
    finally:
        _close_client(args)


def _run_profile(args: argparse.Namespace) -> int:
    from .dask import ModelSpec

    model = load_model(args.model, args.weights, args.seed)
    images = load_images(args.data, args.images, args.size, args.seed)
    if _client(args) is not None and args.weights is None:
        # Workers build the model themselves; a random init must be the same everywhere.
        import tempfile

        import torch

        args._tmp = tempfile.TemporaryDirectory()
        args.weights = os.path.join(args._tmp.name, f"{args.model}.pth")
        torch.save(model.state_dict(), args.weights)
    prof = _profile(args, args.model, model, images, ModelSpec(args.model, args.weights))
    paths = prof.save(args.out)
    s = prof.summary()
    w = max(len(n) for n in prof.layers)
    m1 = prof.betti.shape[2]
    print(f"{'layer':<{w}}  {'shape':>14}  " + "  ".join(f"{'mean b' + str(k):>8}" for k in range(m1))
          + f"  {'Omega':>8}")
    for i, layer in enumerate(prof.layers):
        shape = "x".join(map(str, prof.layer_shapes[i]))
        print(f"{layer:<{w}}  {shape:>14}  "
              + "  ".join(f"{s[f'mean_b{k}'][i]:8.2f}" for k in range(m1)) + f"  {s['omega'][i]:8.2f}")
    if len(prof.layers) >= 4:
        print(f"theta (topological transferability) = {prof.theta():.4f}")
    t = prof.timings
    print(f"{prof.betti.shape[1]} images x {len(prof.layers)} layers in {t['total']:.2f} s "
          f"(persistence {t['persistence']:.2f} s)")
    for p in paths.values():
        print(f"wrote {p}")
    return 0


def _read_table(path: str) -> Tuple[Dict[str, float], Dict[str, float]]:
    """(theta by model, accuracy by model) from a CSV with a model column."""
    if not os.path.isfile(path):
        raise _error(f"--accuracies: file {path!r} does not exist")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "model" not in rows[0]:
        raise _error(f"--accuracies: {path!r} needs a header with a 'model' column")
    acc_cols = [c for c in rows[0] if c != "model" and "acc" in c.lower()]
    if not acc_cols:
        raise _error(f"--accuracies: {path!r} has no accuracy column (a name containing 'acc')")
    try:
        acc = {r["model"]: float(r[acc_cols[0]]) for r in rows}
        theta = {r["model"]: float(r["theta"]) for r in rows} if "theta" in rows[0] else {}
    except ValueError as e:
        raise _error(f"--accuracies: a value in {path!r} is not a number: {e}") from None
    return theta, acc


def _cmd_rank(args: argparse.Namespace) -> int:
    try:
        return _run_rank(args)
    finally:
        _close_client(args)


def _run_rank(args: argparse.Namespace) -> int:
    from .metrics import rank_models

    theta, acc = _read_table(args.accuracies) if args.accuracies else ({}, None)
    models: Dict[str, Any] = {}
    if args.models:
        for spec in args.models:
            name, _, weights = spec.partition("=")
            models[name] = load_model(name, weights or None, args.seed)
        images = load_images(args.data, args.images, args.size, args.seed)
        if acc is not None:
            acc = {k: v for k, v in acc.items() if k in models}
        profiles = {n: _profile(args, n, m, images) for n, m in models.items()}  # scattered once
        ranking = rank_models(profiles, accuracies=acc)
        os.makedirs(args.out, exist_ok=True)
        for n, p in profiles.items():
            p.save(args.out, prefix=f"betti_profile_{n}")
    elif theta:
        ranking = rank_models(theta, accuracies=acc)
    else:
        raise _error("give MODEL names to profile, or --accuracies CSV with a 'theta' column")
    print(ranking.report())
    if args.models:
        os.makedirs(args.out, exist_ok=True)
        p = os.path.join(args.out, "ranking.csv")
        t = ranking.table()
        with open(p, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(list(t))
            wr.writerows(zip(*t.values()))
        print(f"wrote {p}")
    return 0


def _common(p: argparse.ArgumentParser, positive_int: Any) -> None:
    p.add_argument("--data", default="digits",
                   help="'digits' (scikit-learn, default), 'random' or a folder of images")
    p.add_argument("--images", type=positive_int, default=200, help="number of images (default 200)")
    p.add_argument("--size", type=positive_int, default=32, help="image side in pixels (default 32)")
    p.add_argument("--layers", type=_layers_arg, default="blocks",
                   help="'blocks' (default) or comma-separated module names")
    p.add_argument("--threshold", type=_parse_threshold, default="mean",
                   help="eta for the Betti numbers: 'mean' (per activation, default), 'median' or a number")
    p.add_argument("--maxdim", type=int, choices=(0, 1, 2), default=2, help="highest Betti number (default 2)")
    p.add_argument("--construction", choices=("V", "T"), default="V", help="cubical construction (default V)")
    p.add_argument("--per-channel", action="store_true", help="each channel as its own 2-D map")
    p.add_argument("--batch-size", type=positive_int, default=100, help="images per forward pass")
    p.add_argument("--threads", type=positive_int, default=None, help="engine threads (default: the cores this process may use)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of --data random and of random model initialisation (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="run on a Dask LocalCluster of N worker processes")
    p.add_argument("--scheduler", default=None,
                   help="run on the Dask scheduler at ADDRESS (e.g. tcp://host:8786)")


def add_parsers(sub: Any, positive_int: Any) -> None:
    """Register ``profile`` and ``rank`` on the ``cuph`` argument parser."""
    p = sub.add_parser(
        "profile", help="Betti profile of a torch model's layers (and theta)",
        description="Feed images through a torchvision model, compute the Betti numbers of "
        "each chosen layer's activation per image (cubical persistence), and write CSV, NPZ "
        "and a PNG of the profile with its fitted decay curve. Default: a randomly "
        "initialised ResNet-18 on 200 digits from scikit-learn (no download).",
    )
    p.add_argument("--model", default="resnet18", help="torchvision model name (default resnet18)")
    p.add_argument("--weights", default=None,
                   help="local state_dict file (.pth), or a torchvision weights name (needs its cache)")
    p.add_argument("--out", default="cuph-profile", help="output folder (default cuph-profile)")
    _common(p, positive_int)
    p.set_defaults(func=_cmd_profile)

    r = sub.add_parser(
        "rank", help="rank models by theta and correlate with accuracies",
        description="Profile each MODEL (name or name=weights.pth) on the same images, compute "
        "theta, and with --accuracies (CSV: model + a column whose name contains 'acc') report "
        "Kendall tau, Pearson r and Spearman rho. With no MODEL, rank the 'theta' column of "
        "the CSV (e.g. published values).",
    )
    r.add_argument("models", nargs="*", metavar="MODEL", help="torchvision name, or name=weights.pth")
    r.add_argument("--accuracies", default=None, help="CSV with model and accuracy (and theta) columns")
    r.add_argument("--out", default="cuph-rank", help="output folder (default cuph-rank)")
    _common(r, positive_int)
    r.set_defaults(func=_cmd_rank)
