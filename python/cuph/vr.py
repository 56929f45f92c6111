"""``cuph.vr``: Vietoris–Rips persistence of point clouds (or distance matrices), batched.

* **Dimension 0 is ours**: the minimum spanning tree (a forest when ``threshold`` is finite)
  of the complete graph, by dense Prim in C++ (``cpp/include/cuph/mst.hpp``): O(n²) time,
  every pairwise distance computed exactly once in float64, clouds of a batch spread over
  threads, a single large cloud split over threads inside each Prim step.  H0 deaths are the
  MST edge lengths; this is exact for any input, duplicate points and ties included (the
  multiset of MST edge lengths does not depend on how ties are broken).
* **Dimensions >= 1 come from giotto-ph** (``gph.ripser_parallel``), which computes in float32.
  cuph computes each cloud's float64 distance matrix once (the H0 kernels, multi-threaded),
  hands giotto-ph its float32 rounding, asks for the generating edges and reports every birth
  and death as the float64 length of its edge, so a distance has one value in all dimensions.
  giotto-ph always runs on one thread: its lock-free multi-threaded reduction (0.2.4) is not
  deterministic. It records stale birth generators for 2-4% of the H1 pairs of 2000 Gaussian
  points in 512-d on 2 threads, and once in CI it returned one H1 pair fewer than on one
  thread (500 points in 512-d, under AddressSanitizer's timing), which nothing can detect
  afterwards. ``n_threads`` applies to cuph's own work (the distance matrix and H0). A cloud
  whose matrices (12 bytes per entry) exceed ``memory_limit`` goes to giotto-ph as points.
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

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from .diagrams import Diagrams
from .engine import _check_int, _check_threads

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


def _check_extent(x: np.ndarray, metric: str) -> None:
    """Distances of clouds this wide would overflow float64 (Euclidean: their squares)."""
    with np.errstate(over="ignore", invalid="ignore"):
        span = np.ptp(x, axis=1)  # (clouds, features): no distance exceeds what these give
        bound = {"euclidean": np.sum(span * span, axis=1), "manhattan": np.sum(span, axis=1),
                 "chebyshev": np.max(span, axis=1)}[metric]
    too_wide = ~(bound < 1e307)  # 18x below the largest double: room for rounding
    if too_wide.any():
        c = int(np.argmax(too_wide))
        raise ValueError(f"points: cloud {c} is too wide for float64 {metric} distances (their "
                         f"{'squares ' if metric == 'euclidean' else ''}would overflow); "
                         "rescale the coordinates, e.g. x / np.abs(x).max()")


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
        _check_extent(x, _NATIVE[metric])
        return x, batch_shape, _NATIVE[metric]
    try:
        d = pairwise_distances(x, metric)
    except ValueError as err:
        raise ValueError(f"metric: {metric!r} is not a scipy.spatial.distance metric ({err})") from None
    _check_finite(d, f"points (metric {metric!r})", "index (cloud, i, j)")
    return d, batch_shape, "precomputed"


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


def _cloud_higher(cloud: np.ndarray, d32: Optional[np.ndarray], metric: str, maxdim: int,
                  threshold: float, coeff: int, keep_diagonal: bool
                  ) -> List[Tuple[np.ndarray, ...]]:
    """Dimensions 1..maxdim of one cloud: per dimension (birth, death, birth_index, death_index).

    ``cloud`` is points (``metric`` native) or a distance matrix (``metric="precomputed"``).
    With ``d32`` (the float32 rounding of the cloud's float64 distance matrix, giotto-ph's
    working precision) giotto-ph's filtration values are exactly the float32 roundings of the
    lengths cuph reports; without it (the matrix does not fit in ``memory_limit``) giotto-ph
    computes distances itself. giotto-ph runs on one thread either way (see the module's
    docstring: its multi-threaded reduction is not deterministic).
    """
    try:
        from gph import ripser_parallel
    except ImportError:
        raise ImportError("cuph.vr.persistence with maxdim >= 1 needs giotto-ph: pip install "
                          "giotto-ph (or pip install 'cuph[vr]'); maxdim=0 works without it") from None
    given, given_metric = (cloud, metric) if d32 is None else (d32, "precomputed")
    res = ripser_parallel(given, maxdim=maxdim, thresh=threshold, coeff=coeff,
                          metric=given_metric, n_threads=1, return_generators=True)
    return _pairs_from(res, cloud, metric, maxdim, keep_diagonal)


def _pairs_from(res: dict, cloud: np.ndarray, metric: str, maxdim: int, keep_diagonal: bool
                ) -> List[Tuple[np.ndarray, ...]]:
    """Per dimension 1..maxdim, (birth, death, birth_index, death_index) from a giotto-ph
    result with generators, every value the float64 length of its generating edge."""
    n = cloud.shape[0]
    _, finite_higher, _, essential_higher = res["gens"]
    per_dim = []
    for k in range(1, maxdim + 1):
        fin = np.asarray(finite_higher[k - 1], dtype=np.int64).reshape(-1, 4)
        ess = np.asarray(essential_higher[k - 1], dtype=np.int64).reshape(-1, 2)
        birth_edges = np.concatenate([fin[:, :2], ess])
        birth = _core.vr_edge_lengths(cloud, birth_edges[:, 0], birth_edges[:, 1], metric)
        death = np.concatenate([_core.vr_edge_lengths(cloud, fin[:, 2], fin[:, 3], metric),
                                np.full(len(ess), np.inf)])
        bi = _edge_keys(birth_edges, n)
        di = np.concatenate([_edge_keys(fin[:, 2:], n), np.full(len(ess), -1, np.int64)])
        keep = np.ones(len(birth), bool) if keep_diagonal else birth != death
        order = np.lexsort((birth[keep], death[keep]))
        per_dim.append(tuple(a[keep][order] for a in (birth, death, bi, di)))
    return per_dim


def _edge_keys(edges: np.ndarray, n: int) -> np.ndarray:
    """Flat indices ``i * n + j`` (``i < j``) of edges ``(m, 2)``."""
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    return np.minimum(edges[:, 0], edges[:, 1]) * n + np.maximum(edges[:, 0], edges[:, 1])


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
        Threads (``None``: the cores this process may use) for cuph's distance matrices and
        H0. giotto-ph (dimensions >= 1) runs on one thread: its multi-threaded reduction is
        not deterministic (see the module docstring).
    distance_matrix : array_like, optional
        Instead of ``points``: symmetric, non-negative, zero-diagonal ``(n, n)`` matrices (one
        or a batch).
    keep_diagonal : bool
        Keep zero-length H0 pairs (duplicate points). giotto-ph never reports zero-length pairs
        in dimensions >= 1.
    coeff : int
        Prime field of coefficients for dimensions >= 1 (giotto-ph's ``coeff``).
    memory_limit : int
        Bytes of distance matrices cuph may hold at once (default 1 GiB). For ``maxdim=0``, a
        cloud whose float64 matrix does not fit gets O(n)-memory Prim with distances computed
        on the fly (slower for many features; same values). For ``maxdim >= 1``, a cloud whose
        float64 and float32 matrices (12 bytes per entry) do not fit goes to giotto-ph as
        points.

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
    threads = _check_threads(n_threads)
    memory_limit = _check_int("memory_limit", memory_limit)
    x, batch_shape, native = _prepare(points, distance_matrix, metric)
    n_clouds, n = x.shape[0], x.shape[1]

    if maxdim == 0:
        r0 = _core.vr_h0(x, native, threshold, threads, bool(keep_diagonal), memory_limit)
        return _assemble(r0, [[] for _ in range(n_clouds)], n_clouds, n, maxdim, batch_shape)
    # Higher dimensions, one cloud at a time. A point cloud's float64 distance matrix is
    # computed once when it and its float32 copy fit in memory_limit: it serves H0, then only
    # the float32 copy is kept for giotto-ph (lengths are recomputed from the points with the
    # same kernel, bitwise equal).
    fits = 12 * n * n <= memory_limit
    parts, higher = [], []
    for c in range(n_clouds):
        cloud = x[c]
        d64 = cloud if native == "precomputed" else (
            _core.vr_distance_matrix(cloud, native, threads) if fits else None)
        h0_in, h0_metric = (cloud, native) if d64 is None else (d64, "precomputed")
        parts.append(_core.vr_h0(h0_in[None], h0_metric, threshold, threads,
                                 bool(keep_diagonal), memory_limit))
        d32 = None if d64 is None else d64.astype(np.float32)
        del d64, h0_in
        higher.append(_cloud_higher(cloud, d32, native, maxdim, threshold, coeff,
                                    bool(keep_diagonal)))
        del d32
    r0 = _concat_h0(parts)
    return _assemble(r0, higher, n_clouds, n, maxdim, batch_shape)


def _concat_h0(parts: Sequence[dict]) -> dict:
    """One vr_h0 result from per-cloud results (one cloud each)."""
    out = {key: np.concatenate([p[key] for p in parts]) for key in
           ("birth", "death", "birth_index", "death_index")}
    sizes = [len(p["death"]) for p in parts]
    out["offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return out


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
