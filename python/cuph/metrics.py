"""``cuph.metrics``: layer-wise Betti profiles and the topological-transferability score.

Study served: Suresh et al., "On Characterizing the Evolution of Embedding Space of Neural
Networks using Algebraic Topology" (arXiv 2311.04592).  Each layer's activation of one image
(C x H x W) is one 3-D cubical complex (values on vertices, "V"); its Betti numbers at a
threshold eta are counted from the persistence diagram, ``beta_k(eta) = #{pairs of dim k with
birth <= eta < death}`` (the Betti numbers of the sublevel set ``{a <= eta}``), and the
topological complexity of layer l is ``Omega(l) = mean over images of beta_0 + beta_1 +
beta_2``.  How fast Omega decays with depth is summarised by theta
(:func:`topological_transferability`); a larger theta went with a lower accuracy after
fine-tuning, so theta ranks pretrained models for transfer (:func:`rank_models`).

Example
-------
>>> import torch, torchvision, cuph.metrics
>>> model = torchvision.models.resnet18(weights=None).eval()
>>> images = torch.rand(8, 3, 32, 32)
>>> prof = cuph.metrics.betti_profile(model, images, progress=False)
>>> prof.betti.shape                      # layers x images x (beta_0, beta_1, beta_2)
(11, 8, 3)
>>> theta = prof.theta()
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np


__all__ = [
    "BettiProfile",
    "DecayFit",
    "Ranking",
    "betti_at",
    "betti_profile",
    "decay_fit",
    "rank_models",
    "topological_transferability",
]

Threshold = Union[float, str, np.ndarray, Callable[[np.ndarray], np.ndarray]]
_THRESHOLD_RULES = ("mean", "median")


# ----------------------------------------------------------------------------- Betti numbers
def _item_thresholds(x: np.ndarray, threshold: Threshold, batch_dims: int) -> np.ndarray:
    """One threshold per item (flat batch order)."""
    n_items = int(np.prod(x.shape[:batch_dims], dtype=np.int64))
    if not (_is_rule(threshold) or callable(threshold)):
        return _given_thresholds(threshold, n_items)
    flat = x.reshape(n_items, -1)
    if threshold == "mean":
        eta = flat.mean(axis=1, dtype=np.float64)
    elif threshold == "median":
        eta = np.median(flat, axis=1)
    else:
        eta = [threshold(row) for row in flat]
    return np.asarray(eta, dtype=np.float64)


def _is_rule(threshold: Threshold) -> bool:
    return isinstance(threshold, str) and threshold in _THRESHOLD_RULES


def _given_thresholds(threshold: Threshold, n_items: int) -> np.ndarray:
    """A number, or one per item, as float64 (the rules are the callers'; another name raises)."""
    if isinstance(threshold, str):
        raise ValueError(
            f"threshold: expected a number, {' or '.join(map(repr, _THRESHOLD_RULES))} "
            f"or a function, got {threshold!r}"
        )
    if np.ndim(threshold) > 0:
        eta = np.asarray(threshold, dtype=np.float64).reshape(-1)
        if eta.shape[0] != n_items:
            raise ValueError(f"threshold: an array of thresholds needs one per item "
                             f"({n_items}), got {eta.shape[0]}")
        if np.isnan(eta).any():
            raise ValueError("threshold: must not contain NaN")
    else:
        try:
            value = float(threshold)
        except (TypeError, ValueError):
            raise TypeError(f"threshold: expected a number, a rule name or a function, got "
                            f"{type(threshold).__name__}") from None
        if math.isnan(value):
            raise ValueError("threshold: must not be NaN")
        eta = np.full(n_items, value)
    return np.asarray(eta, dtype=np.float64)


def _gpu_engine_for(device: str) -> bool:
    """Whether GPU arrays stay on the GPU: "cuda", or "auto" with a usable GPU engine (a cuph
    built without one reads them from a host copy, as before it had one)."""
    from . import engine

    return device == "cuda" or (device == "auto" and engine.cuda_available())


def _gpu_thresholds(x: Any, threshold: Threshold, batch_dims: int) -> np.ndarray:
    """`_item_thresholds` of a GPU array (torch or cupy): the mean and median rules on the GPU,
    one float64 per item back to the host; a callable rule on a host copy."""
    n_items = math.prod(int(n) for n in x.shape[:batch_dims])
    if callable(threshold):
        from .engine import _to_host

        return _item_thresholds(np.asarray(_to_host(x)), threshold, batch_dims)
    if not _is_rule(threshold):
        return _given_thresholds(threshold, n_items)
    torch_like = hasattr(x, "detach")
    if torch_like:
        import torch

        flat = x.detach().reshape(n_items, -1)
        if flat.dtype == torch.bool:  # torch sorts no bools on the GPU
            flat = flat.to(torch.uint8)
    else:
        flat = x.reshape(n_items, -1)
    if threshold == "mean":
        eta = flat.to(torch.float64).mean(dim=1) if torch_like else flat.mean(
            axis=1, dtype=np.float64)
    else:
        s = flat.sort(dim=1).values if torch_like else _sorted_rows(flat)
        k = int(flat.shape[1]) // 2
        eta = s[:, k] if flat.shape[1] % 2 else _middle(s[:, k - 1], s[:, k], torch_like)
    eta = eta.cpu().numpy() if torch_like else eta.get()
    return np.asarray(eta, dtype=np.float64).reshape(-1)


def _middle(a: Any, b: Any, torch_like: bool) -> Any:
    """The mean of two middle values as numpy's median takes it: in float32 and back for
    float16, in the dtype for float32/64, in float64 for integers (no overflow)."""
    kind = str(a.dtype).replace("torch.", "")
    if torch_like:
        import torch

        cast = lambda v, name: v.to(getattr(torch, name))  # noqa: E731
    else:
        cast = lambda v, name: v.astype(name)  # noqa: E731
    if kind == "float16":
        return cast((cast(a, "float32") + cast(b, "float32")) / 2, "float16")
    if kind in ("float32", "float64"):
        return (a + b) / 2
    return (cast(a, "float64") + cast(b, "float64")) / 2


def _sorted_rows(flat: Any) -> Any:
    """A sorted copy of each row of a cupy array (``cupy.sort`` sorts along the last axis)."""
    out = flat.copy()
    out.sort(axis=1)
    return out


def betti_at(
    x: Any,
    threshold: Threshold = "mean",
    batch_dims: int = 1,
    maxdim: Optional[int] = None,
    construction: str = "V",
    n_threads: Optional[int] = None,
    device: str = "auto",
) -> np.ndarray:
    """Betti numbers of the sublevel set ``{x <= eta}`` of every item of a batch.

    ``beta_k(eta) = #{pairs of dim k with birth <= eta < death}``, computed by
    :func:`cuph.betti_numbers_at` (an exact kernel for 1-3-D items that needs no diagram:
    union-find for beta_0 and, by duality, beta_{d-1}; the Euler characteristic for beta_1
    of 3-D items), with a per-item threshold rule on top.

    Parameters
    ----------
    x : array_like
        ``batch_dims`` batch axes followed by a 1- to 4-D item.
    threshold : float, array, "mean", "median" or callable
        eta: one number for all items, one per item (an array of ``batch_shape``), a
        per-item rule (the item's mean or median value), or a function of the item's flat
        values returning its eta.
    batch_dims, maxdim, construction, n_threads
        As in :func:`cuph.persistence` (``maxdim`` is capped at ``d - 1``).
    device : {"auto", "cpu", "cuda"}
        As in :func:`cuph.betti_numbers_at`, except that ``"auto"`` copies a GPU array to the
        host when cuph has no usable GPU engine. A GPU array that stays on the GPU is not
        copied to the host: the "mean" and "median" rules run on the GPU too and only
        one number per item comes back (a GPU's float64 mean may differ from numpy's in the
        last bits, which changes a count only for values within that rounding of the mean);
        a callable rule is given host copies of the items. ``"cpu"`` copies it to the host.

    Returns
    -------
    numpy.ndarray of int64, shape ``batch_shape + (maxdim + 1,)``
        Dimensions above ``d - 1`` (when ``maxdim`` asks for them) are 0.

    Examples
    --------
    >>> import numpy as np, cuph.metrics
    >>> ring = np.ones((2, 5, 5)); ring[:, 1:4, 1:4] = 0; ring[:, 2, 2] = 1
    >>> cuph.metrics.betti_at(ring, threshold=0.5, construction="T").tolist()
    [[1, 1], [1, 1]]
    """
    from .betti import betti_numbers_at
    from .engine import _is_gpu_array, _to_host

    on_gpu = _is_gpu_array(x) and _gpu_engine_for(device)
    x = x if on_gpu else np.asarray(_to_host(x))
    shape = tuple(int(n) for n in x.shape)
    d = len(shape) - batch_dims
    want = d - 1 if maxdim is None else int(maxdim)
    if want < 0:
        raise ValueError(f"maxdim: must be >= 0, got {maxdim}")
    eta = _gpu_thresholds(x, threshold, batch_dims) if on_gpu else _item_thresholds(
        x, threshold, batch_dims)
    batch_shape = shape[:batch_dims]
    rule = isinstance(threshold, str) or callable(threshold)  # given ones: checked below
    if rule and np.isnan(eta).any():  # a rule on an item with NaN
        item = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(np.isnan(eta))[0]),
                                                       batch_shape))
        raise ValueError(f"x: item {item} contains NaN; the threshold rule {threshold!r} and "
                         "the Betti numbers need NaN-free values")
    got = betti_numbers_at(x, eta.reshape(batch_shape), batch_dims=batch_dims,
                           maxdim=min(want, d - 1), construction=construction, n_threads=n_threads,
                           device=device)
    if want <= d - 1:
        return got
    out = np.zeros(batch_shape + (want + 1,), dtype=np.int64)
    out[..., : d] = got
    return out


# ----------------------------------------------------------------------------- theta
@dataclass
class DecayFit:
    """The cubic fitted to a normalised profile (see :func:`decay_fit`)."""

    theta: float
    coef: np.ndarray  #: c0..c3 of y = c0 + c1 x + c2 x^2 + c3 x^3 (c0 includes the intercept)
    x: np.ndarray  #: 1..L
    y: np.ndarray  #: Omega / ||Omega||_2
    y_fit: np.ndarray


def _check_omega(omega: Any) -> np.ndarray:
    y = np.asarray(omega, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"omega: expected a 1-D profile (one value per layer), got shape {y.shape}")
    if y.shape[0] < 4:
        raise ValueError(
            f"omega: a cubic fit needs at least 4 layers, got {y.shape[0]}; profile more layers"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("omega: values must be finite")
    if not np.any(y):
        raise ValueError("omega: the profile is all zeros (no topology at any layer); theta is undefined")
    return y


def decay_fit(omega: Any, alpha: float = 1e-3) -> DecayFit:
    """Fit the cubic of the topological-transferability score (see
    :func:`topological_transferability`) and return it whole (for plots and checks)."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import PolynomialFeatures

    y = _check_omega(omega)
    y = y / np.linalg.norm(y)
    x = np.arange(1, y.shape[0] + 1, dtype=np.float64)
    feats = PolynomialFeatures(degree=3).fit_transform(x[:, None])
    ridge = Ridge(alpha=alpha).fit(feats, y)
    coef = np.asarray(ridge.coef_, dtype=np.float64).copy()
    coef[0] += float(ridge.intercept_)
    theta = float(coef[1] + coef[2] / 2 + coef[3] / 2)
    return DecayFit(theta=theta, coef=coef, x=x, y=y, y_fit=feats @ coef)


def topological_transferability(omega: Any, alpha: float = 1e-3) -> float:
    """theta: how slowly topological complexity decays with depth.

    For a profile ``Omega(1..L)`` (mean Betti sum per layer), ``y = Omega / ||Omega||_2`` at
    ``x = 1..L`` is fitted by a cubic ``c0 + c1 x + c2 x^2 + c3 x^3`` with ridge regression
    (scikit-learn ``PolynomialFeatures(3)`` + ``Ridge(alpha=1e-3)``, intercept fitted and
    not penalised), and ``theta = c1 + c2 / 2 + c3 / 2``.  A larger theta (slower decay)
    went with a lower accuracy after fine-tuning (Suresh et al.).

    Raises ``ValueError`` for fewer than 4 layers (a cubic needs them), non-finite values
    or an all-zero profile.

    Examples
    --------
    >>> import numpy as np, cuph.metrics
    >>> omega = 100.0 - 4 * np.arange(1, 12)         # a linear decay: y = c0 + c1 x,
    >>> theta = cuph.metrics.topological_transferability(omega)
    >>> round(theta, 4), bool(abs(theta - -4 / np.linalg.norm(omega)) < 1e-3)   # theta ~ c1
    (-0.0156, True)
    """
    return decay_fit(omega, alpha).theta


# ----------------------------------------------------------------------------- profiles
@dataclass
class BettiProfile:
    """Betti numbers of every layer's activation of every image.

    Attributes
    ----------
    layers : list of str
        Layer names, in forward order.
    betti : numpy.ndarray of int64, shape (n_layers, n_images, maxdim + 1)
        beta_k of layer l, image i at the threshold.
    layer_shapes : list of tuple
        Shape of one image's activation per layer (C, H, W for conv layers).
    threshold, construction, per_channel : as passed to :func:`betti_profile`.
    name : str
        A label (the model's name in rankings).
    """

    layers: List[str]
    betti: np.ndarray
    layer_shapes: List[Tuple[int, ...]]
    threshold: Any = "mean"
    construction: str = "V"
    per_channel: bool = False
    name: str = ""
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def omega(self) -> np.ndarray:
        """Omega(l): mean over images of the sum of Betti numbers, per layer."""
        return self.betti.sum(axis=2).mean(axis=1)

    def theta(self, alpha: float = 1e-3) -> float:
        """The topological-transferability score of this profile."""
        return topological_transferability(self.omega, alpha)

    def table(self) -> Any:
        """A tidy table, one row per (layer, image): layer, depth (1..L), image, b0, b1, ....

        A pandas DataFrame when pandas is installed, else a dict of numpy arrays."""
        n_layers, n_images, m1 = self.betti.shape
        cols: Dict[str, np.ndarray] = {
            "layer": np.repeat(np.asarray(self.layers, dtype=object), n_images),
            "depth": np.repeat(np.arange(1, n_layers + 1), n_images),
            "image": np.tile(np.arange(n_images), n_layers),
        }
        for k in range(m1):
            cols[f"b{k}"] = self.betti[:, :, k].reshape(-1)
        try:
            import pandas as pd
        except ImportError:
            return cols
        return pd.DataFrame(cols)

    def summary(self) -> Dict[str, np.ndarray]:
        """Per layer: name, depth, mean beta_k and Omega (a dict of arrays)."""
        out: Dict[str, Any] = {"layer": np.asarray(self.layers, dtype=object),
                               "depth": np.arange(1, len(self.layers) + 1)}
        for k in range(self.betti.shape[2]):
            out[f"mean_b{k}"] = self.betti[:, :, k].mean(axis=1)
        out["omega"] = self.omega
        return out

    def save(self, out_dir: "Union[str, os.PathLike[str]]", prefix: str = "betti_profile") -> Dict[str, str]:
        """Write ``{prefix}.csv`` (per layer and image), ``{prefix}_layers.csv`` (summary),
        ``{prefix}.npz`` (arrays) and, with matplotlib, ``{prefix}.png``; returns the paths."""
        os.makedirs(out_dir, exist_ok=True)
        paths = {}
        m1 = self.betti.shape[2]
        p = os.path.join(out_dir, f"{prefix}.csv")
        with open(p, "w") as f:
            f.write("layer,depth,image," + ",".join(f"b{k}" for k in range(m1)) + "\n")
            for li, layer in enumerate(self.layers):
                for i in range(self.betti.shape[1]):
                    f.write(f"{layer},{li + 1},{i}," + ",".join(str(int(v)) for v in self.betti[li, i]) + "\n")
        paths["csv"] = p
        p = os.path.join(out_dir, f"{prefix}_layers.csv")
        s = self.summary()
        with open(p, "w") as f:
            keys = list(s)
            f.write(",".join(keys) + "\n")
            for r in range(len(self.layers)):
                f.write(",".join(str(s[k][r]) if k == "layer" else f"{s[k][r]:.6g}" for k in keys) + "\n")
        paths["layers_csv"] = p
        p = os.path.join(out_dir, f"{prefix}.npz")
        np.savez(p, betti=self.betti, omega=self.omega, layers=np.asarray(self.layers),
                 layer_shapes=np.asarray([str(s) for s in self.layer_shapes]),
                 threshold=np.asarray(str(self.threshold)), construction=np.asarray(self.construction))
        paths["npz"] = p
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return paths
        fig, ax = plt.subplots(figsize=(7, 4))
        self.plot(ax=ax)
        fig.tight_layout()
        p = os.path.join(out_dir, f"{prefix}.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths["png"] = p
        return paths

    def plot(self, ax: Any = None, fit: bool = True) -> Any:
        """Normalised Omega per layer and (``fit=True``, 4+ layers) the fitted cubic."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        omega = self.omega
        norm = np.linalg.norm(omega)
        y = omega / norm if norm > 0 else omega
        x = np.arange(1, len(y) + 1)
        ax.plot(x, y, "o-", label=self.name or "profile")
        if fit and len(y) >= 4 and norm > 0:
            f = decay_fit(omega)
            ax.plot(x, f.y_fit, "--", color="0.3", label=f"cubic fit, theta = {f.theta:.4f}")
        ax.set_xticks(x)
        ax.set_xticklabels(self.layers, rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("layer")
        ax.set_ylabel("Omega / ||Omega||")
        ax.set_title("topological complexity by depth")
        ax.legend()
        return ax


def betti_profile(
    model: Any,
    data: Any,
    layers: Any = "blocks",
    threshold: Threshold = "mean",
    maxdim: int = 2,
    construction: str = "V",
    device: str = "auto",
    batch_size: int = 64,
    per_channel: bool = False,
    n_threads: Optional[int] = None,
    eval_mode: Optional[bool] = None,
    limit: Optional[int] = None,
    progress: bool = True,
    name: str = "",
    client: Any = None,
    shard_size: int = 128,
) -> BettiProfile:
    """Betti numbers of each layer's activation of each image (Suresh et al.'s profile).

    Parameters
    ----------
    model : torch.nn.Module
    data : tensor, numpy array or iterable of batches (DataLoader)
        Model inputs (``(inputs, labels)`` batches are fine: labels are ignored).
    layers : "blocks", list of names or predicate
        See :class:`cuph.nn.ActivationExtractor`.
    threshold : float, "mean", "median" or callable
        eta at which Betti numbers are counted, per (image, layer).  The default "mean"
        (each activation's own mean value) is scale-free, so layers whose activations
        live on different scales (conv vs BatchNorm vs ReLU) are comparable; pass a
        number for a fixed eta.  This is our choice: the study's exact threshold is not
        stated in the material we could check.
    maxdim : int
        Highest Betti number (the study used 2: beta_0, beta_1, beta_2 of C x H x W).
    construction : {"V", "T"}
        "V" (values on vertices) as the study did with CubicalRipser.
    device : {"auto", "cpu", "cuda"}
        Engine device (see :func:`cuph.betti_numbers_at`); the model runs where it lives.
        ``"auto"``: activations on a GPU are read there, without a copy to the host (the
        per-image threshold too is computed there; see :func:`betti_at`), others on the CPU;
        ``"cuda"`` sends host activations to the GPU; ``"cpu"`` copies GPU activations to the
        host.
    batch_size : int
        Images per forward pass; each layer's batch goes to the engine as one call.
    per_channel : bool
        Treat each channel as its own 2-D map and sum the channels' Betti numbers per image
        (instead of one 3-D complex C x H x W).
    n_threads, eval_mode, limit, progress
        Engine threads; train-mode handling (see ActivationExtractor); use only the first
        ``limit`` samples; show tqdm progress bars (images, and layers within a batch).
    client, shard_size
        A ``distributed.Client``: run on its workers (:func:`cuph.dask.profile`) in shards
        of ``shard_size`` images; ``model`` may then be a :class:`cuph.dask.ModelSpec` that
        each worker builds once, and ``data`` must be an array or tensor.

    Returns
    -------
    BettiProfile
    """
    import time

    import torch

    from .nn import ActivationExtractor

    if client is not None:
        from .dask import profile as _dask_profile

        if limit is not None:
            data = data[:limit]
        return _dask_profile(
            model, data, client, shard_size=shard_size, name=name, progress=progress,
            layers=layers, threshold=threshold, maxdim=maxdim, construction=construction,
            device=device, batch_size=batch_size, per_channel=per_channel,
            eval_mode=eval_mode, **({} if n_threads is None else {"n_threads": n_threads}),
        )

    ext = ActivationExtractor(model, layers=layers, eval_mode=eval_mode)
    shapes: Dict[str, Tuple[int, ...]] = {}
    t_persistence = [0.0]

    def per_layer(name: str, act: Any) -> np.ndarray:
        a = act.float() if act.dtype == torch.bfloat16 else act
        # Activations on a GPU stay there (the engine reads them in place); see betti_at.
        a = a.detach() if a.is_cuda and on_gpu else a.detach().cpu().numpy()
        item = a.shape[1:]
        shapes.setdefault(name, tuple(int(s) for s in item))
        t0 = time.perf_counter()
        if per_channel and a.ndim >= 3:
            b = betti_at(a, threshold, batch_dims=2, maxdim=maxdim, construction=construction,
                         n_threads=n_threads, device=device).sum(axis=1)
        else:
            if len(item) == 0:
                raise ValueError(f"layers: {name!r} outputs one number per image; nothing to profile")
            if len(item) > 4:
                a = a.reshape(a.shape[0], -1, *a.shape[-3:])  # fold leading axes into channels
            b = betti_at(a, threshold, batch_dims=1, maxdim=maxdim, construction=construction,
                         n_threads=n_threads, device=device)
        t_persistence[0] += time.perf_counter() - t0
        return b

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda":  # before the model runs: an engine error in a layer hook would be
        from .engine import _use_gpu  # reported as the model's

        _use_gpu(None, device)
    on_gpu = _gpu_engine_for(device)
    fn: Callable[[str, Any], np.ndarray] = per_layer
    bar = layer_bar = None
    if progress:
        from tqdm.auto import tqdm

        n_data = _n_samples(data)
        total = limit if n_data is None else (n_data if limit is None else min(limit, n_data))
        bar = tqdm(total=total, unit="img", desc=f"profile {name or type(model).__name__}")
        layer_bar = tqdm(total=len(ext.layer_names), unit="layer", desc="layers", leave=False)

        def fn(layer: str, act: Any) -> np.ndarray:
            if layer == ext.layer_names[0]:
                layer_bar.reset()
            layer_bar.set_postfix_str(layer, refresh=False)
            out = per_layer(layer, act)
            layer_bar.update()
            return out

    t_all = time.perf_counter()
    try:
        res = ext.map(data, fn, batch_size=batch_size, limit=limit,
                      on_batch=None if bar is None else bar.update)
    finally:
        for b in (layer_bar, bar):
            if b is not None:
                b.close()
    betti = np.stack([np.concatenate(res[n], axis=0) for n in ext.layer_names])
    return BettiProfile(
        layers=list(ext.layer_names), betti=betti, layer_shapes=[shapes[n] for n in ext.layer_names],
        threshold=threshold, construction=construction, per_channel=per_channel,
        name=name or type(model).__name__,
        timings={"total": time.perf_counter() - t_all, "persistence": t_persistence[0]},
    )


def _n_samples(data: Any) -> Optional[int]:
    """Number of samples when cheaply known (arrays, tensors, DataLoaders over datasets)."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    dataset = getattr(data, "dataset", None)
    try:
        return int(len(dataset)) if dataset is not None else None
    except TypeError:
        return None


# ----------------------------------------------------------------------------- ranking
@dataclass
class Ranking:
    """theta per model and, given accuracies, its correlation with them.

    ``correlations`` holds Kendall tau, Pearson r and Spearman rho (scipy.stats) with their
    p-values; ``order`` lists the models by increasing theta (best predicted transfer first).
    """

    theta: Dict[str, float]
    accuracies: Optional[Dict[str, float]] = None
    correlations: Dict[str, float] = field(default_factory=dict)
    profiles: Dict[str, BettiProfile] = field(default_factory=dict)

    @property
    def order(self) -> List[str]:
        return sorted(self.theta, key=lambda k: self.theta[k])

    def table(self) -> Dict[str, List[Any]]:
        """Rows by increasing theta: model, theta, accuracy (if given)."""
        rows: Dict[str, List[Any]] = {"model": self.order, "theta": [self.theta[m] for m in self.order]}
        if self.accuracies is not None:
            rows["accuracy"] = [self.accuracies.get(m, float("nan")) for m in self.order]
        return rows

    def report(self) -> str:
        """A plain-text table plus the correlations."""
        t = self.table()
        w = max(len(m) for m in t["model"])
        lines = [f"{'model':<{w}}  {'theta':>8}" + ("  accuracy" if "accuracy" in t else "")]
        for i, m in enumerate(t["model"]):
            line = f"{m:<{w}}  {t['theta'][i]:8.4f}"
            if "accuracy" in t:
                line += f"  {t['accuracy'][i]:8.2f}"
            lines.append(line)
        if self.correlations:
            c = self.correlations
            lines.append(
                f"theta vs accuracy over {len(self.theta)} models: Kendall tau = {c['kendall_tau']:.3f}, "
                f"Pearson r = {c['pearson_r']:.3f}, Spearman rho = {c['spearman_rho']:.3f}"
            )
        return "\n".join(lines)


def rank_models(
    models: Mapping[str, Any],
    data: Any = None,
    accuracies: Optional[Mapping[str, float]] = None,
    **profile_kwargs: Any,
) -> Ranking:
    """Profile several models on the same data, compute theta, and correlate it with accuracy.

    Parameters
    ----------
    models : mapping name -> torch model, BettiProfile, or a theta (float)
        Models are profiled with :func:`betti_profile` on ``data`` (same images for all);
        profiles and numbers are used as they are (e.g. published theta values).
    data : model inputs, needed when any value of ``models`` is a model.
    accuracies : mapping name -> accuracy, optional
        E.g. accuracy after fine-tuning; with it, Kendall tau, Pearson r and Spearman rho
        between theta and accuracy are computed (at least 3 models).
    **profile_kwargs : passed to :func:`betti_profile`.

    Examples
    --------
    >>> import cuph.metrics
    >>> r = cuph.metrics.rank_models({"a": 0.2, "b": 0.1, "c": -0.03},
    ...                              accuracies={"a": 94.7, "b": 95.8, "c": 96.5})
    >>> r.order, round(r.correlations["kendall_tau"], 3)
    (['c', 'b', 'a'], -1.0)
    """
    if not isinstance(models, Mapping) or len(models) == 0:
        raise ValueError("models: expected a non-empty mapping {name: model, profile or theta}")
    theta: Dict[str, float] = {}
    profiles: Dict[str, BettiProfile] = {}
    for name, m in models.items():
        if isinstance(m, BettiProfile):
            profiles[name] = m
            theta[name] = m.theta()
        elif isinstance(m, (int, float, np.floating, np.integer)) and not isinstance(m, bool):
            theta[name] = float(m)
        else:
            if data is None:
                raise ValueError(f"data: needed to profile model {name!r}")
            prof = betti_profile(m, data, name=name, **profile_kwargs)
            profiles[name] = prof
            theta[name] = prof.theta()
    ranking = Ranking(theta=theta, profiles=profiles)
    if accuracies is not None:
        acc = {str(k): float(v) for k, v in accuracies.items()}
        missing = [n for n in theta if n not in acc]
        if missing:
            raise ValueError(f"accuracies: no accuracy for model {missing[0]!r}")
        if len(theta) < 3:
            raise ValueError("accuracies: correlations need at least 3 models")
        from scipy import stats

        names = list(theta)
        t = np.array([theta[n] for n in names])
        a = np.array([acc[n] for n in names])
        kt = stats.kendalltau(t, a)
        pr = stats.pearsonr(t, a)
        sr = stats.spearmanr(t, a)
        ranking.accuracies = {n: acc[n] for n in names}
        ranking.correlations = {
            "kendall_tau": float(kt.statistic), "kendall_p": float(kt.pvalue),
            "pearson_r": float(pr.statistic), "pearson_p": float(pr.pvalue),
            "spearman_rho": float(sr.statistic), "spearman_p": float(sr.pvalue),
        }
    return ranking
