"""The reductions drop the rows of cells known to create a class (no reduced column has its pivot
there): in dimension d-2 (3-D: H1, 4-D: H2) the (d-1)-cells the dual union-find found positive,
below it (4-D: H1) the 2-cells of dimension 2's pairs of zero length (apparent or not), when
dimension 1 has many columns to reduce (white noise).

That is exact only if the dual pass names the same cells as the filtration order: which of one
generator's faces merges two components depends on the order of its joins, not only on values,
so a wrong order could still give right values and then drop a row that is a pivot. The core's
test switch `_core._verify_positive_rows(True)` keeps every row and raises if a pivot is among
the cells marked positive; these tests run it on inputs with many ties (where one generator owns
many cells) and require the default, dropping reduction to give the same pairs cell for cell.
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

import numpy as np
import pytest

import cuph
from cuph import _core
from reference import cripser_pairs, cuph_pairs


@pytest.fixture
def verify_switch() -> Iterator[None]:
    old = _core._verify_positive_rows()
    try:
        yield
    finally:
        _core._verify_positive_rows(old)


def _cells(d: cuph.Diagrams) -> List[Tuple[int, int, int, int, float, float]]:
    return sorted(zip(d.item.tolist(), d.dim.tolist(), d.birth_index.tolist(),
                      d.death_index.tolist(), d.birth.tolist(), d.death.tolist()))


def _both(x: np.ndarray, **kw) -> Tuple[cuph.Diagrams, cuph.Diagrams]:
    _core._verify_positive_rows(False)
    dropped = cuph.persistence(x, **kw)
    _core._verify_positive_rows(True)
    kept = cuph.persistence(x, **kw)  # raises if a pivot is a cell marked positive
    return dropped, kept


def _shapes(rng: np.random.Generator) -> Iterator[Tuple[int, ...]]:
    for _ in range(40):
        yield tuple(int(s) for s in rng.integers(1, 9, size=3))
    for _ in range(12):
        yield tuple(int(s) for s in rng.integers(1, 5, size=4))
    yield from [(1, 1, 1), (1, 1, 7), (7, 1, 1), (2, 2, 2, 2), (1, 3, 1, 3)]


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("levels", [2, 3, 50])
def test_dropped_rows_are_never_pivots_and_change_nothing(verify_switch, construction, levels):
    rng = np.random.default_rng(levels)
    for shape in _shapes(rng):
        x = rng.integers(0, levels, size=shape).astype(np.float32)
        for kw in ({}, {"keep_diagonal": True}, {"superlevel": True}):
            dropped, kept = _both(x, construction=construction, **kw)
            assert _cells(dropped) == _cells(kept), (shape, kw)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_threaded_sweeps_and_batches(verify_switch, construction):
    # 72 x 68 padded rows: the sweeps of one item split over two threads, which mark positive
    # cells of neighbouring ranges in shared bitset words.
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(70, 66, 6)).astype(np.int16)
    dropped, kept = _both(x, construction=construction, n_threads=2)
    assert _cells(dropped) == _cells(kept)
    assert (dropped.dim == 1).sum() > 100  # the reduction had work to do
    batch = rng.integers(0, 3, size=(6, 9, 7, 8)).astype(np.uint8)
    dropped, kept = _both(batch, construction=construction, batch_dims=1, n_threads=2)
    assert _cells(dropped) == _cells(kept)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_4d_noise_drops_the_births_of_zero_length_pairs(verify_switch, construction):
    # White noise leaves a column that is not apparent in dimension 1 for over a third of the
    # generators, so the dropping reduction there also drops the 2-cells of dimension 2's pairs
    # of zero length (smooth data skips that sweep); the keeping one checks none is a pivot.
    x = np.random.default_rng(3).random((9, 8, 9, 7))
    for kw in ({}, {"maxdim": 1}, {"superlevel": True}):
        dropped, kept = _both(x, construction=construction, **kw)
        assert _cells(dropped) == _cells(kept), kw
        assert (dropped.dim == 1).sum() > 100
    _core._verify_positive_rows(False)
    assert cuph_pairs(cuph.persistence(x, construction=construction)) == cripser_pairs(
        x, construction)


def test_rows_are_dropped_only_with_the_top_dimension(verify_switch):
    # maxdim = d - 2 skips the dual pass: nothing is marked, and the reduction keeps all rows.
    x = np.random.default_rng(1).integers(0, 3, size=(9, 8, 7)).astype(np.float64)
    dropped, kept = _both(x, maxdim=1)
    assert _cells(dropped) == _cells(kept)
    full = _cells(cuph.persistence(x))  # with dimension 2, so with rows dropped in dimension 1
    assert _cells(dropped) == [c for c in full if c[1] <= 1]
