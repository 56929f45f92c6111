"""``cuph.distances``: distances between persistence diagrams and vectorisations.

Distances (no home-made matching):

* :func:`bottleneck` — exact by default (``gudhi.bottleneck_distance(e=0)``); ``delta > 0``
  uses Hera (``gudhi.hera.bottleneck_distance``) with relative error at most ``delta``.
* :func:`wasserstein` — Hera (``gudhi.hera.wasserstein_distance``, relative error at most
  ``delta``, default 0.01 as in gudhi); ``delta=0`` is exact via persim's Hungarian matching
  (``persim.wasserstein``, O(n³): small diagrams only, ``order=1``, ``internal_p=inf``).
* :func:`distance_matrix` — all pairwise distances between many diagrams.

Vectorisations (fixed-size features):

* :func:`landscape` — persistence landscapes, ``gudhi.representations.Landscape``.
* :func:`persistence_image` — persistence images, ``gudhi.representations.PersistenceImage``.
* :func:`betti_curve` — ours (a vectorised count, half-open intervals ``[b, d)`` like
  :meth:`cuph.Diagrams.betti_curve`; gudhi's ``BettiCurve`` is slower and samples its own
  grid).
* :func:`total_persistence`, :func:`persistent_entropy` — ours (two lines of numpy; a library
  call would cost more than the sum).

Every function takes one diagram as an ``(n, 2)`` array of ``(birth, death)`` pairs, or a
single-item :class:`cuph.Diagrams` plus ``dim``.  Essential pairs (``death = inf``) are dropped
by default (``essential=False``): with ``essential=True`` distances keep them (Hera/gudhi match
them along their line; diagrams with different numbers of essential pairs in a dimension are
at distance ``inf``).

Examples
--------
>>> import numpy as np
>>> from cuph import distances
>>> a = np.array([[0.0, 1.0], [0.5, 2.0]])
>>> b = np.array([[0.0, 1.1], [0.5, 1.5]])
>>> round(distances.bottleneck(a, b), 6)
0.5
>>> round(distances.wasserstein(a, b, internal_p=2, delta=0), 6)
0.6
>>> distances.betti_curve(a, [0.25, 0.75, 1.5]).tolist()
[1, 2, 1]
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .diagrams import Diagrams, _optional_import

__all__ = [
    "as_pairs", "bottleneck", "wasserstein", "distance_matrix", "landscape",
    "persistence_image", "betti_curve", "total_persistence", "persistent_entropy",
]

DiagramLike = Union[np.ndarray, Diagrams, Sequence[Sequence[float]]]


def as_pairs(dgm: DiagramLike, dim: Optional[int] = None, essential: bool = True,
             name: str = "dgm") -> np.ndarray:
    """One diagram as a float64 ``(n, 2)`` array; a :class:`Diagrams` needs ``dim``.

    >>> import numpy as np, cuph.vr
    >>> dg = cuph.vr.persistence(np.array([[0.0], [1.0], [3.0]]), maxdim=0)
    >>> as_pairs(dg, dim=0, essential=False).tolist()
    [[0.0, 1.0], [0.0, 2.0]]
    """
    if isinstance(dgm, Diagrams):
        if dgm.n_items != 1:
            raise ValueError(f"{name}: a Diagrams with {dgm.n_items} items; pick one with dg[i]")
        if dim is None:
            raise ValueError(f"{name}: pass dim=k to choose a homology dimension of the Diagrams")
        if not 0 <= int(dim) <= dgm.maxdim:
            raise ValueError(f"dim: must be in [0, {dgm.maxdim}], got {dim}")
        arr = dgm.in_dim(int(dim)).astype(np.float64)
    else:
        try:
            arr = np.asarray(dgm, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: expected an (n, 2) array of (birth, death) pairs ({err})") from None
        if arr.size == 0:
            arr = arr.reshape(0, 2)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"{name}: expected an (n, 2) array of (birth, death) pairs, got "
                             f"shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name}: contains NaN")
    if not essential:
        arr = arr[np.isfinite(arr).all(axis=1)]
    return arr


def bottleneck(a: DiagramLike, b: DiagramLike, dim: Optional[int] = None, delta: float = 0.0,
               essential: bool = False) -> float:
    """Bottleneck distance between two diagrams.

    Parameters
    ----------
    a, b : (n, 2) arrays or single-item Diagrams
    dim : int, optional
        Homology dimension when ``a``/``b`` are :class:`cuph.Diagrams`.
    delta : float
        0 (default): exact (``gudhi.bottleneck_distance(e=0)``). ``> 0``: Hera with relative
        error at most ``delta`` (faster on large diagrams).
    essential : bool
        Keep essential (infinite) pairs.
    """
    gudhi = _optional_import("gudhi", "cuph.distances.bottleneck", "vr")
    x = as_pairs(a, dim, essential, "a")
    y = as_pairs(b, dim, essential, "b")
    if delta < 0:
        raise ValueError(f"delta: must be >= 0, got {delta}")
    if delta == 0:
        return float(gudhi.bottleneck_distance(x, y, e=0))
    from gudhi import hera

    x, y = x[x[:, 0] != x[:, 1]], y[y[:, 0] != y[:, 1]]  # Hera refuses diagonal points
    return float(hera.bottleneck_distance(x, y, delta=delta))


def wasserstein(a: DiagramLike, b: DiagramLike, dim: Optional[int] = None, order: float = 1.0,
                internal_p: float = np.inf, delta: float = 0.01, essential: bool = False) -> float:
    """q-Wasserstein distance between two diagrams.

    Parameters
    ----------
    a, b : (n, 2) arrays or single-item Diagrams
    dim : int, optional
        Homology dimension when ``a``/``b`` are :class:`cuph.Diagrams`.
    order : float
        The exponent q (``W_q``); 1 is the "earth mover's" distance.
    internal_p : float
        Ground metric between points of the plane: L^p (``inf``: the max-norm, as persim).
    delta : float
        Relative error of Hera's auction (default 0.01, gudhi's default). ``0``: exact,
        with persim's Hungarian matching (``order=1``, ``internal_p=2`` only; O(n³)).
    essential : bool
        Keep essential (infinite) pairs (Hera only).
    """
    x = as_pairs(a, dim, essential, "a")
    y = as_pairs(b, dim, essential, "b")
    if delta < 0:
        raise ValueError(f"delta: must be >= 0, got {delta}")
    if delta == 0:
        if order != 1 or internal_p != 2 or essential:
            raise ValueError("delta=0 (exact, persim) supports order=1, internal_p=2, "
                             "essential=False only; pass delta > 0 to use Hera")
        persim = _optional_import("persim", "cuph.distances.wasserstein(delta=0)", "vr")
        if len(x) == 0 and len(y) == 0:
            return 0.0
        return float(persim.wasserstein(x, y))
    _optional_import("gudhi", "cuph.distances.wasserstein", "vr")
    from gudhi import hera

    return float(hera.wasserstein_distance(x, y, order=order, internal_p=internal_p, delta=delta))


def distance_matrix(diagrams: Union[Diagrams, Sequence[DiagramLike]], dim: Optional[int] = None,
                    metric: str = "wasserstein", **kwargs: Any) -> np.ndarray:
    """Symmetric matrix of distances between all pairs of diagrams.

    ``diagrams`` is a batch :class:`cuph.Diagrams` (one diagram per item, dimension ``dim``)
    or a list of ``(n, 2)`` arrays; ``metric`` is ``"wasserstein"`` or ``"bottleneck"``;
    ``kwargs`` go to that function.

    >>> import numpy as np, cuph.vr
    >>> dg = cuph.vr.persistence(np.random.default_rng(0).random((3, 20, 2)), maxdim=1)
    >>> m = distance_matrix(dg, dim=1, metric="bottleneck")
    >>> m.shape, bool(np.all(m == m.T)), bool(np.all(np.diag(m) == 0))
    ((3, 3), True, True)
    """
    fn = _metric_fn(metric)
    if isinstance(diagrams, Diagrams):
        if dim is None:
            raise ValueError("dim: pass the homology dimension to compare")
        items = [as_pairs(d, dim, True) for d in diagrams]
    else:
        items = [as_pairs(d, None, True, f"diagrams[{i}]") for i, d in enumerate(diagrams)]
    n = len(items)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = fn(items[i], items[j], **kwargs)
    return out


def _metric_fn(metric: str) -> Callable[..., float]:
    fns = {"wasserstein": wasserstein, "bottleneck": bottleneck}
    if metric not in fns:
        raise ValueError(f"metric: must be 'wasserstein' or 'bottleneck', got {metric!r}")
    return fns[metric]


# ----------------------------------------------------------------------------- vectorisations
def _finite(dgm: DiagramLike, dim: Optional[int]) -> np.ndarray:
    return as_pairs(dgm, dim, essential=False)


def landscape(dgm: DiagramLike, dim: Optional[int] = None, num_landscapes: int = 5,
              resolution: int = 100, sample_range: Optional[Sequence[float]] = None) -> np.ndarray:
    """Persistence landscapes λ_1..λ_k sampled on a grid (``gudhi.representations.Landscape``).

    λ_k(t) is the k-th largest of ``max(0, min(t - birth, death - t))`` over the finite pairs
    (Bubenik's definition). gudhi's ``Landscape`` returns √2 times that (it works in rotated
    coordinates); cuph divides by √2 so values are in filtration units. The grid is
    ``np.linspace(sample_range[0], sample_range[1], resolution)``.

    Parameters
    ----------
    num_landscapes : int
        Number of landscape functions k.
    resolution : int
        Samples per landscape.
    sample_range : (min, max), optional
        Grid range (default: from the diagram's finite pairs). Give the same range to
        every diagram you want to compare.

    Returns
    -------
    numpy.ndarray, shape (num_landscapes, resolution)
    """
    from gudhi.representations import Landscape

    x = _finite(dgm, dim)
    if sample_range is None:
        sample_range = [np.nan, np.nan]
    if len(x) == 0:
        return np.zeros((num_landscapes, resolution))
    tf = Landscape(num_landscapes=num_landscapes, resolution=resolution,
                   sample_range=list(sample_range))
    return np.asarray(tf.fit_transform([x])[0]).reshape(num_landscapes, resolution) / np.sqrt(2.0)


def persistence_image(dgm: DiagramLike, dim: Optional[int] = None, bandwidth: float = 1.0,
                      resolution: Sequence[int] = (20, 20),
                      im_range: Optional[Sequence[float]] = None,
                      weight: Optional[Callable[[np.ndarray], float]] = None) -> np.ndarray:
    """Persistence image (``gudhi.representations.PersistenceImage``).

    Parameters
    ----------
    bandwidth : float
        Standard deviation of the Gaussian put on each point (in filtration units).
    resolution : (int, int)
        Pixels along birth and persistence.
    im_range : (xmin, xmax, ymin, ymax), optional
        Image extent in (birth, persistence) coordinates (default: from the diagram; give a
        fixed range to compare diagrams).
    weight : callable, optional
        Weight of a point ``[birth, persistence]`` (default: 1 for every point).

    Returns
    -------
    numpy.ndarray, shape resolution
    """
    from gudhi.representations import PersistenceImage

    x = _finite(dgm, dim)
    res = [int(r) for r in resolution]
    if len(x) == 0:
        return np.zeros(res)
    kwargs: dict = dict(bandwidth=bandwidth, resolution=res,
                        im_range=list(im_range) if im_range is not None else [np.nan] * 4)
    if weight is not None:
        kwargs["weight"] = weight
    tf = PersistenceImage(**kwargs)
    return np.asarray(tf.fit_transform([x])[0]).reshape(res)


def betti_curve(dgm: DiagramLike, grid: Any, dim: Optional[int] = None) -> np.ndarray:
    """β(t) = #{pairs with birth <= t < death} at each grid value (essential pairs included).

    Ours: one sort and two ``searchsorted`` calls, O((n + m) log n).
    """
    x = as_pairs(dgm, dim, essential=True)
    t = np.asarray(grid, dtype=np.float64)
    births = np.sort(x[:, 0])
    deaths = np.sort(x[:, 1])
    return (np.searchsorted(births, t, side="right") - np.searchsorted(deaths, t, side="right")
            ).astype(np.int64)


def total_persistence(dgm: DiagramLike, dim: Optional[int] = None, p: float = 1.0) -> float:
    """Σ (death - birth)^p over finite pairs.

    >>> total_persistence([[0, 1], [1, 3], [0, float("inf")]], p=2)
    5.0
    """
    x = _finite(dgm, dim)
    return float(np.sum((x[:, 1] - x[:, 0]) ** p))


def persistent_entropy(dgm: DiagramLike, dim: Optional[int] = None, normalized: bool = False) -> float:
    """Persistent entropy -Σ p_i log p_i with p_i = l_i / Σ l (natural log) over finite pairs
    with positive length l_i; ``normalized`` divides by log(n) (0 for fewer than 2 pairs).

    >>> round(persistent_entropy([[0, 1], [0, 1]]), 6)   # log 2
    0.693147
    """
    x = _finite(dgm, dim)
    ell = x[:, 1] - x[:, 0]
    ell = ell[ell > 0]
    if len(ell) == 0:
        return 0.0
    p = ell / ell.sum()
    e = float(-np.sum(p * np.log(p)))
    if normalized:
        return e / np.log(len(ell)) if len(ell) > 1 else 0.0
    return e
