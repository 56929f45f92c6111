"""Type stubs for the compiled core ``cuph._core`` (see docs/INTERNALS.md for the layout)."""

from typing import Any, Dict, Optional

import numpy as np
import numpy.typing as npt

def compute(
    x: npt.NDArray[np.generic],
    maxdim: int,
    construction: str,
    batch_dims: int,
    n_threads: int,
    superlevel: bool,
    keep_diagonal: bool,
) -> Dict[str, npt.NDArray[np.generic]]:
    """Persistence pairs of every item of ``x`` as a dict of arrays: dim (int8), birth, death
    (float32 where exact for x's dtype, else float64), birth_index, death_index, offsets
    (int64), and item None (:class:`cuph.Diagrams` builds it from the offsets)."""

def result_pool(limit: Optional[int] = None) -> Dict[str, int]:
    """Counters of the pool that recycles result columns (``cpp/include/cuph/result_pool.hpp``):
    limit, cached_bytes, cached_blocks, live_bytes, live_blocks, mapped, reused, and
    item_lists_bytes (small items' pair lists kept between batches); with ``limit`` (bytes,
    >= 0) its byte limit is set first (it bounds the kept pair lists too)."""

def pooled_empty(n: int, dtype: np.dtype) -> npt.NDArray[np.generic]:
    """An uninitialised 1-D array of ``n`` elements, in a result-pool block when it is
    64 KiB or more (its memory goes back to the pool when the array dies)."""

def _portable_2d(
    x: npt.NDArray[np.generic],
    maxdim: int,
    construction: str,
    batch_dims: int,
    n_threads: int,
    superlevel: bool,
    items_per_run: int = 0,
    direct: bool = True,
    copied: bool = False,
) -> Dict[str, npt.NDArray[np.generic]]:
    """The GPU engine's 2-D kernels (cuda/cubical_2d.cuh) run by the CPU launcher: the result
    of compute() for 2-D items without keep_diagonal. ``items_per_run`` > 0 cuts the batch into
    runs of that many items (as the CUDA module cuts a batch that does not fit the device);
    ``direct``: the kernels write the result's rows in place (as for device results), else
    into arrays of the launcher that are then downloaded (as for host results); ``copied``:
    each run reads an exact-size copy of its items' bytes (x C-contiguous), as the CUDA module
    reads a host batch it uploaded. For tests on machines without a GPU."""

def _portable_nd(
    x: npt.NDArray[np.generic],
    maxdim: int,
    construction: str,
    batch_dims: int,
    n_threads: int,
    superlevel: bool,
    items_per_run: int = 0,
    direct: bool = True,
    copied: bool = False,
) -> Dict[str, npt.NDArray[np.generic]]:
    """The GPU engine's kernels for dimensions 0 and d-1 (cuda/cubical_nd.cuh) of 2-D to 4-D
    items, run by the CPU launcher: compute()'s layout, the groups of dimensions 1 .. d-2 left
    empty. ``items_per_run``, ``direct`` and ``copied`` as for
    :func:`_portable_2d`. For tests."""

def _portable_replay(
    blocks: Optional[bool] = None,
    threads: Optional[int] = None,
    max_shared: Optional[int] = None,
    sort_above: Optional[int] = None,
    forest: Optional[bool] = None,
) -> Dict[str, int]:
    """Test and benchmark switch (process-wide) of the CPU launcher's replays: 2-D: ``blocks``
    (a thread block per item and pass when its shared memory fits, else one thread), threads
    per block (1-1024), the bytes of shared memory per block (default 227 KiB, an H100's).
    ``sort_above`` (3-D/4-D items, default 1024): a pass whose largest item has more candidate
    joins is sorted by a bitonic network of launches over the batch, else by each item's
    replay thread. ``forest``: the candidate joins reduced to their minimum spanning forest
    first. Returns the settings before the call, ``block_runs`` (2-D runs that took blocks),
    ``network_sorts`` (3-D/4-D passes sorted by the network), ``candidates`` and
    ``forest_edges`` (3-D/4-D joins before and after the forest)."""

def _portable_profile(on: Optional[bool] = None) -> Dict[str, Any]:
    """Benchmark switch (process-wide) of the CPU launcher's launch profile
    (cuda/launch_profile.hpp): with it on, every launch and allocation is timed and added to
    its step's total. Returns ``{"on": bool, "steps": {step: (calls, seconds)}}`` since the
    last call (then forgotten); ``on`` switches it."""

def _portable_block(n: Optional[int] = None) -> int:
    """Test switch (process-wide): elements per block of the CPU launcher (default 4096). Small
    blocks make threads run bodies of one item at the same time, as on a GPU. Returns the
    previous setting; None only reads it."""

def _portable_betti(
    x: npt.NDArray[np.generic],
    thresholds: npt.NDArray[np.float64],
    construction: str,
    batch_dims: int,
    n_threads: int,
    items_per_run: int = 0,
    copied: bool = False,
) -> npt.NDArray[np.int64]:
    """The GPU engine's Betti kernels (cuda/betti.cuh) on the CPU launcher: (n_items, d) Betti
    numbers of {x <= eta} for 2-D and 3-D items, eta one per item; ``items_per_run`` and
    ``copied`` as for :func:`_portable_2d`. For tests without a GPU."""

def _shared_reduction_columns(n: Optional[int] = None) -> int:
    """Test switch (process-wide): how many columns the reduction of a middle dimension needs
    to run on several threads (default 512; only single items with n_threads > 1 use more
    than one). Returns the previous setting; None only reads it."""

def _verify_positive_rows(on: Optional[bool] = None) -> bool:
    """Test switch (process-wide): 3-D/4-D reductions keep the rows of the cells known to
    create a class (dimension d-2: the dual union-find's; below: apparent pairs' births, then
    always looked for) and raise RuntimeError if one of them is a pivot, instead of dropping
    them. Returns the previous setting; None only reads it."""

def betti_at(
    x: npt.NDArray[np.generic],
    thresholds: npt.NDArray[np.float64],
    construction: str,
    batch_dims: int,
    n_threads: int,
) -> npt.NDArray[np.int64]:
    """Betti numbers, shape ``(n_items, d)`` (int64), of every 1- to 3-D item's sublevel
    complex ``{x <= thresholds[item]}``."""


def graph_compute(
    values: npt.NDArray[np.generic],
    edges: npt.NDArray[np.integer],
    maxdim: int,
    n_threads: int,
    superlevel: bool,
    keep_diagonal: bool,
) -> Dict[str, npt.NDArray[np.generic]]:
    """Sublevel persistence (dims 0..maxdim <= 1) of 1-D ``values`` on the vertices of the graph
    with (m, 2) int32/int64 ``edges``; the same dict as :func:`compute` for one item."""


def vr_h0(
    x: npt.NDArray[np.float64],
    metric: str,
    threshold: float,
    n_threads: int,
    keep_diagonal: bool,
    memory_limit: int = ...,
) -> Dict[str, npt.NDArray[np.generic]]:
    """Dimension-0 Vietoris-Rips pairs (minimum spanning forest, dense Prim) of every cloud of
    ``x`` ((clouds, n, features) points, or (clouds, n, n) distance matrices with
    ``metric="precomputed"``): the same dict as :func:`compute`, with ``maxdim = 0`` offsets."""

def vr_edge_lengths(
    x: npt.NDArray[np.float64],
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    metric: str,
) -> npt.NDArray[np.float64]:
    """Lengths of the edges (u[k], v[k]) of one cloud, with the kernels of :func:`vr_h0`."""

def vr_distance_matrix(
    x: npt.NDArray[np.float64],
    metric: str,
    n_threads: int,
) -> npt.NDArray[np.float64]:
    """The (n, n) float64 distance matrix of one cloud of points, with the kernels of
    :func:`vr_h0` (tiled, on ``n_threads`` threads, GIL released)."""

def vr_lower_bounds(x: npt.NDArray[np.float64]) -> Optional[npt.NDArray[np.float32]]:
    """The float32 lower bounds of the squared Euclidean distances of one cloud with which
    :func:`vr_h0` skips exact evaluations (``None`` where that filter does not apply: no AVX2,
    fewer than 16 coordinates, norms out of float32 range). For tests."""
