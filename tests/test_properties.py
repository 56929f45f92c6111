"""Property tests (hypothesis) for cuph.persistence.

* Euler characteristic: the alternating count of cells of the whole complex (1 for a
  box, V: grid of n_i vertices; T: grid of m_i top cells) equals the alternating count
  of essential classes the engine reports.
* superlevel=True equals the sublevel result of -x, reported on the original scale.
* The multiset of pairs is invariant under axis flips and transpositions.
* A batch equals its items computed one by one.
* keep_diagonal=True adds only zero-length pairs, and then every cell of the complex is
  in exactly one pair or essential class: 2 * #finite pairs + #essential == #cells.
* Catch-all: equal to the brute force on arbitrary small arrays (shrinks to a minimal
  counterexample).

Example counts come from the hypothesis profile (tests/conftest.py: "ci" by default).
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import cuph  # noqa: E402
from brute_force import euler_characteristic, n_cells, persistence_pairs  # noqa: E402
from reference import as_sorted, cuph_pairs  # noqa: E402

MAX_SIDE = {1: 12, 2: 7, 3: 4, 4: 3}

constructions = st.sampled_from(["V", "T"])

value_sets = {
    "ties": st.integers(0, 4).map(float),
    "binary": st.integers(0, 1).map(float),
    "float": st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=32).map(float),
    "inf": st.sampled_from([0.0, 1.0, 2.0, math.inf, -math.inf]),
}


@st.composite
def shapes(draw, min_d=1, max_d=4):
    d = draw(st.integers(min_d, max_d))
    return tuple(draw(st.lists(st.integers(1, MAX_SIDE[d]), min_size=d, max_size=d)))


@st.composite
def arrays(draw, min_d=1, max_d=4, shape=None):
    if shape is None:
        shape = draw(shapes(min_d, max_d))
    kind = draw(st.sampled_from(sorted(value_sets)))
    return draw(hnp.arrays(np.float64, shape, elements=value_sets[kind]))


def show(x, construction, **kw):
    note(f"x = np.array({x.tolist()!r}); construction={construction!r}; {kw}")


def count_cells_formula(vertex_shape) -> Counter:
    """#k-cells of the box with n_i vertices per axis: choose the k axes that are edges."""
    d = len(vertex_shape)
    out = Counter()
    for k in range(d + 1):
        for axes in combinations(range(d), k):
            out[k] += math.prod(n - 1 if i in axes else n for i, n in enumerate(vertex_shape))
    return Counter({k: v for k, v in out.items() if v})


# ----------------------------------------------------------------------------- Euler

@given(x=arrays(), construction=constructions)
def test_euler_characteristic(x, construction):
    show(x, construction)
    vertex_shape = x.shape if construction == "V" else tuple(m + 1 for m in x.shape)
    cells = count_cells_formula(vertex_shape)
    assert cells == n_cells(x, construction)  # the brute force builds the same complex
    chi = sum((-1) ** k * c for k, c in cells.items())
    assert chi == 1 == euler_characteristic(x, construction)
    dg = cuph.persistence(x, construction=construction)
    ess = np.asarray(dg.death_index) == -1
    dims = np.asarray(dg.dim)[ess]
    assert sum((-1) ** int(k) for k in dims) == chi
    assert np.all(np.isinf(np.asarray(dg.death)[ess]))


# ----------------------------------------------------------------------------- superlevel

@given(x=arrays(), construction=constructions)
def test_superlevel_is_negated_sublevel(x, construction):
    show(x, construction)
    up = cuph.persistence(x, construction=construction, superlevel=True)
    down = cuph.persistence(-x, construction=construction)
    expected = Counter({(k, -b, -d): m for (k, b, d), m in cuph_pairs(down).items()})
    assert cuph_pairs(up) == expected
    assert np.all(np.asarray(up.birth) >= np.asarray(up.death))


# ----------------------------------------------------------------------------- symmetry

@given(data=st.data(), x=arrays(), construction=constructions)
def test_invariant_under_flips_and_transpositions(data, x, construction):
    perm = data.draw(st.permutations(range(x.ndim)))
    flips = data.draw(st.lists(st.booleans(), min_size=x.ndim, max_size=x.ndim))
    show(x, construction, perm=perm, flips=flips)
    y = np.transpose(x, perm)[tuple(slice(None, None, -1) if f else slice(None) for f in flips)]
    a = cuph_pairs(cuph.persistence(x, construction=construction))
    b = cuph_pairs(cuph.persistence(y, construction=construction))
    assert a == b
    c = cuph_pairs(cuph.persistence(np.ascontiguousarray(y), construction=construction))
    assert b == c


# ----------------------------------------------------------------------------- batches

@given(data=st.data(), construction=constructions, batch_dims=st.integers(1, 2),
       superlevel=st.booleans())
def test_batch_equals_items(data, construction, batch_dims, superlevel):
    item_shape = data.draw(shapes(1, 3))
    batch_shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=batch_dims,
                                           max_size=batch_dims)))
    x = data.draw(arrays(shape=batch_shape + item_shape))
    maxdim = data.draw(st.integers(0, len(item_shape) - 1))
    n_threads = data.draw(st.sampled_from([1, 2, None]))
    show(x, construction, batch_dims=batch_dims, maxdim=maxdim, superlevel=superlevel)
    kw = dict(construction=construction, maxdim=maxdim, superlevel=superlevel)
    dg = cuph.persistence(x, batch_dims=batch_dims, n_threads=n_threads, **kw)
    assert tuple(dg.batch_shape) == batch_shape
    items = x.reshape((-1,) + item_shape)
    item = np.asarray(dg.item)
    assert np.all(np.diff(item) >= 0)
    for i, xi in enumerate(items):
        single = cuph.persistence(xi, **kw)
        for name in ("dim", "birth", "death", "birth_index", "death_index"):
            np.testing.assert_array_equal(np.asarray(getattr(dg, name))[item == i],
                                          getattr(single, name), err_msg=f"{name}, item {i}")
            np.testing.assert_array_equal(getattr(dg[i], name), getattr(single, name),
                                          err_msg=f"dg[{i}].{name}")


# ----------------------------------------------------------------------------- diagonal

@given(x=arrays(max_d=4), construction=constructions)
def test_keep_diagonal(x, construction):
    show(x, construction)
    full = cuph.persistence(x, construction=construction, keep_diagonal=True)
    plain = cuph.persistence(x, construction=construction)
    birth = np.asarray(full.birth)
    ess = np.asarray(full.death_index) == -1
    # the extra rows are exactly zero-length pairs
    diag = Counter(cuph_pairs(full, keep_diagonal=True)) - cuph_pairs(plain)
    assert all(b == d for (_, b, d) in diag), as_sorted(diag)
    assert cuph_pairs(full) == cuph_pairs(plain)
    # every cell is paired or essential
    ncell = sum(n_cells(x, construction).values())
    assert 2 * int((~ess).sum()) + int(ess.sum()) == ncell
    # and the whole multiset, zero-length pairs included, is determined by the
    # filtration (any order compatible with (value, dim) gives the same): brute force
    assert cuph_pairs(full, keep_diagonal=True) == persistence_pairs(
        x, construction, keep_diagonal=True)
    np.testing.assert_array_equal(birth[ess], [np.min(x)])


# ----------------------------------------------------------------------------- catch-all

@given(x=arrays(), construction=constructions, superlevel=st.booleans(), data=st.data())
def test_equals_brute_force(x, construction, superlevel, data):
    maxdim = data.draw(st.integers(0, x.ndim - 1))
    show(x, construction, superlevel=superlevel, maxdim=maxdim)
    dg = cuph.persistence(x, construction=construction, superlevel=superlevel, maxdim=maxdim)
    expected = persistence_pairs(x, construction, maxdim=maxdim, superlevel=superlevel)
    got = cuph_pairs(dg)
    assert got == expected, (as_sorted(got - expected), as_sorted(expected - got))
