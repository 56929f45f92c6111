"""A small, obviously correct reference for cubical persistent homology.

Builds the *whole* cubical complex of a 1-4-D array, orders all its cells by
(value, dim, flat index in the doubled grid), builds the Z/2 boundary matrix and
runs the textbook column reduction.  Only for tiny inputs (a few hundred to a few
thousand cells): clarity over speed.

Cells live in doubled-grid coordinates: along an axis, an even coordinate is a
vertex position and an odd coordinate is an edge between two vertex positions.
The dimension of a cell is the number of odd coordinates.

- ``construction="V"``: input values sit on the vertices.  A grid of ``n_i``
  vertices per axis gives ``2*n_i - 1`` doubled coordinates; a cell's value is the
  max over the vertices of its closure.
- ``construction="T"``: input values sit on the top-dimensional cells.  A grid of
  ``m_i`` top cells per axis has ``m_i + 1`` vertices, so ``2*m_i + 1`` doubled
  coordinates; top cell ``k`` sits at odd coordinate ``2k+1``; a cell's value is
  the min over the top cells that contain it.

Result: a ``collections.Counter`` over ``(dim, birth, death)`` tuples (floats),
off-diagonal pairs only (``birth != death``) plus all essential classes, with
``death = inf`` for essential classes (an all-(+inf) input has the essential class
``(0, inf, inf)``).  ``superlevel=True`` returns the sublevel result of ``-x`` reported on the
original scale (``birth >= death``, essential death ``-inf``), as cuph does.
"""

from __future__ import annotations

from collections import Counter
import numpy as np

__all__ = ["cell_values", "persistence_pairs", "euler_characteristic", "n_cells"]


def _as_float_array(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    a = a.astype(np.float64)
    if a.ndim < 1 or a.ndim > 4 or a.size == 0:
        raise ValueError(f"brute force wants a non-empty 1-4-D array, got shape {a.shape}")
    if np.isnan(a).any():
        raise ValueError("NaN in brute-force input")
    return a


def cell_values(x, construction: str = "V") -> np.ndarray:
    """Filtration value of every cell, as an array over the doubled grid.

    Built one axis at a time: max (V) / min (T) are associative, so extending the
    values axis by axis gives max / min over all vertices / top cells of a cell.
    """
    a = _as_float_array(x)
    for ax in range(a.ndim):
        a = np.moveaxis(a, ax, 0)
        n = a.shape[0]
        if construction == "V":
            out = np.empty((2 * n - 1,) + a.shape[1:])
            out[0::2] = a
            out[1::2] = np.maximum(a[:-1], a[1:])
        elif construction == "T":
            out = np.empty((2 * n + 1,) + a.shape[1:])
            out[1::2] = a
            pad = np.full((1,) + a.shape[1:], np.inf)
            left = np.concatenate([pad, a])  # top cell on the left of vertex k
            right = np.concatenate([a, pad])  # top cell on the right of vertex k
            out[0::2] = np.minimum(left, right)
        else:
            raise ValueError(f"unknown construction {construction!r}")
        a = np.moveaxis(out, 0, ax)
    return a


def _cell_dims(shape) -> np.ndarray:
    """Dimension (number of odd coordinates) of each cell of a doubled grid."""
    dims = np.zeros(shape, dtype=np.int64)
    for ax, n in enumerate(shape):
        odd = (np.arange(n) % 2).reshape([-1 if i == ax else 1 for i in range(len(shape))])
        dims = dims + odd
    return dims


def n_cells(x, construction: str = "V") -> Counter:
    """Counter dim -> number of cells of that dimension in the full complex."""
    vals = cell_values(x, construction)
    return Counter(_cell_dims(vals.shape).ravel().tolist())


def euler_characteristic(x, construction: str = "V") -> int:
    c = n_cells(x, construction)
    return sum((-1) ** k * v for k, v in c.items())


def _reduce(vals: np.ndarray, dims: np.ndarray):
    """Standard Z/2 column reduction over the filtration order of all cells.

    Returns a list of (dim, birth, death, essential) over all pairs and essential
    classes, zero-length pairs included."""
    shape = vals.shape
    flat_vals = vals.ravel()
    flat_dims = dims.ravel()
    ncell = flat_vals.size
    # total order: value, then dimension (faces before cofaces at equal value),
    # then flat index (any fixed tie-break is fine for the multiset of pairs).
    order = np.lexsort((np.arange(ncell), flat_dims, flat_vals))
    pos = np.empty(ncell, dtype=np.int64)
    pos[order] = np.arange(ncell)

    strides = np.array([int(np.prod(shape[i + 1:])) for i in range(len(shape))], dtype=np.int64)
    coords = np.stack(np.unravel_index(np.arange(ncell), shape), axis=1)

    # boundary column of the cell at filtration position j, as a Python int bitmask
    # whose bit p is set iff the cell at filtration position p is a facet.
    columns = []
    for j in range(ncell):
        c = order[j]
        mask = 0
        for ax in range(len(shape)):
            if coords[c, ax] % 2 == 1:
                mask ^= 1 << int(pos[c - strides[ax]])
                mask ^= 1 << int(pos[c + strides[ax]])
        columns.append(mask)

    pivot_owner = {}  # pivot row -> column that has it
    pairs = []
    for j in range(ncell):
        col = columns[j]
        while col:
            p = col.bit_length() - 1
            k = pivot_owner.get(p)
            if k is None:
                break
            col ^= columns[k]
        columns[j] = col
        if col:
            p = col.bit_length() - 1
            pivot_owner[p] = j
            pairs.append((p, j))
    killed = set()
    for p, j in pairs:
        killed.add(p)
        killed.add(j)
    result = []
    for p, j in pairs:
        b, d = order[p], order[j]
        result.append((int(flat_dims[b]), float(flat_vals[b]), float(flat_vals[d]), False))
    for j in range(ncell):
        if j not in killed:
            b = order[j]
            result.append((int(flat_dims[b]), float(flat_vals[b]), np.inf, True))
    return result


def persistence_pairs(
    x,
    construction: str = "V",
    maxdim: int | None = None,
    superlevel: bool = False,
    keep_diagonal: bool = False,
) -> Counter:
    """Counter of (dim, birth, death); see the module docstring."""
    a = _as_float_array(x)
    if superlevel:
        a = -a
    vals = cell_values(a, construction)
    dims = _cell_dims(vals.shape)
    if vals.size > 60000:
        raise ValueError(f"brute force is for tiny inputs; {vals.size} cells is too many")
    out = Counter()
    for k, b, d, essential in _reduce(vals, dims):
        if maxdim is not None and k > maxdim:
            continue
        if k >= a.ndim:  # cannot happen: top cells are never essential-or-positive in a box
            raise AssertionError("positive top cell in a contractible box")
        if b == d and not keep_diagonal and not essential:
            continue  # zero-length pair (an essential class born at +inf is kept)
        if superlevel:
            b, d = -b, -d
        out[(k, b, d)] += 1
    return out


def _self_check() -> None:
    """Tiny hand-checked cases (run: python tests/brute_force.py)."""
    # 1-D V: two minima 0 (idx 0) and 1 (idx 2), separated by 5: bar (1, 5) + essential 0.
    assert persistence_pairs([0, 5, 1]) == Counter({(0, 0.0, np.inf): 1, (0, 1.0, 5.0): 1})
    # 2-D V: a ring of 0s around a 3: one H1 class born at 0, killed at 3.
    r = np.zeros((3, 3))
    r[1, 1] = 3
    assert persistence_pairs(r) == Counter({(0, 0.0, np.inf): 1, (1, 0.0, 3.0): 1})
    # T on the same array: the 8 zero squares form a ring, the hole is filled at 3.
    assert persistence_pairs(r, "T") == Counter({(0, 0.0, np.inf): 1, (1, 0.0, 3.0): 1})
    # Euler characteristic of a box is 1
    for shape in [(1,), (4,), (2, 3), (1, 1, 1), (2, 2, 2, 2)]:
        for c in "VT":
            assert euler_characteristic(np.zeros(shape), c) == 1
    # superlevel: [0,5,1] upside down: max 5 essential, nothing else
    assert persistence_pairs([0, 5, 1], superlevel=True) == Counter({(0, 5.0, -np.inf): 1})
    # an all-(+inf) input still has its essential class
    assert persistence_pairs([np.inf, np.inf]) == Counter({(0, np.inf, np.inf): 1})
    # the cell grid for V of n vertices has 2n-1 positions, for T of m top cells 2m+1
    assert cell_values(np.zeros((2, 3)), "V").shape == (3, 5)
    assert cell_values(np.zeros((2, 3)), "T").shape == (5, 7)


if __name__ == "__main__":
    _self_check()
    print("brute force self-check ok")
