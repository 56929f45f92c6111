"""``cuph.represent``: layer representations of a model as point clouds.

Each layer's representation of N inputs is a point cloud: one point per input, the layer's
output for that input flattened to a vector (N × features).  Vietoris–Rips diagrams of these
clouds (:mod:`cuph.vr`) are compared across layers and models by :mod:`cuph.compare`.

Methodological defaults (from Świder, "Characterization of topological structures in
different neural network architectures"):

* **Equal N.** Diagrams of clouds with different numbers of points are not comparable (more
  points = more H0 bars, shorter edges), so :func:`layer_clouds` feeds the *same* N inputs to
  every layer and model, and :func:`check_equal_n` refuses clouds of different sizes.
* **Outliers.** Removing outliers with the Local Outlier Factor barely changes the diagrams;
  :func:`remove_outliers` does it (deterministic), so you can check that on your data.
* **Projection** to k dimensions (``project=k``) is an *approximation* offered for speed and
  memory: PCA keeps the k directions of largest variance (distances shrink: it is a
  projection), a Gaussian random projection preserves distances up to a factor 1 ± ε with
  high probability when k ≳ 8 log(N) / ε² (Johnson–Lindenstrauss). Leave ``project=None``
  for exact diagrams of the layer outputs.

Examples
--------
>>> import numpy as np
>>> from cuph.represent import subsample, remove_outliers
>>> cloud = np.random.default_rng(0).standard_normal((100, 5))
>>> subsample(cloud, 30, seed=1).shape
(30, 5)
>>> kept, mask = remove_outliers(cloud, contamination=0.1)
>>> kept.shape, int(mask.sum())
((90, 5), 90)
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .engine import _check_int

__all__ = ["layer_clouds", "default_layers", "subsample", "subsample_indices", "remove_outliers",
           "check_equal_n", "project"]


# ----------------------------------------------------------------------------- layers
def default_layers(model: Any) -> List[str]:
    """The layers cuph compares by default.

    torchvision **VisionTransformer**: the patch embedding ``conv_proj``, every encoder block
    ``encoder.layers.encoder_layer_i`` and the final ``encoder.ln``; any other model:
    :func:`cuph.nn.block_layers` (ResNet blocks, VGG conv stages, ...).
    """
    from .nn import block_layers

    enc = getattr(model, "encoder", None)
    blocks = getattr(enc, "layers", None) if enc is not None else None
    if blocks is not None and hasattr(model, "conv_proj"):
        names = ["conv_proj"] + [f"encoder.layers.{n}" for n, _ in blocks.named_children()]
        if hasattr(enc, "ln"):
            names.append("encoder.ln")
        return names
    return block_layers(model)


# ----------------------------------------------------------------------------- sampling
def subsample_indices(n_total: int, n_points: int, seed: Optional[int] = 0) -> np.ndarray:
    """Sorted indices of ``n_points`` of ``n_total`` items, without replacement, from ``seed``."""
    n_total = _check_int("n_total", n_total)
    n_points = _check_int("n_points", n_points)
    if n_points < 2:
        raise ValueError(f"n_points: a cloud needs at least 2 points, got {n_points}")
    if n_points > n_total:
        raise ValueError(f"n_points: asked for {n_points} points but only {n_total} are available; "
                         "use more data or fewer points")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=n_points, replace=False))


def subsample(cloud: Any, n_points: int, seed: Optional[int] = 0) -> np.ndarray:
    """``n_points`` rows of ``cloud`` chosen at random (without replacement) from ``seed``."""
    arr = np.asarray(cloud)
    if arr.ndim != 2:
        raise ValueError(f"cloud: expected a (points, features) array, got shape {arr.shape}")
    return arr[subsample_indices(arr.shape[0], n_points, seed)]


def check_equal_n(clouds: Union[Mapping[str, Any], Sequence[Any]], what: str = "clouds") -> int:
    """The common number of points of ``clouds``; a ValueError naming the sizes otherwise.

    >>> check_equal_n({"a": np.zeros((5, 2)), "b": np.zeros((5, 7))})
    5
    """
    items = list(clouds.items()) if isinstance(clouds, Mapping) else list(enumerate(clouds))
    if not items:
        raise ValueError(f"{what}: no clouds")
    sizes = {str(k): int(np.shape(v)[0]) for k, v in items}
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"{what}: clouds of different sizes {sizes}; diagrams are only comparable for equal "
            "numbers of points: subsample every cloud to the same N (cuph.represent.subsample, "
            "or equal_n=True), or pass equal_n=False to compare anyway")
    return next(iter(sizes.values()))


def remove_outliers(cloud: Any, method: str = "lof", contamination: Union[float, str] = 0.05,
                    n_neighbors: int = 20, **kwargs: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Drop outliers found by scikit-learn's ``LocalOutlierFactor``.

    Parameters
    ----------
    cloud : array (points, features)
    method : {"lof"}
        Only the Local Outlier Factor for now.
    contamination : float in (0, 0.5] or "auto"
        Expected fraction of outliers (``LocalOutlierFactor(contamination=...)``).
    n_neighbors : int
        Neighbourhood size of LOF (capped at points - 1).
    **kwargs
        Passed to ``LocalOutlierFactor`` (e.g. ``metric``).

    Returns
    -------
    (kept, mask)
        The kept points and the boolean mask of kept rows. LOF has no randomness, so the
        result is deterministic (ties in distances are broken by point order).
    """
    if method != "lof":
        raise ValueError(f"method: only 'lof' (Local Outlier Factor) is supported, got {method!r}")
    arr = np.asarray(cloud, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 3:
        raise ValueError(f"cloud: expected a (points, features) array with at least 3 points, "
                         f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("cloud: contains NaN or inf; LOF needs finite coordinates")
    if contamination != "auto":
        c = float(contamination)
        if not 0 < c <= 0.5:
            raise ValueError(f"contamination: must be in (0, 0.5] or 'auto', got {contamination!r}")
    try:
        from sklearn.neighbors import LocalOutlierFactor
    except ImportError:
        raise ImportError("remove_outliers needs scikit-learn: pip install scikit-learn "
                          "(or pip install 'cuph[vr]')") from None
    k = max(1, min(int(n_neighbors), arr.shape[0] - 1))
    lof = LocalOutlierFactor(n_neighbors=k, contamination=contamination, **kwargs)
    mask = lof.fit_predict(arr) == 1
    return np.asarray(cloud)[mask], mask


# ----------------------------------------------------------------------------- projection
def project(cloud: np.ndarray, k: int, method: str = "pca", seed: Optional[int] = 0) -> np.ndarray:
    """Project a (points, features) cloud to ``k`` dimensions (an approximation, see above).

    ``method="pca"``: the k leading principal components (SVD of the centred cloud);
    ``"random"``: a Gaussian random projection scaled by 1/√k (seeded). A cloud with at most
    k features is returned unchanged.
    """
    k = _check_int("project", k)
    if k < 1:
        raise ValueError(f"project: must be >= 1, got {k}")
    x = np.asarray(cloud, dtype=np.float64)
    if x.shape[1] <= k:
        return x
    if method == "pca":
        xc = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(xc, full_matrices=False)
        return u[:, :k] * s[:k]
    if method == "random":
        rng = np.random.default_rng(seed)
        r = rng.standard_normal((x.shape[1], k)) / np.sqrt(k)
        return x @ r
    raise ValueError(f"projection: must be 'pca' or 'random', got {method!r}")


# ----------------------------------------------------------------------------- clouds
def _select(data: Any, idx: np.ndarray) -> Any:
    """The samples ``idx`` of a tensor / array, or of an iterable of batches (collected)."""
    import torch

    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(idx)]
    from .nn import iter_batches

    batches = [b for b in iter_batches(data, 256)]
    return torch.cat(batches)[torch.as_tensor(idx)]


def _n_samples(data: Any) -> int:
    import torch

    if isinstance(data, (np.ndarray, torch.Tensor)):
        return int(data.shape[0])
    from .nn import iter_batches

    return sum(int(b.shape[0]) for b in iter_batches(data, 256))


def layer_clouds(
    model: Any,
    data: Any,
    layers: Any = "default",
    n_points: Optional[int] = None,
    seed: Optional[int] = 0,
    project_to: Optional[int] = None,
    projection: str = "pca",
    batch_size: int = 64,
    outliers: Optional[str] = None,
    contamination: float = 0.05,
    equal_n: bool = True,
    progress: Optional[Callable[[int], None]] = None,
) -> Dict[str, np.ndarray]:
    """One point cloud per layer: the layer's flattened outputs for the same N inputs.

    Parameters
    ----------
    model : torch.nn.Module
        Any model (put it in eval mode; nothing is downloaded).
    data : tensor, array or iterable of batches
        Model inputs (N_total, ...).
    layers : "default", "blocks", list of str or callable
        "default": :func:`default_layers` (ViT blocks or :func:`cuph.nn.block_layers`); other
        values as in :class:`cuph.nn.ActivationExtractor`.
    n_points : int, optional
        Number of inputs (points per cloud), drawn at random without replacement from
        ``seed`` — the same inputs for every layer, and for every model given the same data
        and seed. ``None``: all of ``data``.
    project_to : int, optional
        Project each cloud to this many dimensions (approximation; see the module docstring).
    projection : {"pca", "random"}
    batch_size : int
        Inputs per forward pass.
    outliers : {None, "lof"}
        Remove outliers from each cloud with :func:`remove_outliers` (``contamination``);
        with ``equal_n`` the clouds are then subsampled (seeded) to the smallest size, so all
        layers keep the same N.
    equal_n : bool
        Enforce equal numbers of points (default True).
    progress : callable, optional
        Called with the number of inputs after each forward pass.

    Returns
    -------
    dict
        ``{layer name: float32 array (N, features)}`` in layer order.

    Examples
    --------
    >>> import torch, torchvision, cuph.represent as rep
    >>> model = torchvision.models.resnet18(weights=None).eval()
    >>> clouds = rep.layer_clouds(model, torch.rand(20, 3, 32, 32), n_points=10, seed=0)
    >>> len(clouds), clouds["layer4.1"].shape
    (11, (10, 512))
    """
    from .nn import ActivationExtractor

    batch_size = _check_int("batch_size", batch_size)
    if layers == "default":
        layers = default_layers(model)
    ext = ActivationExtractor(model, layers=layers)
    total = _n_samples(data)
    if n_points is None:
        n_points = total
    idx = subsample_indices(total, n_points, seed)
    inputs = _select(data, idx)
    parts: Dict[str, List[np.ndarray]] = ext.map(
        inputs, lambda name, out: out.reshape(out.shape[0], -1).float().cpu().numpy(),
        batch_size=batch_size, on_batch=progress)
    clouds = {name: np.concatenate(chunks, axis=0) for name, chunks in parts.items()}
    if project_to is not None:
        clouds = {k: project(v, project_to, projection, seed).astype(np.float32)
                  for k, v in clouds.items()}
    if outliers is not None:
        clouds = {k: remove_outliers(v, outliers, contamination)[0] for k, v in clouds.items()}
        if equal_n:
            n_min = min(v.shape[0] for v in clouds.values())
            clouds = {k: subsample(v, n_min, seed) if v.shape[0] > n_min else v
                      for k, v in clouds.items()}
    if equal_n:
        check_equal_n(clouds, "layer_clouds")
    return clouds
