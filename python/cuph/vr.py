"""``cuph.vr``: Vietoris–Rips persistence of point clouds (or distance matrices), batched.

* **Dimension 0 is ours**: the minimum spanning tree (a forest when ``threshold`` is finite)
  of the complete graph, by dense Prim in C++ (``cpp/include/cuph/mst.hpp``): O(n²) time,
  every pairwise distance computed exactly once in float64, clouds of a batch spread over
  threads, a single large cloud split over threads inside each Prim step.  H0 deaths are the
  MST edge lengths; this is exact for any input, duplicate points and ties included (the
  multiset of MST edge lengths does not depend on how ties are broken).
* **Dimensions >= 1 come from giotto-ph** (``gph.ripser_parallel``), which computes in float32.
  cuph asks it for the generating edges and recomputes every birth and death in float64 from
  those edges with the same kernels as H0, so a distance has one value in all dimensions.
  giotto-ph runs single-threaded here (its generators are wrong for some births with several
  threads, giotto-ph 0.2.4), concurrently with our multi-threaded H0; a batch of clouds is
  processed one cloud at a time.
  (Pairs whose float64 lengths differ by less than float32 resolution may be missing, as
  giotto-ph drops pairs that are zero-length in float32.)

Index convention (``birth_index`` / ``death_index``)
----------------------------------------------------
``item_shape`` is ``(n, n)``: indices are flat C-order indices ``i * n + j`` into the n×n
distance matrix of one cloud; :meth:`cuph.Diagrams.unravel` gives ``(i, j)``.

* H0: ``birth_index = v * n + v`` for the vertex ``v`` whose class dies (the vertex that joined
  the tree through the edge), ``death_index = i * n + j`` (``i < j``) for the MST edge that
  kills it.  The essential class of each connected component has ``birth_index = r * n + r`` for
  its first vertex ``r`` and ``death_index = -1``.
* H≥1: ``birth_index`` / ``death_index`` are the edges ``i * n + j`` (``i < j``) whose lengths
  are the birth / death (giotto-ph's generators); ``death_index = -1`` for essential classes.

Examples
--------
>>> import numpy as np, cuph.vr
>>> square = np.array([[0., 0], [1, 0], [1, 1], [0, 1]])
>>> dg = cuph.vr.persistence(square, maxdim=1)
>>> dg.in_dim(0).tolist()
[[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, inf]]
>>> dg.in_dim(1).round(6).tolist()
[[1.0, 1.414214]]
>>> [int(v[0]) for v in dg.unravel(dg.death_index[dg.dim == 1])]  # a diagonal kills the loop
[1, 3]
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from .diagrams import Diagrams
from .engine import _check_int

__all__ = ["persistence", "h0", "as_clouds", "pairwise_distances", "mst_edges"]

# Metrics computed on the fly in C++; others go through scipy (a precomputed matrix).
_NATIVE = {"euclidean": "euclidean", "l2": "euclidean", "manhattan": "manhattan",
           "cityblock": "manhattan", "l1": "manhattan", "chebyshev": "chebyshev"}
_DEFAULT_MEMORY = 1 << 30


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach") and callable(x.detach):  # torch tensors
        x = x.detach().cpu().numpy()
    if x is None or isinstance(x, (str, bytes, dict, set)) or np.isscalar(x):
        raise TypeError(f"{name}: expected an array of shape (points, features) or a batch of "
                        f"such arrays, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name}: cannot be read as an array ({err}); clouds of a batch "
                         "must all have the same shape") from None
    if arr.dtype == object:
        raise ValueError(f"{name}: ragged input (rows or clouds of different lengths); give one "
                         "(points, features) array per cloud, all clouds of a batch with the "
                         "same shape")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: unsupported dtype {arr.dtype}; use real numbers "
                        "(x.astype(np.float64))")
    return arr


def as_clouds(x: Any, name: str = "points") -> Tuple[np.ndarray, Tuple[int, ...]]:
    """A batch of clouds as one C-contiguous float64 array ``(clouds, n, features)``.

    ``x`` is one cloud ``(n, features)``, a batch ``(clouds, n, features)``, or a list of
    clouds of the same shape.  Returns the array and the batch shape (``()`` for one cloud).

    >>> import numpy as np
    >>> a, batch_shape = as_clouds([np.zeros((5, 3)), np.ones((5, 3))])
    >>> a.shape, batch_shape
    ((2, 5, 3), (2,))
    """
    if isinstance(x, (list, tuple)) and len(x) > 0 and not np.isscalar(x[0]) and \
            not isinstance(x[0], (list, tuple)):
        parts = [_to_numpy(c, f"{name}[{i}]") for i, c in enumerate(x)]
        shapes = [p.shape for p in parts]
        if len(set(shapes)) != 1:
            sizes = sorted({s[0] if len(s) else 0 for s in shapes})
            raise ValueError(
                f"{name}: the clouds have different shapes {sorted(set(shapes))} (point counts "
                f"{sizes}); compute them in separate calls, or subsample to an equal number of "
                "points (cuph.represent.subsample) — comparisons need equal N")
        arr = np.stack(parts)
        batch_shape: Tuple[int, ...] = (len(parts),)
    else:
        arr = _to_numpy(x, name)
        if arr.ndim == 2:
            batch_shape = ()
        elif arr.ndim == 3:
            batch_shape = (arr.shape[0],)
        else:
            raise ValueError(f"{name}: expected shape (points, features) or (clouds, points, "
                             f"features), got {arr.shape}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"{name}: each cloud must be a 2-D (points, features) array, got "
                         f"{arr.shape[1:]}")
    return np.ascontiguousarray(arr, dtype=np.float64), batch_shape


def _check_finite(a: np.ndarray, name: str, what: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(a[pos]) else "inf"
        raise ValueError(f"{name}: contains {kind} at {what} {pos}; remove or replace those "
                         "points (e.g. drop rows with ~np.isfinite(x).all(axis=-1))")


def _check_distance_matrices(d: np.ndarray, name: str) -> None:
    if d.shape[1] != d.shape[2]:
        raise ValueError(f"{name}: a distance matrix must be square, got shape {d.shape[1:]} "
                         "(pass point coordinates as `points` instead)")
    _check_finite(d, name, "index (cloud, i, j)")
    neg = d < 0
    if neg.any():
        c, i, j = (int(v) for v in np.argwhere(neg)[0])
        raise ValueError(f"{name}: negative distance {float(d[c, i, j])!r} at (cloud, i, j) = "
                         f"({c}, {i}, {j}); distances must be >= 0")
    diag = np.diagonal(d, axis1=1, axis2=2)
    if (diag != 0).any():
        c, i = (int(v) for v in np.argwhere(diag != 0)[0])
        raise ValueError(f"{name}: the diagonal must be zero, got {float(diag[c, i])!r} at (cloud, i, i) "
                         f"= ({c}, {i}, {i}); vertex weights are not supported")
    asym = d != np.swapaxes(d, 1, 2)
    if asym.any():
        c, i, j = (int(v) for v in np.argwhere(asym)[0])
        raise ValueError(f"{name}: not symmetric: d[{i}, {j}] = {float(d[c, i, j])!r} but "
                         f"d[{j}, {i}] = {float(d[c, j, i])!r} (cloud {c}); symmetrise it, e.g. "
                         "np.maximum(d, d.T) or (d + d.T) / 2")


def pairwise_distances(points: np.ndarray, metric: str) -> np.ndarray:
    """Distance matrices ``(clouds, n, n)`` of ``(clouds, n, features)`` with scipy's ``pdist``."""
    from scipy.spatial.distance import pdist, squareform

    return np.stack([squareform(pdist(c, metric=metric)) for c in points])


def _prepare(points: Any, distance_matrix: Any, metric: str
             ) -> Tuple[np.ndarray, Tuple[int, ...], str]:
    """(array, batch_shape, native metric) after validation."""
    if (points is None) == (distance_matrix is None):
        raise TypeError("persistence: give either points or distance_matrix (exactly one)")
    if not isinstance(metric, str):
        raise TypeError(f"metric: expected a string, got {type(metric).__name__}")
    if distance_matrix is not None or metric == "precomputed":
        name = "distance_matrix" if distance_matrix is not None else "points"
        d, batch_shape = as_clouds(distance_matrix if distance_matrix is not None else points, name)
        _check_distance_matrices(d, name)
        if d.shape[1] < 2:
            raise ValueError(f"{name}: a cloud needs at least 2 points, got {d.shape[1]}")
        return d, batch_shape, "precomputed"
    x, batch_shape = as_clouds(points, "points")
    if x.shape[1] < 2:
        raise ValueError(f"points: a cloud needs at least 2 points, got {x.shape[1]}")
    if x.shape[2] < 1:
        raise ValueError("points: the points have no features (shape (n, 0))")
    _check_finite(x, "points", "index (cloud, point, feature)")
    if metric in _NATIVE:
        return x, batch_shape, _NATIVE[metric]
    try:
        d = pairwise_distances(x, metric)
    except ValueError as err:
        raise ValueError(f"metric: {metric!r} is not a scipy.spatial.distance metric ({err})") from None
    _check_finite(d, f"points (metric {metric!r})", "index (cloud, i, j)")
    return d, batch_shape, "precomputed"


def _threads(n_threads: Optional[int]) -> int:
    if n_threads is None:
        return os.cpu_count() or 1
    n_threads = _check_int("n_threads", n_threads)
    if n_threads < 1:
        raise ValueError(f"n_threads: must be >= 1 (or None for all cores), got {n_threads}")
    return n_threads


def _check_threshold(threshold: Any) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise TypeError(f"threshold: expected a number, got {type(threshold).__name__}") from None
    if not t >= 0:
        raise ValueError(f"threshold: must be >= 0 (np.inf for the full filtration), got {threshold!r}")
    return t


def h0(points: Any = None, metric: str = "euclidean", threshold: float = np.inf,
       n_threads: Optional[int] = None, *, distance_matrix: Any = None,
       keep_diagonal: bool = False, memory_limit: int = _DEFAULT_MEMORY) -> Diagrams:
    """Dimension 0 only (no giotto-ph needed): ``persistence(..., maxdim=0)``.

    >>> import numpy as np
    >>> h0(np.array([[0.0], [1.0], [3.0]])).in_dim(0).tolist()
    [[0.0, 1.0], [0.0, 2.0], [0.0, inf]]
    """
    return persistence(points, maxdim=0, metric=metric, threshold=threshold, n_threads=n_threads,
                       distance_matrix=distance_matrix, keep_diagonal=keep_diagonal,
                       memory_limit=memory_limit)


def _higher(x: np.ndarray, metric: str, maxdim: int, threshold: float, coeff: int,
            n_threads: int, keep_diagonal: bool) -> List[List[Tuple[np.ndarray, ...]]]:
    """Per cloud, per dimension 1..maxdim: (birth, death, birth_index, death_index)."""
    try:
        from gph import ripser_parallel
    except ImportError:
        raise ImportError("cuph.vr.persistence with maxdim >= 1 needs giotto-ph: pip install "
                          "giotto-ph (or pip install 'cuph[vr]'); maxdim=0 works without it") from None
    out = []
    n = x.shape[1]
    for c in range(x.shape[0]):
        cloud = x[c]
        # n_threads=1: with more threads, giotto-ph 0.2.4 returns wrong birth edges for some
        # H>=1 generators (about 1% of H1 pairs of 500 Gaussian points in 512-d; the diagram
        # values themselves are right). Our H0 runs on the other cores meanwhile.
        res = ripser_parallel(cloud, maxdim=maxdim, thresh=threshold, coeff=coeff,
                              metric=metric, n_threads=1, return_generators=True)
        _, finite_higher, _, essential_higher = res["gens"]
        per_dim = []
        for k in range(1, maxdim + 1):
            fin = np.asarray(finite_higher[k - 1], dtype=np.int64).reshape(-1, 4)
            ess = np.asarray(essential_higher[k - 1], dtype=np.int64).reshape(-1, 2)
            b_u = np.concatenate([fin[:, 0], ess[:, 0]])
            b_v = np.concatenate([fin[:, 1], ess[:, 1]])
            birth = _core.vr_edge_lengths(cloud, b_u, b_v, metric)
            death = np.concatenate([_core.vr_edge_lengths(cloud, fin[:, 2], fin[:, 3], metric),
                                    np.full(len(ess), np.inf)])
            bi = np.minimum(b_u, b_v) * n + np.maximum(b_u, b_v)
            di = np.concatenate([np.minimum(fin[:, 2], fin[:, 3]) * n + np.maximum(fin[:, 2], fin[:, 3]),
                                 np.full(len(ess), -1, np.int64)])
            keep = np.ones(len(birth), bool) if keep_diagonal else birth != death
            order = np.lexsort((birth[keep], death[keep]))
            per_dim.append(tuple(a[keep][order] for a in (birth, death, bi, di)))
        out.append(per_dim)
    return out


def persistence(
    points: Any = None,
    maxdim: int = 1,
    metric: str = "euclidean",
    threshold: float = np.inf,
    n_threads: Optional[int] = None,
    *,
    distance_matrix: Any = None,
    keep_diagonal: bool = False,
    coeff: int = 2,
    memory_limit: int = _DEFAULT_MEMORY,
) -> Diagrams:
    """Vietoris–Rips persistence diagrams of one or many point clouds.

    Parameters
    ----------
    points : array_like, optional
        One cloud ``(n, features)``, a batch ``(clouds, n, features)`` or a list of clouds
        of the same shape (numpy, torch, nested lists). With ``metric="precomputed"`` these
        are distance matrices.
    maxdim : int
        Highest homology dimension (0 needs no giotto-ph).
    metric : str
        ``"euclidean"`` (default; also ``"l2"``), ``"manhattan"`` (``"cityblock"``, ``"l1"``),
        ``"chebyshev"``: computed on the fly in float64 by cuph; any other
        ``scipy.spatial.distance`` metric (``"cosine"``, ``"correlation"``, ...) goes through
        an n×n matrix from ``scipy.spatial.distance.pdist``; ``"precomputed"``: ``points`` are
        distance matrices.
    threshold : float
        Largest edge length in the complex (edges longer than it do not exist): every
        connected component then has an essential H0 class, and classes alive at
        ``threshold`` are essential.
    n_threads : int, optional
        Threads (``None``: all cores) for our H0 and for giotto-ph.
    distance_matrix : array_like, optional
        Instead of ``points``: symmetric, non-negative, zero-diagonal ``(n, n)`` matrices (one
        or a batch).
    keep_diagonal : bool
        Keep zero-length H0 pairs (duplicate points). giotto-ph never reports zero-length pairs
        in dimensions >= 1.
    coeff : int
        Prime field of coefficients for dimensions >= 1 (giotto-ph's ``coeff``).
    memory_limit : int
        Bytes of float64 distance matrices the H0 workers may hold at once (default 1 GiB);
        a cloud whose matrix does not fit gets O(n)-memory Prim with distances computed on the
        fly (slower for many features; same values).

    Returns
    -------
    Diagrams
        ``construction="VR"``, ``item_shape=(n, n)``, ``batch_shape`` ``()`` for one cloud or
        ``(clouds,)``; births/deaths are distances (float64), ``item`` is the cloud index; see
        the module docstring for ``birth_index`` / ``death_index``.

    Raises
    ------
    ValueError
        NaN/inf coordinates, fewer than 2 points, clouds of different shapes in one batch, a
        non-square, asymmetric, negative or non-zero-diagonal distance matrix.

    Examples
    --------
    >>> import numpy as np, cuph.vr
    >>> theta = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    >>> circles = np.stack([np.c_[np.cos(theta), np.sin(theta)] * r for r in (1.0, 2.0)])
    >>> dg = cuph.vr.persistence(circles, maxdim=1)
    >>> dg.batch_shape, [len(d.in_dim(1)) for d in dg]   # one loop per circle
    ((2,), [1, 1])
    >>> [round(float(d.in_dim(1)[0, 1]), 3) for d in dg]  # dies when the circle fills in
    [1.732, 3.464]
    """
    maxdim = _check_int("maxdim", maxdim)
    if maxdim < 0:
        raise ValueError(f"maxdim: must be >= 0, got {maxdim}")
    coeff = _check_int("coeff", coeff)
    threshold = _check_threshold(threshold)
    threads = _threads(n_threads)
    memory_limit = _check_int("memory_limit", memory_limit)
    x, batch_shape, native = _prepare(points, distance_matrix, metric)
    n_clouds, n = x.shape[0], x.shape[1]

    def run_h0() -> dict:
        return _core.vr_h0(x, native, threshold, threads, bool(keep_diagonal), memory_limit)

    if maxdim == 0:
        r0 = run_h0()
        higher: List[List[Tuple[np.ndarray, ...]]] = [[] for _ in range(n_clouds)]
    else:
        # Our H0 runs (GIL released) while giotto-ph computes the higher dimensions.
        with ThreadPoolExecutor(max_workers=1) as pool:
            fut = pool.submit(run_h0)
            higher = _higher(x, native, maxdim, threshold, coeff, threads, bool(keep_diagonal))
            r0 = fut.result()
    return _assemble(r0, higher, n_clouds, n, maxdim, batch_shape)


def _assemble(r0: dict, higher: Sequence[Sequence[Tuple[np.ndarray, ...]]], n_clouds: int,
              n: int, maxdim: int, batch_shape: Tuple[int, ...]) -> Diagrams:
    off0 = np.asarray(r0["offsets"])
    cols: List[List[np.ndarray]] = [[], [], [], [], [], []]  # dim, b, d, bi, di, item
    offsets = [0]
    for c in range(n_clouds):
        lo, hi = int(off0[c]), int(off0[c + 1])
        groups = [(r0["birth"][lo:hi], r0["death"][lo:hi], r0["birth_index"][lo:hi],
                   r0["death_index"][lo:hi])]
        groups += list(higher[c])
        for k, (b, d, bi, di) in enumerate(groups):
            m = len(b)
            cols[0].append(np.full(m, k, np.int8))
            cols[1].append(np.asarray(b, np.float64))
            cols[2].append(np.asarray(d, np.float64))
            cols[3].append(np.asarray(bi, np.int64))
            cols[4].append(np.asarray(di, np.int64))
            cols[5].append(np.full(m, c, np.int64))
            offsets.append(offsets[-1] + m)
    cat = [np.concatenate(col) if col else np.zeros(0) for col in cols]
    return Diagrams(dim=cat[0].astype(np.int8), birth=cat[1].astype(np.float64),
                    death=cat[2].astype(np.float64), birth_index=cat[3].astype(np.int64),
                    death_index=cat[4].astype(np.int64), item=cat[5].astype(np.int64),
                    offsets=np.asarray(offsets, np.int64), batch_shape=batch_shape,
                    item_shape=(n, n), maxdim=maxdim, construction="VR", superlevel=False)


def mst_edges(dg: Diagrams) -> np.ndarray:
    """The MST (forest) edges ``(i, j, length)`` of each cloud from the H0 death indices.

    Returns an array ``(edges, 4)``: ``[cloud, i, j, length]`` (zero-length edges only with
    ``keep_diagonal=True``).

    >>> import numpy as np
    >>> mst_edges(h0(np.array([[0.0], [1.0], [3.0]]))).tolist()
    [[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 2.0, 2.0]]
    """
    if dg.construction != "VR":
        raise ValueError("dg: expected Vietoris-Rips diagrams (construction 'VR')")
    sel = (dg.dim == 0) & (dg.death_index >= 0)
    i, j = np.unravel_index(dg.death_index[sel], dg.item_shape)
    return np.column_stack([dg.item[sel], i, j, dg.death[sel]]).astype(np.float64)
