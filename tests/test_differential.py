"""Differential tests: cuph.persistence against gudhi, CubicalRipser and a brute force.

What is compared: the multiset of off-diagonal (dim, birth, death) pairs, exactly, as
float64 (see reference.py).  Every call also goes through ``check_diagrams``, which
checks the structure of the result (dtypes, offsets, item/dim order, no diagonal
pairs) and the indices: ``birth_index`` / ``death_index`` are C-order flat indices
into the item whose values equal birth / death, and ``death_index == -1`` exactly for
the essential classes (one per item, in dimension 0, born at the item's minimum).

References:
* tests/brute_force.py: whole complex + textbook reduction; all 1-4-D, both constructions;
* gudhi: 1-3-D, both constructions;
* cripser (V) / tcripser (T): 1-4-D, except cripser V on 2-D arrays with an axis of
  length 1, where cripser 0.0.37 is wrong (every vertex essential): gudhi there.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import cuph
from reference import (
    as_sorted,
    brute_pairs,
    cripser_is_reliable,
    cripser_pairs,
    cuph_pairs,
    gudhi_pairs,
)

# ----------------------------------------------------------------------------- helpers

FLOAT32_OUT = {np.dtype(t) for t in (np.float16, np.float32, np.int8, np.int16,
                                      np.uint8, np.uint16, np.bool_)}


def out_dtype(dtype) -> np.dtype:
    """Promoted output dtype per docs/INTERNALS.md."""
    return np.dtype(np.float32) if np.dtype(dtype) in FLOAT32_OUT else np.dtype(np.float64)


def as_values(a: np.ndarray) -> np.ndarray:
    """The input values as the engine reports them: promoted dtype, then float64."""
    a = np.asarray(a)
    return a.astype(out_dtype(a.dtype)).astype(np.float64)


def check_diagrams(dg, x, *, maxdim=None, batch_dims=0, superlevel=False,
                   keep_diagonal=False) -> None:
    """Structure and index checks on one cuph result for input x."""
    x = np.asarray(x)
    batch_shape = x.shape[:batch_dims]
    item_shape = x.shape[batch_dims:]
    d = len(item_shape)
    md = d - 1 if maxdim is None else maxdim
    n_items = math.prod(batch_shape)

    assert tuple(dg.batch_shape) == batch_shape
    assert tuple(dg.item_shape) == item_shape

    dim = np.asarray(dg.dim)
    birth = np.asarray(dg.birth)
    death = np.asarray(dg.death)
    bi = np.asarray(dg.birth_index)
    di = np.asarray(dg.death_index)
    item = np.asarray(dg.item)
    offsets = np.asarray(dg.offsets)
    n = len(dim)
    assert len(dg) == n_items  # len = number of items (diagrams.py)
    for a in (birth, death, bi, di, item):
        assert a.shape == (n,)
    assert dim.dtype == np.int8
    assert bi.dtype == np.int64 and di.dtype == np.int64 and item.dtype == np.int64
    assert birth.dtype == out_dtype(x.dtype), (birth.dtype, x.dtype)
    assert death.dtype == out_dtype(x.dtype), (death.dtype, x.dtype)
    assert offsets.dtype == np.int64
    assert offsets.shape == (n_items * (md + 1) + 1,)
    assert offsets[0] == 0 and offsets[-1] == n
    assert np.all(np.diff(offsets) >= 0)
    for i in range(n_items):
        for k in range(md + 1):
            s = slice(offsets[i * (md + 1) + k], offsets[i * (md + 1) + k + 1])
            assert np.all(item[s] == i), (i, k)
            assert np.all(dim[s] == k), (i, k)
    assert np.all((dim >= 0) & (dim <= md))

    b64 = birth.astype(np.float64)
    d64 = death.astype(np.float64)
    if not keep_diagonal:
        fin = di != -1  # an essential class may be (inf, inf): all-(+inf) input
        assert not np.any(b64[fin] == d64[fin]), "zero-length pairs with keep_diagonal=False"
    if superlevel:
        assert np.all(b64 >= d64)
    else:
        assert np.all(b64 <= d64)

    # indices
    items = x.reshape((n_items,) + item_shape) if n_items else x
    n_item_cells = math.prod(item_shape)
    assert np.all((bi >= 0) & (bi < n_item_cells))
    assert np.all((di == -1) | ((di >= 0) & (di < n_item_cells)))
    ess_death = -np.inf if superlevel else np.inf
    for i in range(n_items):
        vals = as_values(items[i]).ravel()  # C-order flat view of the logical item
        sel = item == i
        np.testing.assert_array_equal(vals[bi[sel]], b64[sel], err_msg=f"birth_index, item {i}")
        fin = sel & (di != -1)
        np.testing.assert_array_equal(vals[di[fin]], d64[fin], err_msg=f"death_index, item {i}")
        ess = sel & (di == -1)
        assert np.all(d64[ess] == ess_death)
        # a box has exactly one essential class: H0, born at the global min (max)
        assert ess.sum() == 1, f"item {i}: {ess.sum()} essential classes"
        assert dim[ess][0] == 0
        assert b64[ess][0] == (vals.max() if superlevel else vals.min())


def run(x, **kw):
    dg = cuph.persistence(x, **kw)
    ck = {k: kw[k] for k in ("maxdim", "batch_dims", "superlevel", "keep_diagonal") if k in kw}
    check_diagrams(dg, x, **ck)
    return dg


def assert_same(got: Counter, expected: Counter, what: str, x=None, construction=None):
    if got != expected:
        missing = as_sorted(expected - got)
        extra = as_sorted(got - expected)
        msg = (f"cuph differs from {what} (construction={construction})\n"
               f"missing (in {what}, not cuph): {missing[:20]}\n"
               f"extra (in cuph, not {what}): {extra[:20]}")
        if x is not None and np.asarray(x).size <= 200:
            msg += f"\ninput: np.array({np.asarray(x).tolist()!r}, dtype={np.asarray(x).dtype})"
        raise AssertionError(msg)


def draw(rng, shape, kind):
    """Random input values of a given kind, float64."""
    if kind == "ties":  # many ties
        return rng.integers(0, 5, size=shape).astype(np.float64)
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if kind == "float":  # continuous, no ties
        return rng.standard_normal(shape)
    if kind == "smooth":  # few critical cells, like real data
        x = rng.standard_normal(shape)
        for _ in range(3):
            for ax in range(x.ndim):
                p = np.pad(x, [(1, 1) if a == ax else (0, 0) for a in range(x.ndim)], mode="edge")
                n = x.shape[ax]
                x = (np.take(p, range(0, n), ax) + 2 * np.take(p, range(1, n + 1), ax)
                     + np.take(p, range(2, n + 2), ax)) / 4
        return x
    if kind == "const":
        return np.full(shape, 3.0)
    if kind == "inf":  # ties plus +-inf
        x = rng.integers(0, 4, size=shape).astype(np.float64)
        u = rng.random(shape)
        x[u < 0.15] = np.inf
        x[u > 0.85] = -np.inf
        return x
    raise ValueError(kind)


def shape_id(shape):
    return "x".join(map(str, shape))


# ----------------------------------------------------------------------------- shapes

DEGENERATE = [(1,), (2,), (1, 1), (1, 5), (5, 1), (1, 2), (2, 1), (1, 1, 1), (4, 1, 1),
              (1, 4, 1), (1, 1, 4), (1, 3, 3), (3, 1, 3), (1, 1, 1, 1), (2, 1, 1, 1),
              (1, 1, 1, 3), (1, 3, 1, 3), (2, 2, 2, 2)]
SMALL = [(7,), (13,), (2, 2), (3, 4), (4, 3), (5, 5), (6, 7), (2, 2, 2), (3, 3, 3),
         (3, 4, 2), (4, 4, 4), (2, 3, 4), (3, 2, 2, 2), (2, 3, 2, 3), (3, 3, 3, 3)]
MEDIUM_GUDHI = [(500,), (40, 40), (64, 48), (100, 100), (1, 40, 40), (12, 12, 12), (9, 14, 11),
                (20, 20, 20)]
MEDIUM_CRIPSER = [(40, 40), (12, 12, 12), (5, 5, 5, 5), (4, 6, 5, 3), (8, 8, 8, 8),
                  (2, 9, 2, 9)]


# ----------------------------------------------------------------------------- vs brute force

@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("kind", ["ties", "float", "binary"])
@pytest.mark.parametrize("shape", DEGENERATE + SMALL, ids=shape_id)
def test_vs_brute_force(shape, kind, construction, rng):
    for _ in range(2):
        x = draw(rng, shape, kind)
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), brute_pairs(x, construction), "brute force", x, construction)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("kind", ["ties", "float"])
@pytest.mark.parametrize("shape", [(9, 8, 7), (5, 4, 5, 4)], ids=shape_id)
def test_zero_length_pairs_of_middle_dimensions_vs_brute_force(shape, kind, construction, rng):
    """The middle dimensions pair their zero-length pairs in the sweep, by a reduction local to
    each generator's cells (apparent pairs are the simplest of them); the reduction then meets
    them as pivots of columns that sum several raw coboundaries. With keep_diagonal every pair
    is compared, the zero-length ones included."""
    for _ in range(3):
        x = draw(rng, shape, kind)
        dg = run(x, construction=construction, keep_diagonal=True)
        assert_same(cuph_pairs(dg, keep_diagonal=True),
                    brute_pairs(x, construction, keep_diagonal=True), "brute force", x,
                    construction)
        assert cuph_pairs(run(x, construction=construction)) == cuph_pairs(dg)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1), (1, 1, 1, 1), (3,), (2, 3), (2, 2, 2),
                                   (2, 2, 2, 2)], ids=shape_id)
def test_constant_input(shape, construction):
    x = np.full(shape, 2.5)
    dg = run(x, construction=construction)
    assert cuph_pairs(dg) == Counter({(0, 2.5, math.inf): 1})


# ----------------------------------------------------------------------------- vs gudhi

@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("kind", ["ties", "float"])
@pytest.mark.parametrize("shape", [s for s in DEGENERATE + SMALL + MEDIUM_GUDHI if len(s) <= 3],
                         ids=shape_id)
def test_vs_gudhi(shape, kind, construction, rng):
    pytest.importorskip("gudhi")
    for _ in range(2):
        x = draw(rng, shape, kind)
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), gudhi_pairs(x, construction), "gudhi", x, construction)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(64, 64), (16, 20, 18), (1, 30, 30)], ids=shape_id)
def test_smooth_vs_gudhi(shape, construction, rng):
    pytest.importorskip("gudhi")
    for superlevel in (False, True):
        x = draw(rng, shape, "smooth")
        dg = run(x, construction=construction, superlevel=superlevel)
        ref = gudhi_pairs(-x if superlevel else x, construction)
        if superlevel:
            ref = Counter({(k, -b, -d): m for (k, b, d), m in ref.items()})
        assert_same(cuph_pairs(dg), ref, "gudhi", None, construction)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(7, 8, 6, 7), (10, 10, 3, 3)], ids=shape_id)
def test_smooth_4d_vs_cripser(shape, construction, rng):
    pytest.importorskip("cripser")
    x = draw(rng, shape, "smooth")
    dg = run(x, construction=construction)
    assert_same(cuph_pairs(dg), cripser_pairs(x, construction), "cripser", None, construction)


# ----------------------------------------------------------------------------- vs cripser

CRIPSER_SHAPES = [s for s in DEGENERATE + SMALL + MEDIUM_CRIPSER]


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("kind", ["ties", "float"])
@pytest.mark.parametrize("shape", CRIPSER_SHAPES, ids=shape_id)
def test_vs_cripser(shape, kind, construction, rng):
    pytest.importorskip("cripser")
    if not cripser_is_reliable(shape, construction):
        pytest.skip("cripser 0.0.37 V on 2-D with an axis of length 1 is wrong; "
                    "covered against gudhi in test_cripser_v_thin_2d_against_gudhi")
    for _ in range(2):
        x = draw(rng, shape, kind)
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), cripser_pairs(x, construction), "cripser", x, construction)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(17000, 2, 2, 2), (2, 3, 2, 20000)], ids=shape_id)
def test_long_axes_vs_cripser(shape, construction, rng):
    """4-D axes longer than 2^14, which a packed doubled coordinate (16 bits per axis) could
    not hold; cells named by their owner's index have no limit per axis."""
    pytest.importorskip("cripser")
    x = draw(rng, shape, "ties")
    dg = run(x, construction=construction)
    assert_same(cuph_pairs(dg), cripser_pairs(x, construction), "cripser", x, construction)


def test_a_million_generators_vs_cripser(rng):
    """Items of 2^20 generators and more rank them with 8-bit radix digits (filtration.hpp),
    smaller ones with 11-bit digits: one volume past the switch, smooth float64 V (few pairs,
    so cripser is quick) and with ties."""
    pytest.importorskip("cripser")
    x = draw(rng, (103, 102, 101), "smooth")
    assert x.size >= 2**20
    x[::7, ::5] = x[3, 3, 3]  # ties of equal values across the volume
    dg = run(x, construction="V")
    assert_same(cuph_pairs(dg), cripser_pairs(x, "V"), "cripser", None, "V")


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (1, 2), (2, 1), (1, 30), (30, 1)], ids=shape_id)
def test_cripser_v_thin_2d_against_gudhi(shape, rng):
    """cripser 0.0.37 with V on a 2-D array that has an axis of length 1 reports every
    vertex as an essential class; gudhi (and the brute force) are right there, so this
    case is tested against gudhi instead of cripser."""
    pytest.importorskip("gudhi")
    for kind in ("ties", "float"):
        x = draw(rng, shape, kind)
        dg = run(x, construction="V")
        assert_same(cuph_pairs(dg), gudhi_pairs(x, "V"), "gudhi", x, "V")
        assert_same(cuph_pairs(dg), brute_pairs(x, "V"), "brute force", x, "V")


# ----------------------------------------------------------------------------- memory layouts

LAYOUTS = {
    "reversed": lambda a: a[::-1],
    "reversed_last": lambda a: a[..., ::-1],
    "reversed_all": lambda a: a[(slice(None, None, -1),) * a.ndim],
    "transpose": lambda a: a.T,
    "swapaxes": lambda a: np.swapaxes(a, 0, -1),
    "step2": lambda a: a[::2],
    "step2_last": lambda a: a[..., ::2],
    "step_neg": lambda a: a[::-2, ..., ::3] if a.ndim > 1 else a[::-2],
    "fortran": lambda a: np.asfortranarray(a),
    "broadcast_row": lambda a: np.broadcast_to(a[:1], a.shape),
    "broadcast_col": lambda a: np.broadcast_to(a[..., :1], a.shape),
    "broadcast_scalar": lambda a: np.broadcast_to(a.reshape(-1)[:1].reshape((1,) * a.ndim), a.shape),
    "moveaxis": lambda a: np.moveaxis(a, 0, -1),
}


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("shape", [(9,), (6, 7), (5, 4, 6), (4, 3, 5, 2)], ids=shape_id)
def test_layouts(shape, layout, construction, rng):
    base = draw(rng, shape, "ties")
    base[tuple(s // 2 for s in shape)] = -1.0  # a unique minimum away from the corners
    x = LAYOUTS[layout](base)
    xc = np.ascontiguousarray(x)
    assert np.array_equal(x, xc)
    dg = run(x, construction=construction)
    assert_same(cuph_pairs(dg), brute_pairs(xc, construction), "brute force", xc, construction)
    # the view is logically the same array as its C-contiguous copy: identical results,
    # indices included (indices are C-order into the logical item)
    dc = cuph.persistence(xc, construction=construction)
    for name in ("dim", "birth", "death", "birth_index", "death_index", "item", "offsets"):
        np.testing.assert_array_equal(getattr(dg, name), getattr(dc, name), err_msg=name)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_layouts_medium_vs_gudhi(construction, rng):
    pytest.importorskip("gudhi")
    base = draw(rng, (30, 41), "ties")
    for f in (lambda a: a[::-1, ::2], lambda a: a.T, np.asfortranarray,
              lambda a: a.T[::-3]):
        x = f(base)
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), gudhi_pairs(np.ascontiguousarray(x), construction), "gudhi")


# ----------------------------------------------------------------------------- dtypes

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def draw_dtype(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.kind == "f":
        x = (rng.integers(-8, 8, size=shape) / 4).astype(dtype)
        x.flat[0] = np.finfo(dtype).max
        x.flat[-1] = np.finfo(dtype).min
        return x
    info = np.iinfo(dtype)
    lo = max(info.min, -6)
    x = rng.integers(lo, 6, size=shape).astype(dtype)
    # the extremes of the type, at two different places
    x.flat[0] = info.max
    x.flat[x.size // 2] = info.min
    return x


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + [np.bool_], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("shape", [(11,), (5, 6), (3, 4, 3), (2, 3, 2, 3)], ids=shape_id)
def test_dtypes(shape, dtype, construction, rng):
    for superlevel in (False, True):
        x = draw_dtype(rng, shape, dtype)
        dg = run(x, construction=construction, superlevel=superlevel)
        expected = brute_pairs(as_values(x), construction, superlevel=superlevel)
        assert_same(cuph_pairs(dg), expected, f"brute force (superlevel={superlevel})", x,
                    construction)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + [np.bool_], ids=lambda t: np.dtype(t).name)
def test_dtypes_strided(dtype, construction, rng):
    base = draw_dtype(rng, (6, 9, 4), dtype)
    for x in (base[::-1, ::2].T, np.swapaxes(base, 0, 1)[:, ::-3], np.asfortranarray(base),
              np.broadcast_to(base[:, :1], base.shape)):
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), brute_pairs(as_values(x), construction), "brute force", x,
                    construction)
    dg = run(base, construction=construction, batch_dims=1)
    assert_items_equal(dg, base, 1, construction=construction)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda t: np.dtype(t).name)
def test_float_dtypes_with_inf(dtype, rng):
    x = draw(rng, (5, 6), "inf").astype(dtype)
    for construction in ("V", "T"):
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), brute_pairs(as_values(x), construction), "brute force", x,
                    construction)


def _assert_brute_and_cells_of_dense_ranks(x, construction):
    """Sub- and superlevel pairs equal the brute force's, and their cells those of the same
    order as small integers (dense ranks, ties kept), which takes the paths of keys spanning
    fewer than 2^32 values: ties must go by index there and here alike."""
    dense = np.unique(x, return_inverse=True)[1].reshape(x.shape).astype(np.int32)
    for superlevel in (False, True):
        dg = run(x, construction=construction, superlevel=superlevel)
        assert_same(cuph_pairs(dg), brute_pairs(x, construction, superlevel=superlevel),
                    "brute force", x, construction)
        ref = run(dense, construction=construction, superlevel=superlevel)
        for name in ("dim", "birth_index", "death_index", "offsets"):
            np.testing.assert_array_equal(getattr(dg, name), getattr(ref, name), name)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_signed_zero(construction, rng):
    """-0.0 == 0.0: no pair (-0.0, 0.0) may be reported (keys sorted by bit pattern
    would tell them apart), and their ties go by index like any other: the pairs' cells are
    those of the same values as dense int32 ranks."""
    for shape in [(9,), (5, 6), (3, 4, 3), (2, 3, 2, 3)]:
        x = rng.choice(np.array([-0.0, 0.0, 1.0]), size=shape)
        _assert_brute_and_cells_of_dense_ranks(x, construction)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_int64_beyond_float64_precision(dtype, rng):
    """Distinct 64-bit integers can round to the same float64.  Rounding is monotone, so
    the exact order refines the float64 order: the result on the float64 scale equals the
    brute force on the rounded values, pairs that became zero-length dropped."""
    x = (np.uint64(2**62) + rng.integers(0, 6, size=(6, 7)).astype(np.uint64)).astype(dtype)
    for construction in ("V", "T"):
        for superlevel in (False, True):
            dg = run(x, construction=construction, superlevel=superlevel)
            assert_same(cuph_pairs(dg), brute_pairs(as_values(x), construction,
                                                    superlevel=superlevel), "brute", x)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(9, 11), (13, 1), (6, 7, 8), (4, 3, 4, 3)], ids=shape_id)
def test_values_closer_than_the_ranking_sees_at_first(shape, construction, rng):
    """3-D/4-D float64 items are ranked, and the joins of 2-D float64 images sorted, by the top
    32 bits of their keys' span, then each run of equal tops by the full key (and ties by
    index; for the decreasing pass of an image, by decreasing index). One outlier makes the
    span so wide that all other values, near-ties and exact ties, fall into a few such runs."""
    for _ in range(3):
        x = (1 + rng.integers(0, 4, size=shape)) * 1e-7 + rng.integers(0, 3, size=shape) * 1e-16
        x.flat[rng.integers(x.size)] = 1e12  # 4 runs of tops for 12 distinct values below
        _assert_brute_and_cells_of_dense_ranks(x, construction)


# ----------------------------------------------------------------------------- +-inf

@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(9,), (1, 6), (5, 5), (4, 4, 3), (3, 2, 3, 2)], ids=shape_id)
def test_inf_values(shape, construction, rng):
    for _ in range(3):
        x = draw(rng, shape, "inf")
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), brute_pairs(x, construction), "brute force", x, construction)
        if len(shape) <= 3:
            pytest.importorskip("gudhi")
            assert_same(cuph_pairs(dg), gudhi_pairs(x, construction), "gudhi", x, construction)
        dg = run(x, construction=construction, superlevel=True)
        assert_same(cuph_pairs(dg), brute_pairs(x, construction, superlevel=True),
                    "brute force (superlevel)", x, construction)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_all_inf(value, construction):
    """One essential class born at the (infinite) minimum; (inf, inf) is kept for +inf
    because it is essential (gudhi agrees; cripser 0.0.37 reports nothing there)."""
    x = np.full((3, 4), value)
    dg = run(x, construction=construction)
    assert cuph_pairs(dg) == Counter({(0, value, math.inf): 1})
    assert len(np.asarray(dg.dim)) == 1
    pytest.importorskip("gudhi")
    assert gudhi_pairs(x, construction) == Counter({(0, value, math.inf): 1})
    up = run(x, construction=construction, superlevel=True)
    assert cuph_pairs(up) == Counter({(0, value, -math.inf): 1})


def test_inf_finite_death_has_index():
    """A class that dies when an infinite value enters is not essential."""
    x = np.array([0.0, np.inf, 1.0])
    dg = run(x)
    assert cuph_pairs(dg) == Counter({(0, 0.0, math.inf): 1, (0, 1.0, math.inf): 1})
    di = np.asarray(dg.death_index)
    assert sorted(di.tolist()) == [-1, 1]


# ----------------------------------------------------------------------------- maxdim

@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(6, 7), (4, 5, 4), (3, 3, 3, 3), (2, 2, 2, 2), (1, 4, 1, 4)],
                         ids=shape_id)
def test_maxdim(shape, construction, rng):
    x = draw(rng, shape, "ties")
    full = run(x, construction=construction)
    full_c = cuph_pairs(full)
    for md in range(len(shape)):
        dg = run(x, construction=construction, maxdim=md)
        expected = Counter({k: v for k, v in full_c.items() if k[0] <= md})
        assert_same(cuph_pairs(dg), expected, f"full result restricted to maxdim={md}", x,
                    construction)
        assert_same(cuph_pairs(dg), brute_pairs(x, construction, maxdim=md), "brute force", x,
                    construction)


# ----------------------------------------------------------------------------- batches

def assert_items_equal(dg, x, batch_dims, **kw):
    x = np.asarray(x)
    items = x.reshape((-1,) + x.shape[batch_dims:])
    item = np.asarray(dg.item)
    for i, xi in enumerate(items):
        single = cuph.persistence(xi, **kw)
        sub = dg[i]
        for name in ("dim", "birth", "death", "birth_index", "death_index"):
            a = np.asarray(getattr(dg, name))[item == i]
            np.testing.assert_array_equal(a, getattr(single, name), err_msg=f"{name} item {i}")
            np.testing.assert_array_equal(getattr(sub, name), getattr(single, name),
                                          err_msg=f"dg[{i}].{name}")


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape,batch_dims", [((5, 6, 7), 1), ((3, 2, 5, 4), 2), ((4, 9), 1),
                                              ((2, 3, 3, 3, 3), 1), ((1, 5, 5), 1),
                                              ((2, 1, 4, 4, 3), 2), ((6, 1, 1), 1)],
                         ids=str)
def test_batch_equals_items(shape, batch_dims, construction, rng):
    x = draw(rng, shape, "ties")
    for n_threads in (1, 2, None):
        dg = run(x, construction=construction, batch_dims=batch_dims, n_threads=n_threads)
        assert_items_equal(dg, x, batch_dims, construction=construction)
    # also against the brute force, item by item
    items = x.reshape((-1,) + shape[batch_dims:])
    for i, xi in enumerate(items):
        assert_same(cuph_pairs(dg, item=i), brute_pairs(xi, construction), f"brute item {i}")


@pytest.mark.parametrize("construction", ["V", "T"])
def test_batch_strided(construction, rng):
    x = draw(rng, (4, 8, 9), "ties")
    for v in (x[::-1, ::2], np.swapaxes(x, 1, 2), x[:, ::-1, ::3], np.asfortranarray(x),
              np.broadcast_to(x[:1], x.shape), np.broadcast_to(x[:, :1], x.shape)):
        dg = run(v, construction=construction, batch_dims=1)
        assert_items_equal(dg, v, 1, construction=construction)


def test_batch_many_small_items(rng):
    x = draw(rng, (300, 5, 5), "ties")
    dg = run(x, batch_dims=1, construction="T", maxdim=1)
    assert_items_equal(dg, x[:20], 1, construction="T", maxdim=1)
    pytest.importorskip("gudhi")
    for i in range(0, 300, 37):
        assert_same(cuph_pairs(dg, item=i), gudhi_pairs(x[i], "T"), f"gudhi item {i}")


def test_batch_superlevel_maxdim(rng):
    x = draw(rng, (3, 4, 4, 4), "ties")
    dg = run(x, batch_dims=1, superlevel=True, maxdim=1)
    assert_items_equal(dg, x, 1, superlevel=True, maxdim=1)


# ----------------------------------------------------------------------------- superlevel

@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("kind", ["ties", "float"])
@pytest.mark.parametrize("shape", [(8,), (5, 6), (1, 7), (4, 3, 4), (2, 3, 2, 3)], ids=shape_id)
def test_superlevel(shape, kind, construction, rng):
    x = draw(rng, shape, kind)
    up = run(x, construction=construction, superlevel=True)
    down = run(-x, construction=construction)
    negated = Counter({(k, -b, -d): m for (k, b, d), m in cuph_pairs(down).items()})
    assert_same(cuph_pairs(up), negated, "negated sublevel of -x", x, construction)
    assert_same(cuph_pairs(up), brute_pairs(x, construction, superlevel=True), "brute superlevel",
                x, construction)
    np.testing.assert_array_equal(up.birth_index, down.birth_index)
    np.testing.assert_array_equal(up.death_index, down.death_index)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint64, np.bool_, np.int8])
def test_superlevel_unsigned_and_bool(dtype, rng):
    """Negating unsigned/bool input naively would wrap around; values must stay exact."""
    x = draw_dtype(rng, (6, 5), dtype)
    up = run(x, superlevel=True)
    assert_same(cuph_pairs(up), brute_pairs(as_values(x), "V", superlevel=True), "brute", x, "V")


# ----------------------------------------------------------------------------- options

@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_device_cpu(device, rng):
    x = draw(rng, (7, 8), "ties")
    dg = run(x, device=device)
    assert_same(cuph_pairs(dg), brute_pairs(x, "V"), "brute force", x, "V")


def test_nested_list_input():
    lst = [[0, 3, 1], [2, 5, 0], [1, 1, 4]]
    dg = run(lst)
    assert_same(cuph_pairs(dg), brute_pairs(np.array(lst, float), "V"), "brute force")
    dg = run([0.0, 2.0, 1.0], construction="T")
    assert cuph_pairs(dg) == Counter({(0, 0.0, math.inf): 1, (0, 1.0, 2.0): 1})


def test_indices_known_example():
    # V, 2-D: minima 0 at (0,0) [flat 0] and -1 at (1,2) [flat 5]; they merge at value 3
    x = np.array([[0.0, 3.0, 1.0], [2.0, 5.0, -1.0]])
    dg = run(x)
    rows = sorted(zip(np.asarray(dg.dim).tolist(), np.asarray(dg.birth).tolist(),
                      np.asarray(dg.death).tolist(), np.asarray(dg.birth_index).tolist(),
                      np.asarray(dg.death_index).tolist()))
    # 0 (flat 0) dies when joined to -1 through 2 or 3; the path 0-3-1--1 costs 3, 0-2-5 costs 5
    assert rows == [(0, -1.0, math.inf, 5, -1), (0, 0.0, 3.0, 0, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("kind", ["ties", "float", "smooth"])
@pytest.mark.parametrize("construction", ["V", "T"])
def test_pixel_sweep_2d_vs_gudhi(construction, dtype, kind, rng):
    """2-D items run on pixels (rectangle.hpp), not cells: 32-bit values (float32, uint8), ranks
    (float64), items in a batch and a large image split over threads, against gudhi and against
    the cell sweep (which keep_diagonal=True still takes)."""
    pytest.importorskip("gudhi")
    batch = draw(rng, (6, 23, 31), kind).astype(dtype)
    for n_threads in (1, 2):
        dg = run(batch, construction=construction, batch_dims=1, n_threads=n_threads)
        for i in range(len(batch)):
            assert_same(cuph_pairs(dg, item=i), gudhi_pairs(as_values(batch[i]), construction),
                        f"gudhi item {i}", batch[i], construction)
    big = draw(rng, (150, 121), kind).astype(dtype)  # > 2 * 4096 pixels: two sweep ranges
    dg = run(big, construction=construction, n_threads=2)
    assert_same(cuph_pairs(dg), gudhi_pairs(as_values(big), construction), "gudhi", None,
                construction)
    cells = run(big, construction=construction, n_threads=2, keep_diagonal=True)
    assert_same(cuph_pairs(dg), cuph_pairs(cells), "the cell sweep", None, construction)
    one = run(big[None], construction=construction, batch_dims=1, n_threads=1)
    assert_items_equal(one, big[None], 1, construction=construction, n_threads=2)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(30, 21, 17), (11, 9, 8, 7)], ids=shape_id)
def test_sweeps_split_over_threads_with_zero_length_pairs(shape, construction, rng):
    """One 3-D or 4-D item over two sweep ranges (> 4096 generators): dimension 1's apparent
    pairs are found inside the union-find's sweep, whose ranges run on two threads; with
    keep_diagonal their zero-length pairs come back in range order. Everything equals the
    one-thread result, row for row, and every cell is paired or essential."""
    x = draw(rng, shape, "ties")
    assert x.size > 4096
    one = run(x, construction=construction, n_threads=1, keep_diagonal=True)
    two = run(x, construction=construction, n_threads=2, keep_diagonal=True)
    for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
        np.testing.assert_array_equal(getattr(two, name), getattr(one, name), err_msg=name)
    essential = np.asarray(one.death_index) == -1
    cells = 1
    for n in shape:
        cells *= 2 * n - 1 if construction == "V" else 2 * n + 1
    assert 2 * int((~essential).sum()) + int(essential.sum()) == cells
    plain = run(x, construction=construction, n_threads=2)
    assert cuph_pairs(plain) == cuph_pairs(one)  # off the diagonal


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
@pytest.mark.parametrize("construction", ["V", "T"])
def test_pixel_sweep_full_64bit_range(dtype, construction, rng):
    """Keys spanning the whole 64-bit range leave no value for the border: the 2-D sweep ranks
    them instead (and 64-bit keys one short of that use 64-bit values)."""
    info = np.iinfo(dtype)
    for hi in (info.max, info.max - 1):
        x = (rng.integers(0, 4, size=(7, 9)) + (0 if info.min == 0 else -2)).astype(dtype)
        x[0, 0], x[3, 4], x[-1, -1] = info.min, hi, hi
        dg = run(x, construction=construction)
        assert_same(cuph_pairs(dg), brute_pairs(as_values(x), construction), "brute force", x,
                    construction)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_views_with_odd_strides_on_length_one_axes(construction, rng):
    """np.swapaxes of an array with axes of length 1 is flagged C-contiguous while those axes
    keep other strides (cripser 0.0.37 misreads such views: KNOWN_DISCREPANCIES, 4). cuph
    reads them as the array they are: the pairs of a fresh copy, and gudhi's of the squeezed
    2-D array."""
    pytest.importorskip("gudhi")
    for shape in [(1, 6, 3, 1), (1, 4, 5, 1), (1, 7, 1), (1, 3, 2, 1)]:
        for kind in ("ties", "float"):
            base = draw(rng, shape, kind)
            view = np.swapaxes(base, 0, -1)
            assert np.ascontiguousarray(view).strides == view.strides  # not copied by numpy
            fresh = np.array(view, order="C", copy=True)
            got = cuph_pairs(run(view, construction=construction))
            assert got == cuph_pairs(run(fresh, construction=construction))
            squeezed = fresh.reshape([s for s in fresh.shape if s != 1])
            assert_same(got, gudhi_pairs(squeezed, construction), "gudhi", fresh, construction)
