"""How much memory a :func:`cuph.persistence` call needs, and the ``max_memory`` limit.

The model follows what the C++ core allocates (``cpp/include/cuph/``), per item:

* a **floor** that every input needs whatever its values, derived from the arrays of the
  code: 8-byte keys per generator (``load_keys``), then either packed 8-byte keys on the padded
  grid plus the union-find parents (``pack_keys``, ``PassState``), or a radix sort (keys,
  order, two buffers) followed by 4-byte ranks on the padded grid, the parents and the
  clearing bitsets (``rank_keys``, ``Bitset``);
* a **typical** figure, which adds what depends on the values (union-find ages, critical
  joins and their sort, cohomology columns, the pairs themselves). It is calibrated on
  uniform white noise, the heaviest common input: smooth fields (images, activations, loss
  grids) need 25-60% of it, because their union-find ages are barely touched and almost no
  column needs reducing.

Items of a batch run concurrently on ``n_threads`` workers, so the peak is the working set
of one item times the items in flight plus the assembly of all pairs into one result (8
bytes per pair per item, 33 in the assembled arrays, 8 fewer with float32 values; the
``item`` column is built by :class:`cuph.Diagrams` only when read): the workers' heaps keep
their last working sets while the pairs are assembled. Batches of small items (at most 2^16
values each, 2^24 in all) also keep each pair's two values with it until then (``batch.hpp``,
``kKeepValues``): 8 bytes per pair, 16 with float64 values.
"""

from __future__ import annotations

import math
import operator
import os
import re
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ["estimate_memory", "available_memory", "default_limit", "parse_max_memory",
           "items_per_chunk", "result_cache",
           "check_cell_count", "cell_count"]

# Peak bytes per generator of one white-noise item (uniform in [0, 1)), measured as peak RSS
# growth of single-item calls (1-D 2^22, 2-D 1024^2, 3-D 64^3-112^3, 4-D 24^4; glibc), by
# (item dimension, construction, maxdim). Float32 inputs. 3-D maxdim 2 (since its reduction
# drops the rows of positive faces): V 32.2-32.5 bytes per voxel at 64^3, 96^3 and 112^3,
# T 38.4 at 64^3 and 35.2 at 96^3; the 96^3 values are kept. 4-D maxdim >= 1 remeasured since
# dimension 1 drops the rows of dimension 2's apparent births (V 107-116 -> 66-70 per
# generator at 24^4, T 62-86 -> 51-61, each including 12.6 of program caches and overhead).
_NOISE_BYTES_PER_GENERATOR = {
    (1, "V", 0): 45.3, (1, "T", 0): 45.3,
    (2, "V", 0): 20.9, (2, "T", 0): 19.2, (2, "V", 1): 26.5, (2, "T", 1): 26.5,
    (3, "V", 0): 40.4, (3, "V", 1): 33.1, (3, "V", 2): 32.2,
    (3, "T", 0): 31.7, (3, "T", 1): 31.7, (3, "T", 2): 35.2,
    (4, "V", 0): 38.4, (4, "V", 1): 53.3, (4, "V", 2): 57.8, (4, "V", 3): 57.5,
    (4, "T", 0): 29.2, (4, "T", 1): 38.0, (4, "T", 2): 42.0, (4, "T", 3): 47.9,
}
# 8-byte values of white noise span more than 2^32 keys: 1-D items (and maxdim 0) are ranked
# by a sort instead of packed, whose 4-byte ranks make the union-find lighter; 2-D items
# (rectangle.hpp, pixel nodes) keep 64-bit values instead. 2-D remeasured at 1024^2 and 1536^2
# after the pixel sweep replaced the cell sweep; float32 maxdim 1 varies from 24.4 to 29.0 with
# the size and the run (vector growth steps).
_NOISE_BYTES_PER_GENERATOR_WIDE = {
    (1, "V", 0): 40.0, (1, "T", 0): 40.0,
    (2, "V", 0): 26.4, (2, "T", 0): 24.9, (2, "V", 1): 35.5, (2, "T", 1): 35.5,
    (3, "V", 0): 34.7, (3, "T", 0): 31.7,
}
# Off-diagonal pairs per generator of white noise, by dimension (same measurements).
_NOISE_PAIRS_PER_GENERATOR = {
    (1, "V"): (0.333,), (1, "T"): (0.333,),
    (2, "V"): (0.200, 0.111), (2, "T"): (0.112, 0.199),
    (3, "V"): (0.145, 0.183, 0.034), (3, "T"): (0.039, 0.181, 0.132),
    (4, "V"): (0.116, 0.229, 0.117, 0.009), (4, "T"): (0.015, 0.122, 0.188, 0.078),
}
_ITEM_PAIR_BYTES = 8  # an item's pairs before assembly: two 32-bit flat indices
# Batches of small items keep each pair's values with it (cpp/include/cuph/batch.hpp):
_SMALL_ITEM = 1 << 16  # kSmallItem, values per item
_KEEP_VALUES = 1 << 24  # kKeepValues, values per batch
_BATCH_PAIR_BYTES = 33  # BatchResult: int8 dim, two float64 values, two int64 indices (no item)
_CALL_OVERHEAD = 1 << 20  # thread stacks touched, small tables
# Per worker thread in 3-D/4-D: the union-find program caches (two passes; 2^11 slots of 184
# bytes in 3-D, 2^12 of 384 in 4-D).
_PROGRAM_CACHE_BYTES = {1: 0, 2: 0, 3: 2 * 2048 * 184, 4: 2 * 4096 * 384}
_STAR_CELLS = {1: (1, 2), 2: (1, 4, 4), 3: (1, 6, 12, 8), 4: (1, 8, 24, 32, 16)}
# One 3-D/4-D item split over n threads (its sweeps' ranges, both replays at once, and the
# reduction's shared pivot map and per-thread column stores) needs more, about this many bytes
# per generator times log2(n), bounding white noise measured with 2 and 4 threads: 3-D
# 96^3 and 128^3, V +8.6..8.8 and +15.4..17.3 bytes per voxel over one thread, T +5.5..6.9 and
# +10.4..13.6; 4-D 24^4, V +17.8 and +60, T +8.4 and +40.
_SPLIT_BYTES_PER_GENERATOR = {3: 9.0, 4: 20.0}

_INT64_MAX = 2**63 - 1


def cell_count(item_shape: Sequence[int], construction: str) -> int:
    """Number of cells of one item's cubical complex (an exact Python int).

    V: ``prod(2 n_i - 1)`` (the vertices are the values); T: ``prod(2 n_i + 1)``.

    >>> cell_count((3, 3), "V"), cell_count((3, 3), "T")
    (25, 49)
    """
    extent = (lambda n: 2 * n - 1) if construction == "V" else (lambda n: 2 * n + 1)
    return math.prod(extent(int(n)) for n in item_shape)


def check_cell_count(batch_shape: Sequence[int], item_shape: Sequence[int], construction: str,
                     name: str = "x") -> None:
    """Refuse shapes whose cells (per item, or over the batch) do not fit 64-bit indices."""
    cells = cell_count(item_shape, construction)
    total = cells * math.prod(int(n) for n in batch_shape)
    if total > _INT64_MAX:
        raise ValueError(
            f"{name}: shape {tuple(batch_shape) + tuple(item_shape)} has {cells} cells per item "
            f"({total} in all), which overflows 64-bit cell indices; pass a smaller array"
        )


def _floor_bytes(item_shape: Sequence[int], itemsize: int, construction: str, maxdim: int) -> int:
    """Bytes one item needs whatever its values (the arrays the core always allocates)."""
    d = len(item_shape)
    n = math.prod(int(s) for s in item_shape)
    padded = math.prod(int(s) + 2 for s in item_shape)
    top = d >= 2 and maxdim >= d - 1
    parents = 4 * padded * (1 + top)
    if d == 2:  # rectangle.hpp: keys and values (64-bit for 8-byte dtypes), then values, parents
        value_bytes = 8 if itemsize == 8 else 4
        return max(8 * n + value_bytes * padded, value_bytes * padded + parents)
    if d <= 2 or maxdim == 0:  # pack_keys: keys and packed keys, then packed keys and parents
        return max(8 * n + 8 * padded, 8 * padded + parents)
    # rank_keys (narrow keys: keys, order, 32-bit copy; then order, copy and two buffers),
    # then order, ranks, parents, one clearing bitset per computed middle dimension and, with
    # the top dimension, the positive (d-1)-cells (d bits per generator); below dimension d-2,
    # the births of zero-length pairs (C(d, k + 1) bits per generator).
    bitsets = sum(padded * _STAR_CELLS[d][k] // 8 for k in range(1, min(maxdim, d - 2) + 2))
    bitsets += padded * d // 8 if top else 0
    bitsets += sum(padded * math.comb(d, k + 1) // 8 for k in range(1, min(maxdim, d - 3) + 1))
    return max(16 * n, 4 * n + 4 * padded + parents + bitsets)


def _item_bytes(item_shape: Sequence[int], itemsize: int, construction: str, maxdim: int,
                typical: bool) -> Tuple[int, int]:
    """(working bytes, off-diagonal pairs) of one item: typical (white noise) or the floor."""
    d = len(item_shape)
    n = math.prod(int(s) for s in item_shape)
    floor = _floor_bytes(item_shape, itemsize, construction, maxdim)
    if not typical:
        return floor, 0
    key = (d, construction, maxdim)
    if itemsize == 8 and key in _NOISE_BYTES_PER_GENERATOR_WIDE:
        noise = _NOISE_BYTES_PER_GENERATOR_WIDE[key] * n
    else:
        noise = _NOISE_BYTES_PER_GENERATOR[key] * n
    pairs = sum(_NOISE_PAIRS_PER_GENERATOR[(d, construction)][: maxdim + 1]) * n
    return int(max(floor, noise)), int(pairs) + 1  # + the essential class of the box


def _estimate(batch_shape: Sequence[int], item_shape: Sequence[int], dtype: np.dtype,
              construction: str, maxdim: int, n_threads: int, typical: bool = True) -> int:
    """Peak bytes of one core call on a batch (validated arguments)."""
    d = len(item_shape)
    items = math.prod(int(s) for s in batch_shape)
    if items == 0:
        return 0
    work, pairs = _item_bytes(item_shape, dtype.itemsize, construction, maxdim, typical)
    in_flight = min(n_threads, items)
    per_pair = _ITEM_PAIR_BYTES + _BATCH_PAIR_BYTES
    single = dtype.itemsize <= 2 or (dtype.kind == "f" and dtype.itemsize == 4)
    if single:
        per_pair -= 8  # birth and death are written as float32 (output_dtype)
    size = math.prod(int(s) for s in item_shape)
    if size <= _SMALL_ITEM and items * size <= _KEEP_VALUES:
        per_pair += 8 if single else 16  # the values kept beside an item's pairs
    if items == 1:  # the working arrays are gone before the pairs are assembled
        if typical and n_threads > 1 and d >= 3 and maxdim >= 1:  # not in the floor
            work += int(_SPLIT_BYTES_PER_GENERATOR[d] * math.log2(n_threads) * size)
        peak = max(work, pairs * per_pair)
    else:  # the workers' heaps keep their last working sets while the pairs are assembled
        peak = in_flight * work + items * pairs * per_pair
    return int(peak + n_threads * _PROGRAM_CACHE_BYTES[d] + _CALL_OVERHEAD)


def items_per_chunk(batch_shape: Sequence[int], item_shape: Sequence[int], dtype: np.dtype,
                    construction: str, maxdim: int, n_threads: int,
                    limit: Optional[int]) -> int:
    """How many items one core call may take under ``limit`` bytes (None: the default limit,
    half the available memory; no limit if that is unknown).

    The pairs of finished chunks stay in memory (and are copied once when concatenated), so
    they are reserved before sizing a chunk. One item per call is the least: it is refused
    only if its floor, what any values need, exceeds the limit.
    """
    items = math.prod(int(s) for s in batch_shape)
    def peak(k: int, typical: bool = True) -> int:
        return _estimate((k,), item_shape, dtype, construction, maxdim, n_threads, typical)
    whole = peak(items)
    if limit is None:
        # Small calls (the common case in training loops) skip reading /proc/meminfo.
        limit = None if whole <= _ALWAYS_AVAILABLE else default_limit()
    if limit is None or whole <= limit:
        return max(items, 1)
    floor = peak(1, typical=False)
    if floor > limit:
        raise MemoryError(
            f"x: one item of shape {tuple(item_shape)} needs at least {format_bytes(floor)}"
            f" (about {format_bytes(peak(1))} for white noise), more than "
            f"max_memory={format_bytes(limit)}; pass a larger max_memory= (bytes or e.g. '16GB')"
            " or a smaller item"
        )
    pairs = _item_bytes(item_shape, dtype.itemsize, construction, maxdim, True)[1]
    budget = limit - 2 * items * pairs * _BATCH_PAIR_BYTES
    lo, hi = 1, items  # the largest k with peak(k) <= budget (peak grows with k)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if peak(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def estimate_memory(
    shape: Sequence[int],
    dtype: Any = np.float64,
    construction: str = "V",
    maxdim: Optional[int] = None,
    batch_dims: int = 0,
    n_threads: Optional[int] = None,
) -> int:
    """Peak memory, in bytes, that ``cuph.persistence`` needs for an input of this shape.

    An estimate for typical inputs, calibrated on uniform white noise (the heaviest common
    case): within 20% of the measured peak resident-memory growth on it for 2-D and 3-D
    items and batches (tests/test_memory.py). Smooth inputs (images, activation maps, loss
    grids) need a quarter of it or less, so for them it is an upper bound. 4-D items with
    ``maxdim >= 1`` depend most on the values and on the size: white noise there is
    dominated by the cohomology columns (about 250-570 bytes per value, calibrated at 24^4;
    at 28^4 V is within 1% but T needs 25% more than estimated), smooth 4-D fields need
    about 5% of it.

    ``cuph.persistence(max_memory=...)`` sizes its chunks with this estimate, and refuses an
    item only when even the floor that any values need (the arrays the core always
    allocates) exceeds the limit.

    Parameters
    ----------
    shape : sequence of int
        Shape of the input array (batch axes, then 1 to 4 item axes).
    dtype : numpy dtype-like
        Its dtype (float16/32/64, integers, bool).
    construction, maxdim, batch_dims, n_threads
        As for :func:`cuph.persistence`.

    Returns
    -------
    int
        Bytes, including the result.

    Examples
    --------
    >>> import cuph
    >>> cuph.estimate_memory((2048, 2048), "float32") // 2**20
    107
    >>> cuph.estimate_memory((64, 28, 28), "uint8", batch_dims=1, n_threads=4) // 2**20
    1
    """
    from .engine import _check_options

    shape = _check_shape(shape)
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype: not a numpy dtype ({err}); pass e.g. np.float32") from None
    if dt.kind not in "biuf" or (dt.kind == "f" and dt.itemsize > 8):
        raise TypeError(f"dtype: unsupported dtype {dt}; cuph reads float16/32/64, integers "
                        "and bool")
    if construction not in ("V", "T"):
        raise ValueError(f"construction: must be 'V' (vertices) or 'T' (top cells), got "
                         f"{construction!r}")
    batch_dims, maxdim, n_threads = _check_options(len(shape), shape, batch_dims, maxdim,
                                                   n_threads, name="shape")
    batch_shape, item_shape = shape[:batch_dims], shape[batch_dims:]
    check_cell_count(batch_shape, item_shape, construction, name="shape")
    return _estimate(batch_shape, item_shape, dt, construction, maxdim, n_threads)


def _check_shape(shape: Any) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"shape: expected a sequence of ints, got {type(shape).__name__}")
    out = []
    for s in shape:
        if isinstance(s, bool):
            raise TypeError("shape: expected a sequence of ints, got a bool in it")
        try:
            s = operator.index(s)
        except TypeError:
            raise TypeError(f"shape: expected a sequence of ints, got {type(s).__name__} "
                            "in it") from None
        if s < 0:
            raise ValueError(f"shape: axis lengths must be >= 0, got {tuple(shape)}")
        out.append(int(s))
    return tuple(out)


def available_memory() -> Optional[int]:
    """Bytes the system can give without swapping (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


DEFAULT_FRACTION = 0.5
_ALWAYS_AVAILABLE = 256 * 2**20  # calls estimated below this never read the available memory


def default_limit() -> Optional[int]:
    """The default ``max_memory``: half the available memory (None if unknown)."""
    avail = available_memory()
    return None if avail is None else int(avail * DEFAULT_FRACTION)

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}


def _parse_bytes(value: Any, name: str, zero_ok: bool, none_means: str) -> int:
    """Bytes from an int or a string like "4GB", "512MiB" or "1.5e9" (errors name ``name``
    and say what None would mean)."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected bytes (int), a string like '4GB', or None")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", value)
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"{name}: cannot read {value!r}; use bytes or a size like "
                             f"'4GB', '512MiB' (or None for {none_means})")
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    else:
        try:
            n = operator.index(value)
        except TypeError:
            raise TypeError(f"{name}: expected bytes (int), a string like '4GB', or None, "
                            f"got {type(value).__name__}") from None
    if n < 0 or (n == 0 and not zero_ok):
        raise ValueError(f"{name}: must be a {'non-negative' if zero_ok else 'positive'} "
                         f"number of bytes, got {value!r}")
    return n


def parse_max_memory(value: Any) -> Optional[int]:
    """``max_memory`` as bytes: an int, or a string like "4GB", "512MiB" or "1.5e9";
    None/"auto" -> None, the default limit (:func:`default_limit`, read only when needed).

    >>> parse_max_memory("4GB"), parse_max_memory("512MiB"), parse_max_memory(10**6)
    (4000000000, 536870912, 1000000)
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    return _parse_bytes(value, "max_memory", zero_ok=False,
                        none_means="half the available memory")


def result_cache(limit: Any = None) -> Dict[str, int]:
    """The pool that recycles the memory of dropped results, and its byte limit.

    The large columns of a result (64 KiB and more) are blocks of a process-wide pool. When
    the arrays holding a result are dropped, their blocks go back to the pool, which keeps them
    (up to ``limit`` bytes, the least recently returned dropped first) for the next call's
    results: pages already mapped and warm, instead of fresh memory from the kernel, whose
    first touch can cost as much as the computation on a virtual machine (a 2048x56x56
    white-noise batch: up to 0.15 s of system time on a 0.19 s call). The per-item pair lists
    of a batch of small items are kept between calls for the same reason, within the same
    limit (and at most 64 MiB).

    Parameters
    ----------
    limit : int or str, optional
        The most bytes the pool keeps (``0``: keep nothing; ``"1GiB"`` style strings are
        read too). ``None`` leaves it unchanged. The default is 256 MiB, or the environment
        variable ``CUPH_RESULT_CACHE`` when ``cuph`` is imported.

    Returns
    -------
    dict
        ``limit``, ``cached_bytes`` and ``cached_blocks`` (kept for reuse), ``live_bytes`` and
        ``live_blocks`` (held by results), ``mapped`` (blocks taken from the kernel so far),
        ``reused`` (blocks handed out again) and ``item_lists_bytes`` (pair lists kept).

    Examples
    --------
    >>> import numpy as np, cuph
    >>> old = cuph.memory.result_cache()["limit"]
    >>> cuph.memory.result_cache(0)["cached_bytes"]   # nothing kept from now on
    0
    >>> cuph.memory.result_cache(old)["limit"] == old
    True
    """
    from . import _core

    if limit is None:
        return dict(_core.result_pool())
    return dict(_core.result_pool(_parse_bytes(limit, "limit", zero_ok=True,
                                                none_means="the current limit")))


def _result_cache_from_environment() -> None:
    value = os.environ.get("CUPH_RESULT_CACHE")
    if value is None or not value.strip():
        return
    try:
        result_cache(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"environment variable CUPH_RESULT_CACHE: {e}") from None


def format_bytes(n: float) -> str:
    """Human-readable size.

    >>> format_bytes(3 * 2**30)
    '3.0 GiB'
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
