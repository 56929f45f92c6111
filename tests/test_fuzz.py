"""Fuzz: the engine against the brute-force boundary-matrix reduction (tests/brute_force.py)
on random small complexes, over everything the input path can vary.

tests/test_properties.py::test_equals_brute_force already covers contiguous float64 arrays
of every dimension, construction, maxdim and direction. This fuzzer adds what reaches the
core through other code paths: every dtype (float16/32/64, signed/unsigned integers, bool;
the key conversion and the packed-or-ranked choice depend on it), values with many ties,
+-inf and dtype extremes, axes of length 1, and strided layouts (transposed, reversed, every
other element, zero-stride broadcasts), alone or as a batch (whose items are at byte
offsets). Compared as multisets of (dim, birth, death) off the diagonal, essential classes
included. Every item also goes through the GPU engine's kernels on the CPU launcher. The example count comes from the hypothesis profile (tests/conftest.py); the
sanitizer job (.ci/sanitize) runs it too.
"""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import cuph  # noqa: E402
from brute_force import persistence_pairs  # noqa: E402
from reference import as_sorted, cuph_pairs  # noqa: E402

# Largest side per item dimension: the brute force reduces every cell in pure Python.
MAX_SIDE = {1: 10, 2: 6, 3: 4, 4: 3}
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool"]
LAYOUTS = ["contiguous", "transposed", "reversed", "every_other", "broadcast"]


def _values(dtype: np.dtype) -> st.SearchStrategy:
    """Small integers (ties) most of the time, else the dtype's own range and specials."""
    small = st.integers(0, 3)
    if dtype == np.bool_:
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        # beyond 2^53 the brute force (float64) would round values the engine keeps apart
        lo, hi = max(int(info.min), -(2**53)), min(int(info.max), 2**53)
        return st.one_of(small, small.map(lambda v: hi - v), small.map(lambda v: lo + v),
                         st.integers(lo, hi))
    width = 8 * dtype.itemsize
    return st.one_of(small.map(float), st.sampled_from([np.inf, -np.inf, 0.0, -0.0]),
                     st.floats(allow_nan=False, width=width))


@st.composite
def inputs(draw):
    """(array as the engine sees it, batch_dims)."""
    d = draw(st.integers(1, 4))
    # axes of length 1 are a frequent source of edge cases: draw them often
    shape = tuple(draw(st.one_of(st.just(1), st.integers(1, MAX_SIDE[d]))) for _ in range(d))
    batch = draw(st.sampled_from([(), (1,), (2,), (3,)]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    layout = draw(st.sampled_from(LAYOUTS))
    full = batch + shape
    if layout == "broadcast":  # repeat along one axis through a zero stride
        axis = draw(st.integers(0, len(full) - 1))
        base_shape = tuple(1 if i == axis else s for i, s in enumerate(full))
    elif layout == "every_other":
        base_shape = tuple(2 * s for s in full)
    else:
        base_shape = full
    n = int(np.prod(base_shape))
    flat = draw(st.lists(_values(dtype), min_size=n, max_size=n))
    base = np.array(flat, dtype=dtype).reshape(base_shape)
    if layout == "transposed":  # same shape, reversed axis order in memory
        x = np.ascontiguousarray(base.transpose()).transpose()
    elif layout == "reversed":
        x = np.flip(np.ascontiguousarray(np.flip(base)))
    elif layout == "every_other":
        x = base[tuple(slice(None, None, 2) for _ in full)]
    elif layout == "broadcast":
        x = np.broadcast_to(base, full)
    else:
        x = base
    assert x.shape == full
    note(f"x = np.array({x.tolist()!r}, dtype={dtype.name!r}); layout={layout}; "
         f"strides={x.strides}; batch_dims={len(batch)}")
    return x, len(batch)


@given(data=inputs(), construction=st.sampled_from(["V", "T"]), superlevel=st.booleans(),
       draw=st.data())
def test_engine_equals_brute_force(data, construction, superlevel, draw):
    x, batch_dims = data
    d = x.ndim - batch_dims
    maxdim = draw.draw(st.integers(0, d - 1), label="maxdim")
    dg = cuph.persistence(x, construction=construction, superlevel=superlevel, maxdim=maxdim,
                          batch_dims=batch_dims, n_threads=2)
    items = x.reshape((-1,) + x.shape[batch_dims:])
    assert dg.n_items == items.shape[0]
    # The GPU engine's kernels on the CPU launcher (1-D and 2-D items: every dimension; 3-D
    # and 4-D: dimensions 0 and d-1, the middle ones from the CPU engine), with a drawn replay
    # (2-D: a block per item and pass of a drawn size, or one thread; 3-D/4-D: the sorting
    # network above a drawn number of candidates, with or without the spanning forest) and
    # launcher block size, reading the input in place or from host copies.
    from cuph import _core
    from cuph.engine import _persistence

    # Every draw first: a draw may end the example (an exception), and the switches are
    # process-wide.
    blocks = draw.draw(st.booleans(), label="block replay")
    threads = draw.draw(st.sampled_from([1, 2, 5, 32, 128]), label="replay threads")
    sort_above = draw.draw(st.sampled_from([0, 3, 1024]), label="network above")
    forest = draw.draw(st.booleans(), label="spanning forest")
    launcher_block = draw.draw(st.sampled_from([1, 3, 4096]), label="block")
    # None: the input read in place (a device array); else exact-size copies of C-contiguous
    # runs of that many items (0: one run), as the CUDA module reads a host array.
    copy = draw.draw(st.sampled_from([None, 0, 1, 2]), label="host copies")
    before = _core._portable_replay(blocks, threads, None, sort_above, forest)
    block = _core._portable_block(launcher_block)
    try:
        kernels = _persistence(x, maxdim, construction, batch_dims, 2, superlevel, False,
                               None, "portable", portable_copy=copy)
    finally:
        _core._portable_replay(before["blocks"], before["threads"], None, before["sort_above"],
                               before["forest"])
        _core._portable_block(block)
    for i, item in enumerate(items):
        # bool superlevel is -x of 0/1; the brute force reads every dtype as float64
        expected = persistence_pairs(item.astype(np.float64), construction, maxdim=maxdim,
                                     superlevel=superlevel)
        got = cuph_pairs(dg, item=i)
        assert got == expected, (i, as_sorted(got - expected), as_sorted(expected - got))
        got = cuph_pairs(kernels, item=i)
        assert got == expected, ("kernels", i, as_sorted(got - expected),
                                 as_sorted(expected - got))
