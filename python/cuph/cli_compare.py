"""``cuph compare``: Vietoris-Rips topology of layer representations, across layers and models.

Examples
--------
Three randomly initialised architectures on 1000 digits (no download)::

    cuph compare --models resnet18 vgg19 vit_b_16 --data digits --points 1000 --maxdim 1 --out cmp

Pretrained vs fine-tuned weights from local files, a folder of images, LOF outlier removal::

    cuph compare --models base=resnet50:r50.pth tuned=resnet50:r50_ft.pth --data ./images \\
        --points 500 --outliers lof --contamination 0.05 --out r50

Writes, per model, ``<name>_distances.csv`` (tidy L×L table), ``<name>_summary.csv``,
``<name>_layers.npz`` (matrices and all diagrams) and heatmaps; for several models
``models_distances.csv`` (every pair of layers of every pair of models),
``models_alignment.csv`` (layers aligned by relative depth), ``models_cross.npz`` and PNGs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["add_parsers", "parse_model_spec"]


def _error(msg: str) -> Exception:
    from .cli import CLIError

    return CLIError(msg)


def parse_model_spec(spec: str) -> Tuple[str, str, Optional[str]]:
    """``"arch"``, ``"arch:weights.pth"``, ``"label=arch"`` or ``"label=arch:weights"`` ->
    (label, arch, weights).

    >>> parse_model_spec("tuned=resnet50:r50.pth")
    ('tuned', 'resnet50', 'r50.pth')
    >>> parse_model_spec("vgg19")
    ('vgg19', 'vgg19', None)
    """
    label, _, rest = spec.partition("=") if "=" in spec else (spec.split(":")[0], "", spec)
    arch, _, weights = rest.partition(":")
    if not arch or not label:
        raise _error(f"--models: cannot read {spec!r}; use ARCH, ARCH:WEIGHTS or LABEL=ARCH[:WEIGHTS]")
    return label, arch, (weights or None)


def _fit_images(model: Any, images: Any) -> Any:
    """Resize images to the input size a VisionTransformer was built for."""
    size = getattr(model, "image_size", None)
    if isinstance(size, int) and images.shape[-1] != size:
        import torch.nn.functional as F

        return F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    return images


def _cmd_compare(args: argparse.Namespace) -> int:
    from . import compare
    from .cli_nn import load_images, load_model

    specs = [parse_model_spec(s) for s in args.models]
    labels = [s[0] for s in specs]
    if len(set(labels)) != len(labels):
        raise _error(f"--models: labels must be distinct, got {labels}; use LABEL=ARCH[:WEIGHTS]")
    n_images = args.images or args.points
    if n_images < args.points:
        raise _error(f"--images ({n_images}) must be >= --points ({args.points}): every layer "
                     "cloud has --points points")
    images = load_images(args.data, n_images, size=args.size, seed=args.seed)
    layers: Any = args.layers
    bar = None
    if not args.no_progress:
        try:
            from tqdm import tqdm

            bar = tqdm(desc="compare", unit="step", file=sys.stderr)
        except ImportError:  # pragma: no cover
            bar = None

    def progress(msg: str) -> None:
        if bar is not None:
            bar.set_postfix_str(msg[-60:])
            bar.update(1)

    t0 = time.perf_counter()
    models: Dict[str, Any] = {}
    for label, arch, weights in specs:
        models[label] = load_model(arch, weights)
        progress(f"loaded {label}")
    common = dict(layers=layers, n_points=args.points, maxdim=args.maxdim, distance=args.distance,
                  seed=args.seed, project_to=args.project, projection=args.projection,
                  outliers=args.outliers, contamination=args.contamination, metric=args.metric,
                  n_threads=args.threads, batch_size=args.batch_size, progress=progress)
    try:
        per: Dict[str, Any] = {}
        for label, model in models.items():
            per[label] = compare.layers(model, _fit_images(model, images), name=label, **common)
        res: Any
        if len(per) == 1:
            res = next(iter(per.values()))
        else:
            names = list(per)
            sizes = {n: lc.n_points for n, lc in per.items()}
            if len(set(sizes.values())) != 1:
                raise _error(f"clouds of different sizes per model {sizes} (outlier removal); "
                             "use --outliers none or another --contamination")
            cross = {}
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    la, lb = per[a], per[b]
                    cross[(a, b)] = compare.diagram_distances(
                        [la.diagrams[n] for n in la.layers], [lb.diagrams[n] for n in lb.layers],
                        args.maxdim, args.distance)
                    progress(f"distances {a} vs {b}")
            res = compare.ModelComparison(per_model=per, cross=cross, distance=args.distance,
                                          n_points=int(next(iter(sizes.values()))), names=names)
        paths = res.save(args.out)
        if args.outlier_effect:
            from .represent import layer_clouds

            rows: Dict[str, List[Any]] = {}
            for label, model in models.items():
                clouds = layer_clouds(model, _fit_images(model, images), layers=layers,
                                      n_points=args.points, seed=args.seed,
                                      project_to=args.project, projection=args.projection,
                                      batch_size=args.batch_size)
                t = compare.outlier_effect(clouds, contamination=args.contamination,
                                           maxdim=args.maxdim, distance=args.distance,
                                           seed=args.seed, n_threads=args.threads)
                rows.setdefault("model", []).extend([label] * len(t["layer"]))
                for c, v in t.items():
                    rows.setdefault(c, []).extend(v)
                progress(f"outlier effect {label}")
            paths["outlier_effect"] = os.path.join(args.out, "outlier_effect.csv")
            compare._write_csv(paths["outlier_effect"], rows)
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    for label, lc in (res.per_model.items() if hasattr(res, "per_model") else [(labels[0], res)]):
        print(f"{label}: {len(lc.layers)} layers, {lc.n_points} points per cloud")
    print(f"{len(paths)} files in {args.out} ({elapsed:.1f} s)")
    return 0


def _layers_arg(s: str) -> Any:
    if s in ("default", "blocks"):
        return s
    return [x for x in s.split(",") if x]


def _outliers_arg(s: str) -> Optional[str]:
    if s in ("none", ""):
        return None
    if s != "lof":
        raise argparse.ArgumentTypeError(f"must be 'none' or 'lof', got {s!r}")
    return s


def add_parsers(sub: Any, positive_int: Any) -> None:
    """Register ``compare`` on the ``cuph`` argument parser."""
    p = sub.add_parser(
        "compare", help="VR topology of layer representations across layers and models",
        description="Feed the same N inputs through each model, turn each layer's outputs into "
        "a point cloud (one point per input), compute its Vietoris-Rips diagrams (H0 by cuph, "
        "H>=1 by giotto-ph) and compare them across layers and models with a diagram distance. "
        "Writes CSV (tidy tables), NPZ (matrices, diagrams) and PNG (heatmaps, alignment by "
        "relative depth).",
    )
    p.add_argument("--models", nargs="+", default=["resnet18"], metavar="MODEL",
                   help="torchvision ARCH, ARCH:WEIGHTS(.pth or torchvision weights name) or "
                   "LABEL=ARCH[:WEIGHTS] (default: resnet18, randomly initialised)")
    p.add_argument("--data", default="digits",
                   help="'digits' (scikit-learn, default), 'random' or a folder of images")
    p.add_argument("--points", type=positive_int, default=500,
                   help="points per cloud = inputs drawn from the data (default 500)")
    p.add_argument("--images", type=positive_int, default=None,
                   help="images to load before drawing --points of them (default: --points)")
    p.add_argument("--size", type=positive_int, default=32,
                   help="image side (default 32; ViTs get their own input size)")
    p.add_argument("--layers", type=_layers_arg, default="default",
                   help="'default' (ResNet blocks, VGG stages, ViT encoder blocks...), 'blocks' "
                   "or comma-separated module names")
    p.add_argument("--maxdim", type=int, choices=(0, 1, 2), default=1, help="highest dimension (default 1)")
    p.add_argument("--distance", choices=("wasserstein", "bottleneck"), default="wasserstein",
                   help="diagram distance (default wasserstein, Hera, relative error 0.01)")
    p.add_argument("--metric", default="euclidean", help="metric between points (default euclidean)")
    p.add_argument("--project", type=positive_int, default=None,
                   help="project clouds to this many dimensions (approximation; default: none)")
    p.add_argument("--projection", choices=("pca", "random"), default="pca", help="projection kind")
    p.add_argument("--outliers", type=_outliers_arg, default=None,
                   help="'lof' to remove outliers with LocalOutlierFactor (default none)")
    p.add_argument("--contamination", type=float, default=0.05, help="LOF contamination (default 0.05)")
    p.add_argument("--outlier-effect", action="store_true",
                   help="also write outlier_effect.csv: per layer, the distance between diagrams "
                   "with and without LOF outliers next to the distance between two random "
                   "subsamples of the same size (sampling noise)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="images per forward pass")
    p.add_argument("--threads", type=positive_int, default=None, help="threads (default: the cores this process may use)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draw of inputs")
    p.add_argument("--out", default="cuph-compare", help="output folder (default cuph-compare)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_compare)
