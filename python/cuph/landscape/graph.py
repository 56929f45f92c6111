"""Sublevel persistence of a function sampled on the vertices of a graph, and graph builders.

The graph is a 1-complex: a vertex enters at its value, an edge at the larger of its two
endpoint values. Dimension 0 is the barcode of minima of the sampled function: every local
minimum is born at its value and dies at the lowest saddle (edge) that joins its basin to an
older one (a deeper minimum; ties by vertex index: the elder rule).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import _core
from ..diagrams import Diagrams
from ..engine import _as_array, _check_int, _check_threads, diagrams_from_core

__all__ = ["graph_persistence", "knn_graph", "grid_graph"]


def _is_sparse(x: Any) -> bool:
    return hasattr(x, "tocoo") and hasattr(x, "nnz") and hasattr(x, "shape")


def _as_edges(edges: Any, n: int) -> np.ndarray:
    """An (m, 2) int32/int64 array of vertex pairs from an array or a scipy sparse matrix."""
    if _is_sparse(edges):
        if tuple(edges.shape) != (n, n):
            raise ValueError(
                f"edges: a sparse adjacency matrix must be n x n = {n} x {n} for {n} values, "
                f"got {tuple(edges.shape)}"
            )
        coo = edges.tocoo()
        return np.stack([np.asarray(coo.row), np.asarray(coo.col)], axis=1)
    if edges is None or isinstance(edges, (str, bytes, dict, set)):
        raise TypeError(
            f"edges: expected an (m, 2) integer array or a scipy sparse matrix, got {type(edges).__name__}"
        )
    arr = np.asarray(edges)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"edges: expected integer vertex indices, got dtype {arr.dtype}; convert with "
            "edges.astype(np.int64) (values are vertex numbers, not weights)"
        )
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            f"edges: expected shape (m, 2) (one row per edge), got {arr.shape}; build it with "
            "np.column_stack([u, v])"
        )
    if arr.dtype == np.int32 or arr.dtype == np.int64:
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"edges: vertex index {int(arr.max())} is outside [0, {n}) for {n} values")
    return arr.astype(np.int64 if arr.dtype.itemsize >= 4 else np.int32)


def graph_persistence(
    values: Any,
    edges: Any,
    maxdim: int = 0,
    *,
    superlevel: bool = False,
    keep_diagonal: bool = False,
    n_threads: Optional[int] = None,
) -> Diagrams:
    """Sublevel persistence of a function on the vertices of a graph.

    A vertex enters the filtration at its value, an edge at the larger of its endpoint values.
    Dimension 0 pairs every local minimum with the saddle that merges its basin into an older
    one: union-find with the elder rule over edges sorted by entry value, exact with ties
    (vertices are ordered by ``(value, index)``; the multiset of off-diagonal pairs does not
    depend on that choice). One essential class per connected component (``death = inf``,
    ``death_index = -1``), isolated vertices included.

    Parameters
    ----------
    values : array_like
        One value per vertex (float16/32/64, integers or bool; any shape, read in C order:
        vertex ``i`` is ``values.ravel()[i]``). NaN is an error; ``+inf``/``-inf`` are allowed
        (a ``+inf`` vertex enters last, and a bar killed by it has ``death = inf`` but a
        valid ``death_index``).
    edges : array_like of int, shape (m, 2), or scipy sparse matrix
        Vertex pairs, undirected. Duplicates are harmless (for ``maxdim=1`` edges are
        deduplicated first, so ``(i, j)`` and ``(j, i)`` are one edge). Self-loops ``(i, i)``
        are ignored: a loop enters with its vertex and changes no component, and dimension 1
        ignores them too.
        A sparse ``n x n`` matrix contributes one edge per stored entry (weights and explicit
        zeros are not read: the function lives on the vertices).
    maxdim : {0, 1}
        1 adds the cycles of the graph: one essential class per edge that closes a cycle,
        born at that edge's value (a graph has no 2-cells to fill them).
    superlevel : bool
        Superlevel filtration (of ``-values``); values are reported on the original scale.
    keep_diagonal : bool
        Keep zero-length pairs (every non-minimum vertex makes one), dropped by default.
    n_threads : int, optional
        Threads for loading, ranking and sorting (``None``: the cores this process may use). The GIL is released;
        Ctrl-C interrupts.

    Returns
    -------
    Diagrams
        One item (``item = 0``), ``construction="V"``, ``item_shape = values.shape``.
        ``birth_index`` is the minimum's vertex, ``death_index`` the saddle vertex (the
        higher endpoint of the merging edge), ``-1`` for essential classes.

    Raises
    ------
    ValueError
        NaN in ``values``; an edge endpoint outside ``[0, n)``; wrong ``edges`` shape.
    TypeError
        Non-numeric ``values``; non-integer ``edges``.

    Examples
    --------
    A path 0-1-2-3-4 with two basins: the minimum 1.0 at vertex 3 dies at the saddle 2.0
    (vertex 2) when it meets the older basin of 0.0:

    >>> import numpy as np
    >>> from cuph.landscape import graph_persistence
    >>> values = np.array([3.0, 0.0, 2.0, 1.0, 4.0])
    >>> edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    >>> dg = graph_persistence(values, edges)
    >>> dg.in_dim(0).tolist()
    [[1.0, 2.0], [0.0, inf]]
    >>> dg.birth_index.tolist(), dg.death_index.tolist()
    ([3, 1], [2, -1])
    """
    arr = _as_array(values, "values")
    if arr.ndim == 0:
        raise ValueError("values: a scalar; pass one value per vertex (a 1-D array)")
    maxdim = _check_int("maxdim", maxdim)
    if maxdim not in (0, 1):
        raise ValueError(f"maxdim: must be 0 (components) or 1 (cycles) for a graph, got {maxdim}")
    n_threads = _check_threads(n_threads)
    for name, flag in (("superlevel", superlevel), ("keep_diagonal", keep_diagonal)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name}: expected a bool, got {type(flag).__name__}")
    flat = arr.reshape(-1)
    e = _as_edges(edges, flat.shape[0])
    if maxdim == 1 and len(e):
        # Cycles count edges: a repeated edge (or (j, i) beside (i, j), as in a symmetric
        # sparse matrix) would close a spurious 2-cycle, so dimension 1 sees a simple graph.
        bad = np.flatnonzero(((e < 0) | (e >= flat.shape[0])).any(axis=1))
        if len(bad):  # report the caller's row, as the core does, before rows are merged
            r = int(bad[0])
            v = int(e[r, 0]) if not 0 <= e[r, 0] < flat.shape[0] else int(e[r, 1])
            n = flat.shape[0]
            raise ValueError(f"edges: row {r} holds vertex {v}, outside [0, {n}) for {n} values; "
                             "drop or renumber that edge")
        e = np.unique(np.sort(e, axis=1), axis=0)
    raw = _core.graph_compute(flat, e, maxdim, n_threads, bool(superlevel), bool(keep_diagonal))
    return diagrams_from_core(raw, arr.dtype, (), tuple(int(s) for s in arr.shape), maxdim, "V",
                              bool(superlevel))


def grid_graph(shape: Sequence[int], *, diagonal: bool = False) -> np.ndarray:
    """Edges between neighbouring points of a grid, vertices numbered in C order.

    With ``diagonal=False`` (the default) only axis neighbours are joined, which is exactly
    the 1-skeleton of cuph's cubical ``construction="V"``: graph persistence on this graph
    equals ``cuph.persistence(x, maxdim=0)``. ``diagonal=True`` joins all ``3**d - 1``
    neighbours (8-connectivity in 2-D).

    Parameters
    ----------
    shape : sequence of int
        Grid shape (any number of axes, each >= 1).
    diagonal : bool
        Also join diagonal neighbours.

    Returns
    -------
    numpy.ndarray of int64, shape (m, 2)
        Each edge once, lower flat index first.

    Examples
    --------
    >>> from cuph.landscape import grid_graph
    >>> grid_graph((2, 3)).tolist()
    [[0, 1], [1, 2], [3, 4], [4, 5], [0, 3], [1, 4], [2, 5]]
    >>> len(grid_graph((3, 3), diagonal=True))
    20
    """
    try:
        dims = tuple(_check_int("shape", s) for s in shape)
    except TypeError:
        raise TypeError(f"shape: expected a sequence of ints, got {shape!r}") from None
    if not dims or any(s < 1 for s in dims):
        raise ValueError(f"shape: every axis needs length >= 1, got {dims}")
    index = np.arange(int(np.prod(dims)), dtype=np.int64).reshape(dims)
    offsets = []
    for off in np.ndindex(*(3,) * len(dims)):
        step = tuple(o - 1 for o in off)
        nonzero = [s for s in step if s]
        # one of each pair of opposite offsets: the first non-zero step is +1
        if not nonzero or nonzero[0] < 0 or (not diagonal and len(nonzero) > 1):
            continue
        offsets.append(step)
    parts = []
    for step in offsets:
        src = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(step, dims))
        dst = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(step, dims))
        parts.append(np.stack([index[src].ravel(), index[dst].ravel()], axis=1))
    if not parts:
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.concatenate(parts)
    return np.sort(edges, axis=1) if diagonal else edges


def knn_graph(points: Any, k: int, *, n_jobs: Optional[int] = None) -> np.ndarray:
    """Undirected k-nearest-neighbour graph of a point set (Euclidean), via scikit-learn.

    Every point is joined to its ``k`` nearest other points; the union of these directed
    links, each undirected edge once. scikit-learn picks a KD-tree, ball tree or brute force
    by size and dimension.

    Parameters
    ----------
    points : array_like, shape (n, d)
        Points, e.g. flattened parameter vectors of checkpoints.
    k : int
        Neighbours per point, ``1 <= k < n``.
    n_jobs : int, optional
        Parallel jobs for the neighbour search (``None``: all cores).

    Returns
    -------
    numpy.ndarray of int64, shape (m, 2)
        Edges ``(i, j)`` with ``i < j``, sorted, without duplicates.

    Examples
    --------
    >>> import numpy as np
    >>> from cuph.landscape import knn_graph
    >>> knn_graph(np.array([[0.0], [1.0], [3.0], [7.0]]), k=1).tolist()
    [[0, 1], [1, 2], [2, 3]]
    """
    x = np.asarray(points, dtype=np.float64) if not hasattr(points, "detach") else \
        np.asarray(points.detach().cpu(), dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"points: expected shape (n, d), got {x.shape}; reshape with points.reshape(n, -1)")
    if not np.isfinite(x).all():
        raise ValueError("points: contains NaN or inf; neighbours are undefined there (drop those rows)")
    k = _check_int("k", k)
    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k: must be in [1, n - 1] = [1, {n - 1}] for {n} points, got {k}")
    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "knn_graph needs scikit-learn: pip install scikit-learn (or pip install 'cuph[test]')"
        ) from None
    nn = NearestNeighbors(n_neighbors=k + 1, n_jobs=n_jobs if n_jobs is not None else -1).fit(x)
    nbr = nn.kneighbors(x, return_distance=False)
    src = np.repeat(np.arange(n, dtype=np.int64), k + 1)
    dst = nbr.reshape(-1).astype(np.int64)
    keep = src != dst  # the query point itself (first unless duplicates tie with it)
    lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    code = np.unique(lo * n + hi)
    return np.stack([code // n, code % n], axis=1)
