"""Reference persistence diagrams from gudhi, CubicalRipser and cuph, in one format.

Every function returns a ``collections.Counter`` over ``(dim, birth, death)`` tuples of
Python floats (float64), off-diagonal pairs only (``birth != death``), ``death = inf``
for essential classes.  ``as_sorted`` turns one into a sorted list for readable
assertion messages.

Conventions checked empirically (gudhi 3.13, cripser 0.0.37):

* gudhi ``CubicalComplex(vertices=a)`` / ``(top_dimensional_cells=a)`` takes an
  n-D numpy array as is; its index outputs (``vertices_of_persistence_pairs``,
  ``cofaces_of_persistence_pairs``) are *Fortran-order* flat indices into ``a``
  (first axis fastest).  Diagrams are invariant under axis permutations, so the
  order does not matter here.  gudhi drops zero-length pairs itself
  (``min_persistence=0`` keeps only persistence > 0); we filter again anyway.
  gudhi accepts ``+-inf`` input values.
* ``cripser.computePH(a, maxdim=k)`` is the V construction (values on vertices),
  ``tcripser.computePH`` / ``cripser.computePH_T`` the T construction.  Input must be
  float64, 1-4-D (4-D is supported).  The result is an (n, 9) array
  ``[dim, birth, death, x, y, z, x, y, z]`` for 1-3-D input and (n, 11)
  ``[dim, birth, death, x, y, z, w, x, y, z, w]`` for 4-D input; essential classes have
  ``death = DBL_MAX`` (1.7976931348623157e308), which we convert to ``inf``.
  ``maxdim`` bounds the dimensions reported.
* KNOWN CRIPSER BUG (0.0.37): with the V construction on a 2-D array with an axis of
  length 1 (shape (1, n) or (n, 1)), cripser reports every vertex as an essential
  class.  gudhi is right there.  ``cripser_is_reliable`` says when to use gudhi
  (or the brute force) instead.  See ``KNOWN_DISCREPANCIES`` for the complete list
  found by running the references against each other.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = [
    "DBL_MAX",
    "KNOWN_DISCREPANCIES",
    "as_sorted",
    "brute_pairs",
    "counter_from_arrays",
    "cripser_is_reliable",
    "cripser_pairs",
    "cuph_pairs",
    "gudhi_pairs",
]

DBL_MAX = np.finfo(np.float64).max

KNOWN_DISCREPANCIES = """
Found by running gudhi 3.13, cripser 0.0.37 and tests/brute_force.py against each other
on random small inputs (ties and continuous values, 1-4-D, both constructions):

1. cripser V, 2-D input with an axis of length 1 ((1, n), (n, 1)): every vertex is
   reported as an essential H0 class.  gudhi and the brute force agree with each other.
2. cripser (V and T) excludes cells of value +inf from the complex (its threshold is
   DBL_MAX).  Because a class that dies at +inf and an essential class look the same
   once DBL_MAX is read as inf, the diagrams still agree, except for an all-(+inf)
   input: cripser reports nothing, gudhi reports the essential class (0, inf, inf)
   (as does the brute force, and as cuph must).
3. Index conventions differ (not a diagram disagreement): gudhi's
   vertices_of_persistence_pairs / cofaces_of_persistence_pairs are Fortran-order flat
   indices into the array as passed; cripser's location columns are coordinates.
4. cripser (V and T) reads the strides of axes of length 1: a view that numpy flags
   C-contiguous although such an axis carries another stride (np.swapaxes of a (1, 6, 3, 1)
   array, then np.ascontiguousarray, which returns it unchanged) gives wrong pairs; a fresh
   copy gives the right ones (found by a fuzz run against cuph, 2026-11-27).
No other disagreement was found between gudhi, cripser and the brute force on
~6000 random inputs: shapes (1,)..(9, 9), (5, 6, 4), (4, 4, 3, 3), (3, 3, 3, 3) and all
degenerate shapes with axes of length 1, values with many ties (randint(0, 4)),
continuous values and +-inf mixed in, maxdim = d-2 and full; and gudhi vs cripser
(40x40, 64x64, 12^3, 16^3, 1x40x40) and cripser vs brute force (5^4), ties and floats.
"""


def as_sorted(c: Counter) -> list:
    """Sorted list of (dim, birth, death) with multiplicity, for assertion messages."""
    return sorted(c.elements(), key=lambda t: (t[0], t[1], t[2]))


def counter_from_arrays(dim, birth, death, maxdim=None, keep_diagonal=False,
                        essential=None) -> Counter:
    """Counter of (dim, birth, death); zero-length pairs dropped unless keep_diagonal.

    ``essential`` (bool mask) marks essential classes, which are kept even when
    birth == death: an item whose minimum is +inf has the essential class (0, inf, inf).
    """
    dim = np.asarray(dim).astype(np.int64)
    birth = np.asarray(birth).astype(np.float64)
    death = np.asarray(death).astype(np.float64)
    if essential is None:
        essential = np.zeros(dim.shape, dtype=bool)
    essential = np.asarray(essential, dtype=bool)
    out = Counter()
    for k, b, d, e in zip(dim.tolist(), birth.tolist(), death.tolist(), essential.tolist()):
        if maxdim is not None and k > maxdim:
            continue
        if b == d and not keep_diagonal and not e:
            continue
        out[(int(k), float(b), float(d))] += 1
    return out


def _float64(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    # A fresh copy, not ascontiguousarray: numpy flags a view C-contiguous whatever the strides
    # of its length-1 axes, and cripser reads those (KNOWN_DISCREPANCIES, 4).
    return np.array(a, dtype=np.float64, order="C", copy=True)


def gudhi_pairs(x, construction: str = "V", maxdim: int | None = None) -> Counter:
    import gudhi

    a = _float64(x)
    if construction == "V":
        cc = gudhi.CubicalComplex(vertices=a)
    elif construction == "T":
        cc = gudhi.CubicalComplex(top_dimensional_cells=a)
    else:
        raise ValueError(construction)
    pers = cc.persistence(homology_coeff_field=2, min_persistence=0)
    dim = [p[0] for p in pers]
    birth = np.array([p[1][0] for p in pers], dtype=np.float64)
    death = np.array([p[1][1] for p in pers], dtype=np.float64)
    # gudhi drops finite zero-length pairs itself; what it reports with birth == death
    # is the essential class (inf, inf) of an all-(+inf) input.
    return counter_from_arrays(dim, birth, death, maxdim, essential=np.isinf(birth) & (birth == death))


def cripser_is_reliable(shape, construction: str = "V") -> bool:
    """False where cripser 0.0.37 is known to be wrong (see KNOWN_DISCREPANCIES)."""
    shape = tuple(shape)
    if construction == "V" and len(shape) == 2 and 1 in shape:
        return False
    return True


def cripser_pairs(x, construction: str = "V", maxdim: int | None = None) -> Counter:
    import cripser

    a = _float64(x)
    md = a.ndim - 1 if maxdim is None else maxdim
    if construction == "V":
        res = cripser.computePH(a, maxdim=md)
    elif construction == "T":
        res = cripser.computePH_T(a, maxdim=md)
    else:
        raise ValueError(construction)
    res = np.asarray(res, dtype=np.float64)
    res = res.reshape(-1, res.shape[-1] if res.ndim == 2 else 9)
    death = res[:, 2].copy()
    death[death == DBL_MAX] = np.inf
    return counter_from_arrays(res[:, 0], res[:, 1], death, maxdim)


def brute_pairs(x, construction: str = "V", maxdim: int | None = None, **kw) -> Counter:
    from brute_force import persistence_pairs

    return persistence_pairs(x, construction, maxdim=maxdim, **kw)


def cuph_pairs(dg, item: int | None = None, keep_diagonal: bool = False) -> Counter:
    """Counter from a cuph ``Diagrams`` (all rows, or only rows of one flat item).

    Essential classes are the rows with ``death_index == -1``."""
    dim = np.asarray(dg.dim)
    birth = np.asarray(dg.birth)
    death = np.asarray(dg.death)
    ess = np.asarray(dg.death_index) == -1
    if item is not None:
        sel = np.asarray(dg.item) == item
        dim, birth, death, ess = dim[sel], birth[sel], death[sel], ess[sel]
    return counter_from_arrays(dim, birth, death, keep_diagonal=keep_diagonal, essential=ess)
