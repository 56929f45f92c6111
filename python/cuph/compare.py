"""``cuph.compare``: compare the topology of layer representations across layers and models.

For every chosen layer, the outputs of the same N inputs form a point cloud
(:func:`cuph.represent.layer_clouds`); its Vietoris–Rips diagrams (:func:`cuph.vr.persistence`)
are compared with a diagram distance (:mod:`cuph.distances`, Wasserstein or bottleneck):

* :func:`layers` — one model: an L×L matrix of distances between its layers, per dimension.
* :func:`models` — several models on the same inputs: an L_a×L_b matrix for every pair of
  models, and an alignment of layers by *relative depth* (layer i of L sits at depth
  i / (L - 1)): each layer of model a is paired with the layer of model b nearest in depth,
  so architectures of different depths can be compared along one axis.

Results are tidy tables (one row per pair of layers and dimension: a dict of equal-length
column lists, ``pandas.DataFrame(result.table())`` if you like), heatmaps and line plots
(matplotlib), and ``.save(out_dir)`` writes CSV, NPZ and PNG files.

Examples
--------
>>> import torch, torchvision, cuph.compare
>>> torch.manual_seed(0) and None
>>> model = torchvision.models.resnet18(weights=None).eval()
>>> res = cuph.compare.layers(model, torch.rand(24, 3, 32, 32), n_points=20,
...                           layers=["layer1.0", "layer2.0", "layer3.0"], maxdim=1)
>>> res.matrix.shape          # (dims, L, L)
(2, 3, 3)
>>> list(res.table())
['model', 'layer_a', 'layer_b', 'depth_a', 'depth_b', 'dim', 'distance']
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import distances as _dist
from .diagrams import Diagrams

__all__ = ["LayerComparison", "ModelComparison", "layers", "models", "diagram_distances",
           "layer_diagrams", "relative_depth", "outlier_effect"]


def relative_depth(n_layers: int) -> np.ndarray:
    """Depth of each of ``n_layers`` layers in [0, 1] (0 for a single layer)."""
    if n_layers <= 1:
        return np.zeros(max(n_layers, 0))
    return np.arange(n_layers) / (n_layers - 1)


def layer_diagrams(clouds: Mapping[str, np.ndarray], maxdim: int = 1, metric: str = "euclidean",
                   threshold: float = np.inf, n_threads: Optional[int] = None,
                   progress: Optional[Callable[[str], None]] = None) -> Dict[str, Diagrams]:
    """VR diagrams of every cloud (one :func:`cuph.vr.persistence` call per layer, since
    layers differ in width)."""
    from .vr import persistence

    out = {}
    for name, cloud in clouds.items():
        out[name] = persistence(cloud, maxdim=maxdim, metric=metric, threshold=threshold,
                                n_threads=n_threads)
        if progress is not None:
            progress(name)
    return out


def diagram_distances(dgs_a: Sequence[Diagrams], dgs_b: Sequence[Diagrams], maxdim: int,
                      distance: str = "wasserstein", symmetric: bool = False,
                      **kwargs: Any) -> np.ndarray:
    """Distances ``(maxdim + 1, len(a), len(b))`` between single-item diagrams, per dimension."""
    fn = _dist._metric_fn(distance)
    out = np.zeros((maxdim + 1, len(dgs_a), len(dgs_b)))
    pairs_a = [[_dist.as_pairs(d, k, essential=False) for k in range(maxdim + 1)] for d in dgs_a]
    pairs_b = [[_dist.as_pairs(d, k, essential=False) for k in range(maxdim + 1)] for d in dgs_b]
    for i in range(len(dgs_a)):
        for j in range(len(dgs_b)):
            if symmetric and j <= i:
                continue
            for k in range(maxdim + 1):
                out[k, i, j] = fn(pairs_a[i][k], pairs_b[j][k], **kwargs)
    if symmetric:
        out = out + np.swapaxes(out, 1, 2)
    return out


def _write_csv(path: str, table: Dict[str, List[Any]]) -> None:
    cols = list(table)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for row in zip(*(table[c] for c in cols)):
            w.writerow(row)


def _plt() -> Any:
    try:
        import matplotlib

        if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg",):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install matplotlib") from None
    return plt


def _heatmap(ax: Any, m: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str) -> Any:
    im = ax.imshow(m, cmap="viridis")
    step_r = max(1, len(rows) // 20)
    step_c = max(1, len(cols) // 20)
    ax.set_yticks(range(0, len(rows), step_r))
    ax.set_yticklabels(list(rows)[::step_r], fontsize=7)
    ax.set_xticks(range(0, len(cols), step_c))
    ax.set_xticklabels(list(cols)[::step_c], rotation=90, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return im


@dataclass
class LayerComparison:
    """Distances between the layers of one model.

    Attributes
    ----------
    layers : list of str
    diagrams : dict layer -> Diagrams (one cloud)
    matrix : array (maxdim + 1, L, L)
        ``matrix[k, i, j]`` = distance between the H_k diagrams of layers i and j.
    distance : str
    n_points : int
        Points per cloud (equal for all layers).
    """

    layers: List[str]
    diagrams: Dict[str, Diagrams]
    matrix: np.ndarray
    distance: str
    n_points: int
    model: str = "model"

    @property
    def maxdim(self) -> int:
        return self.matrix.shape[0] - 1

    def table(self) -> Dict[str, List[Any]]:
        """Tidy rows: model, layer_a, layer_b, depth_a, depth_b, dim, distance."""
        depth = relative_depth(len(self.layers))
        t: Dict[str, List[Any]] = {c: [] for c in ("model", "layer_a", "layer_b", "depth_a",
                                                   "depth_b", "dim", "distance")}
        for k in range(self.maxdim + 1):
            for i, a in enumerate(self.layers):
                for j, b in enumerate(self.layers):
                    for c, v in zip(t, (self.model, a, b, float(depth[i]), float(depth[j]), k,
                                        float(self.matrix[k, i, j]))):
                        t[c].append(v)
        return t

    def summary(self) -> Dict[str, List[Any]]:
        """Per layer and dimension: number of pairs, total persistence, persistent entropy."""
        t: Dict[str, List[Any]] = {c: [] for c in ("model", "layer", "depth", "dim", "n_pairs",
                                                   "total_persistence", "entropy")}
        depth = relative_depth(len(self.layers))
        for i, name in enumerate(self.layers):
            dg = self.diagrams[name]
            for k in range(self.maxdim + 1):
                p = _dist.as_pairs(dg, k, essential=False)
                for c, v in zip(t, (self.model, name, float(depth[i]), k, len(p),
                                    _dist.total_persistence(p), _dist.persistent_entropy(p))):
                    t[c].append(v)
        return t

    def plot(self, dim: int = 1, ax: Any = None) -> Any:
        """Heatmap of the L×L distances in dimension ``dim``."""
        plt = _plt()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 5))
        _heatmap(ax, self.matrix[dim], self.layers, self.layers,
                 f"{self.model}: {self.distance} distance, H{dim} (N={self.n_points})")
        return ax

    def save(self, out_dir: str, prefix: Optional[str] = None) -> Dict[str, str]:
        """Write ``<prefix>_distances.csv`` (tidy), ``_summary.csv``, ``.npz`` (matrix and all
        diagrams) and one heatmap PNG per dimension; returns the paths."""
        os.makedirs(out_dir, exist_ok=True)
        prefix = prefix or self.model
        paths = {"csv": os.path.join(out_dir, f"{prefix}_distances.csv"),
                 "summary": os.path.join(out_dir, f"{prefix}_summary.csv"),
                 "npz": os.path.join(out_dir, f"{prefix}_layers.npz")}
        _write_csv(paths["csv"], self.table())
        _write_csv(paths["summary"], self.summary())
        arrays: Dict[str, Any] = {"matrix": self.matrix, "layers": np.asarray(self.layers)}
        for i, name in enumerate(self.layers):
            for f, v in self.diagrams[name].to_numpy().items():
                arrays[f"dgm{i}_{f}"] = v
        np.savez_compressed(paths["npz"], **arrays)
        plt = _plt()
        for k in range(self.maxdim + 1):
            fig, ax = plt.subplots(figsize=(6, 5))
            self.plot(k, ax)
            fig.tight_layout()
            paths[f"png_h{k}"] = os.path.join(out_dir, f"{prefix}_heatmap_H{k}.png")
            fig.savefig(paths[f"png_h{k}"], dpi=110)
            plt.close(fig)
        return paths


@dataclass
class ModelComparison:
    """Distances between the layers of several models on the same inputs.

    Attributes
    ----------
    per_model : dict name -> LayerComparison (within-model L×L matrices)
    cross : dict (a, b) -> array (maxdim + 1, L_a, L_b) for every pair of models a < b
    """

    per_model: Dict[str, LayerComparison]
    cross: Dict[Tuple[str, str], np.ndarray]
    distance: str
    n_points: int
    names: List[str] = field(default_factory=list)

    @property
    def maxdim(self) -> int:
        return next(iter(self.per_model.values())).maxdim

    def alignment(self, a: str, b: str, dim: int = 1) -> Dict[str, List[Any]]:
        """Layers of ``a`` paired with the layer of ``b`` nearest in relative depth."""
        m = self.cross[(a, b)] if (a, b) in self.cross else np.swapaxes(self.cross[(b, a)], 1, 2)
        la, lb = self.per_model[a].layers, self.per_model[b].layers
        da, db = relative_depth(len(la)), relative_depth(len(lb))
        t: Dict[str, List[Any]] = {c: [] for c in ("model_a", "model_b", "layer_a", "layer_b",
                                                   "depth", "dim", "distance")}
        for i in range(len(la)):
            j = int(np.argmin(np.abs(db - da[i])))
            for c, v in zip(t, (a, b, la[i], lb[j], float(da[i]), dim, float(m[dim, i, j]))):
                t[c].append(v)
        return t

    def table(self) -> Dict[str, List[Any]]:
        """Tidy rows for every pair of models (and each model with itself):
        model_a, model_b, layer_a, layer_b, depth_a, depth_b, dim, distance."""
        cols = ("model_a", "model_b", "layer_a", "layer_b", "depth_a", "depth_b", "dim", "distance")
        t: Dict[str, List[Any]] = {c: [] for c in cols}
        pairs = [((n, n), self.per_model[n].matrix) for n in self.names]
        pairs += list(self.cross.items())
        for (a, b), m in pairs:
            la, lb = self.per_model[a].layers, self.per_model[b].layers
            da, db = relative_depth(len(la)), relative_depth(len(lb))
            for k in range(m.shape[0]):
                for i in range(len(la)):
                    for j in range(len(lb)):
                        for c, v in zip(cols, (a, b, la[i], lb[j], float(da[i]), float(db[j]), k,
                                               float(m[k, i, j]))):
                            t[c].append(v)
        return t

    def plot_alignment(self, dim: int = 1, ax: Any = None) -> Any:
        """Line plot: distance between aligned layers against relative depth, one line per
        pair of models."""
        plt = _plt()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for a, b in self.cross:
            t = self.alignment(a, b, dim)
            ax.plot(t["depth"], t["distance"], marker="o", label=f"{a} vs {b}")
        ax.set_xlabel("relative depth")
        ax.set_ylabel(f"{self.distance} distance (H{dim})")
        ax.set_title(f"layers aligned by relative depth (N={self.n_points})", fontsize=9)
        if self.cross:
            ax.legend(fontsize=7)
        return ax

    def plot_cross(self, a: str, b: str, dim: int = 1, ax: Any = None) -> Any:
        """Heatmap of the L_a×L_b distances between models ``a`` and ``b``."""
        plt = _plt()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 5))
        m = self.cross[(a, b)] if (a, b) in self.cross else np.swapaxes(self.cross[(b, a)], 1, 2)
        _heatmap(ax, m[dim], self.per_model[a].layers, self.per_model[b].layers,
                 f"{a} (rows) vs {b}: {self.distance}, H{dim}")
        return ax

    def save(self, out_dir: str) -> Dict[str, str]:
        """Per model: :meth:`LayerComparison.save`; plus ``models_distances.csv`` (tidy, all
        pairs), ``models_alignment.csv``, ``models_cross.npz`` and PNGs of each cross matrix
        and of the alignment lines."""
        os.makedirs(out_dir, exist_ok=True)
        paths: Dict[str, str] = {}
        for n, lc in self.per_model.items():
            for k, v in lc.save(out_dir, prefix=n).items():
                paths[f"{n}_{k}"] = v
        paths["csv"] = os.path.join(out_dir, "models_distances.csv")
        _write_csv(paths["csv"], self.table())
        align: Dict[str, List[Any]] = {}
        for a, b in self.cross:
            for k in range(self.maxdim + 1):
                for c, v in self.alignment(a, b, k).items():
                    align.setdefault(c, []).extend(v)
        if align:
            paths["alignment"] = os.path.join(out_dir, "models_alignment.csv")
            _write_csv(paths["alignment"], align)
        paths["npz"] = os.path.join(out_dir, "models_cross.npz")
        np.savez_compressed(paths["npz"], **{f"{a}__{b}": m for (a, b), m in self.cross.items()})
        plt = _plt()
        for k in range(self.maxdim + 1):
            for a, b in self.cross:
                fig, ax = plt.subplots(figsize=(6, 5))
                self.plot_cross(a, b, k, ax)
                fig.tight_layout()
                p = os.path.join(out_dir, f"cross_{a}__{b}_H{k}.png")
                fig.savefig(p, dpi=110)
                plt.close(fig)
                paths[f"cross_{a}__{b}_H{k}"] = p
            if self.cross:
                fig, ax = plt.subplots(figsize=(6, 4))
                self.plot_alignment(k, ax)
                fig.tight_layout()
                p = os.path.join(out_dir, f"alignment_H{k}.png")
                fig.savefig(p, dpi=110)
                plt.close(fig)
                paths[f"alignment_H{k}"] = p
        return paths


def _check_distance(distance: str) -> None:
    if distance not in ("wasserstein", "bottleneck"):
        raise ValueError(f"distance: must be 'wasserstein' or 'bottleneck', got {distance!r}")


def layers(
    model: Any,
    data: Any,
    layers: Any = "default",
    n_points: Optional[int] = 500,
    maxdim: int = 1,
    distance: str = "wasserstein",
    seed: Optional[int] = 0,
    project_to: Optional[int] = None,
    projection: str = "pca",
    outliers: Optional[str] = None,
    contamination: float = 0.05,
    metric: str = "euclidean",
    n_threads: Optional[int] = None,
    batch_size: int = 64,
    name: str = "model",
    progress: Optional[Callable[[str], None]] = None,
    **distance_kwargs: Any,
) -> LayerComparison:
    """L×L matrix of diagram distances between the layers of ``model``.

    Parameters
    ----------
    model, data, layers, n_points, seed, project_to, projection, outliers, contamination
        As in :func:`cuph.represent.layer_clouds` (equal N enforced).
    maxdim : int
        Highest homology dimension of the VR diagrams.
    distance : {"wasserstein", "bottleneck"}
        Diagram distance (:mod:`cuph.distances`); ``distance_kwargs`` go to it (e.g.
        ``delta``, ``order``). Essential pairs are left out.
    metric : str
        Metric between points (:func:`cuph.vr.persistence`).
    n_threads : int, optional
        Threads for the VR computations.
    progress : callable, optional
        Called with a message after each step.
    """
    from .represent import layer_clouds

    _check_distance(distance)
    clouds = layer_clouds(model, data, layers=layers, n_points=n_points, seed=seed,
                          project_to=project_to, projection=projection, batch_size=batch_size,
                          outliers=outliers, contamination=contamination, equal_n=True)
    if progress is not None:
        progress(f"{name}: {len(clouds)} layer clouds of {next(iter(clouds.values())).shape[0]} points")
    dgs = layer_diagrams(clouds, maxdim=maxdim, metric=metric, n_threads=n_threads,
                         progress=(lambda layer: progress(f"{name}: diagrams of {layer}"))
                         if progress is not None else None)
    names = list(clouds)
    mat = diagram_distances([dgs[n] for n in names], [dgs[n] for n in names], maxdim, distance,
                            symmetric=True, **distance_kwargs)
    n = next(iter(clouds.values())).shape[0]
    return LayerComparison(layers=names, diagrams=dgs, matrix=mat, distance=distance,
                           n_points=int(n), model=name)


def models(
    models: Mapping[str, Any],
    data: Any,
    layers: Any = "default",
    n_points: Optional[int] = 500,
    maxdim: int = 1,
    distance: str = "wasserstein",
    seed: Optional[int] = 0,
    progress: Optional[Callable[[str], None]] = None,
    **kwargs: Any,
) -> ModelComparison:
    """Compare several models on the same inputs: per-model L×L matrices, an L_a×L_b matrix
    for every pair of models, and layer alignment by relative depth
    (:meth:`ModelComparison.alignment`).

    ``models`` maps names to torch models; ``layers`` is one spec for all models or a dict
    name -> spec; other arguments as in :func:`layers` (same ``n_points`` and ``seed``, hence
    the same inputs, for every model: equal N is enforced).

    Examples
    --------
    >>> import torch, torchvision, cuph.compare
    >>> torch.manual_seed(0) and None
    >>> ms = {"a": torchvision.models.resnet18(weights=None).eval(),
    ...       "b": torchvision.models.resnet18(weights=None).eval()}
    >>> res = cuph.compare.models(ms, torch.rand(16, 3, 32, 32), n_points=12,
    ...                           layers=["layer1.0", "layer4.1"], maxdim=0)
    >>> res.cross[("a", "b")].shape, len(res.alignment("a", "b", dim=0)["distance"])
    ((1, 2, 2), 2)
    """
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models: expected a non-empty dict {name: torch model}")
    _check_distance(distance)
    per: Dict[str, LayerComparison] = {}
    for name, model in models.items():
        spec = layers[name] if isinstance(layers, Mapping) else layers
        per[name] = globals()["layers"](model, data, layers=spec, n_points=n_points, maxdim=maxdim,
                                        distance=distance, seed=seed, name=str(name),
                                        progress=progress, **kwargs)
    sizes = {n: lc.n_points for n, lc in per.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"models: clouds of different sizes per model {sizes}; use the same "
                         "n_points (and no outlier removal, or equal contamination)")
    names = [str(n) for n in models]
    dkw = {k: v for k, v in kwargs.items() if k in ("delta", "order", "internal_p")}
    cross = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = per[a], per[b]
            cross[(a, b)] = diagram_distances([la.diagrams[n] for n in la.layers],
                                              [lb.diagrams[n] for n in lb.layers], maxdim,
                                              distance, **dkw)
            if progress is not None:
                progress(f"distances {a} vs {b}")
    return ModelComparison(per_model=per, cross=cross, distance=distance,
                           n_points=next(iter(sizes.values())), names=names)


def outlier_effect(
    clouds: Mapping[str, np.ndarray],
    contamination: float = 0.05,
    maxdim: int = 1,
    distance: str = "wasserstein",
    seed: Optional[int] = 0,
    n_neighbors: int = 20,
    n_threads: Optional[int] = None,
    **distance_kwargs: Any,
) -> Dict[str, List[Any]]:
    """How much LOF outlier removal changes each layer's diagrams, against sampling noise.

    For each cloud (N points), ``removed`` is the distance between the diagrams of the cloud
    without its LOF outliers (:func:`cuph.represent.remove_outliers`, N - m points) and of a
    random subsample of N - m points (seeded): same size, so the comparison is fair.
    ``baseline`` is the distance between the diagrams of two independent random subsamples of
    N - m points: the change you get from sampling alone. ``removed`` close to ``baseline``
    means outliers do not drive the topology (the study's finding).

    Returns a tidy table: layer, dim, n_points, n_kept, removed, baseline.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = outlier_effect({"a": rng.standard_normal((60, 3))}, contamination=0.1, maxdim=0)
    >>> t["n_kept"], t["removed"][0] >= 0
    ([54], True)
    """
    from .represent import remove_outliers, subsample
    from .vr import persistence

    _check_distance(distance)
    fn = _dist._metric_fn(distance)
    t: Dict[str, List[Any]] = {c: [] for c in ("layer", "dim", "n_points", "n_kept", "removed",
                                               "baseline")}
    rng = np.random.default_rng(seed)
    for name, cloud in clouds.items():
        cloud = np.asarray(cloud)
        kept, mask = remove_outliers(cloud, "lof", contamination, n_neighbors)
        m = int(mask.sum())
        s1 = subsample(cloud, m, int(rng.integers(2**31)))
        s2 = subsample(cloud, m, int(rng.integers(2**31)))
        dk, d1, d2 = (persistence(c, maxdim=maxdim, n_threads=n_threads) for c in (kept, s1, s2))
        for k in range(maxdim + 1):
            pk, p1, p2 = (_dist.as_pairs(d, k, essential=False) for d in (dk, d1, d2))
            for c, v in zip(t, (name, k, int(cloud.shape[0]), m, fn(pk, p1, **distance_kwargs),
                                fn(p1, p2, **distance_kwargs))):
                t[c].append(v)
    return t
