"""A drop-in replacement for ``gudhi.CubicalComplex`` backed by :func:`cuph.persistence`.

Replace ``import gudhi`` by ``import cuph`` (or ``from cuph import CubicalComplex``) and the
usual gudhi code keeps working::

    >>> import numpy as np
    >>> import cuph as gudhi
    >>> cc = gudhi.CubicalComplex(top_dimensional_cells=np.array([[0., 1, 0],
    ...                                                            [1, 2, 1],
    ...                                                            [0, 1, 0]]))
    >>> cc.persistence()
    [(1, (1.0, 2.0)), (0, (0.0, inf)), (0, (0.0, 1.0)), (0, (0.0, 1.0)), (0, (0.0, 1.0))]
    >>> cc.betti_numbers()
    [1, 0, 0]

Conventions are gudhi 3.13's, checked against it:

* ``top_dimensional_cells=`` / ``vertices=`` take an n-D array of any shape, used as is; a
  flat sequence with ``dimensions=`` is read in **Fortran order** (first axis fastest):
  ``values.reshape(dimensions, order="F")``.
* Index outputs (:meth:`CubicalComplex.cofaces_of_persistence_pairs`,
  :meth:`CubicalComplex.vertices_of_persistence_pairs`) are **Fortran-order** flat indices
  into the input array, like gudhi's.  (Everything else in cuph uses C-order indices; the
  conversion happens here.)
* ``persistence()`` lists ``(dim, (birth, death))`` sorted by dimension descending, then by
  persistence ``death - birth`` descending.  ``persistence_intervals_in_dimension`` and the
  index lists keep gudhi's internal order: finite pairs by increasing death, then essential
  classes.
* ``min_persistence``: a finite pair is kept when ``death - birth > min_persistence``;
  ``min_persistence=-1`` (any negative value) also returns the zero-length pairs.  Essential
  classes are always kept.

Departures from gudhi
---------------------
* **Coefficients.**  The engine works over Z/2.  For 1-D and 2-D complexes every dimension is
  computed by union-find (dimension 0 and, by duality, the top one), which does not depend on
  the field: results equal gudhi's for any ``homology_coeff_field``.  In 3-D and 4-D the
  middle dimensions can differ between fields (pairs of sublevel sets can have torsion in
  their relative homology; a 64x56x56 noise volume already shows it in H1 between Z/2 and
  gudhi's default Z/11), so a field other than 2 gives a ``UserWarning`` and the Z/2 result.
  Pass ``homology_coeff_field=2`` to compare with gudhi.
* **Ties.**  When several cells share a filtration value, the multiset of
  ``(birth, death)`` values is the same as gudhi's, but the cell reported by
  ``cofaces_of_persistence_pairs`` / ``vertices_of_persistence_pairs`` may be a different
  cell with the same value, and pairs with equal keys may come in another order.
* ``perseus_file=`` reads non-periodic Perseus files; periodic ones (negative sizes) raise
  ``NotImplementedError``.
* ``all_cells()``, ``vertices()`` (of a complex built from top cells) and
  ``top_dimensional_cells()`` (of a complex built from vertices) return computed copies;
  the array the complex was built from is returned as a view (modifying it changes later
  results, as in gudhi).
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .diagrams import _gc_paused

__all__ = ["CubicalComplex"]

_MAX_FIELD = 46337


def _is_prime(p: int) -> bool:
    if p < 2:
        return False
    if p % 2 == 0:
        return p == 2
    f = 3
    while f * f <= p:
        if p % f == 0:
            return False
        f += 2
    return True


def check_field(homology_coeff_field: Any, dimension: int, stacklevel: int = 2) -> int:
    """gudhi's check of ``homology_coeff_field`` (a prime, at most 46337), and a UserWarning
    when a field other than Z/2 is asked for complexes of dimension 3 or 4, where the middle
    dimensions can depend on the field (see the module notes); returns the prime.
    ``stacklevel`` is the warning's, counted from the caller of this function."""
    from .engine import _check_int

    p = _check_int("homology_coeff_field", homology_coeff_field)
    if p > _MAX_FIELD:
        raise ValueError(f"Maximum homology_coeff_field allowed value is {_MAX_FIELD}")
    if not _is_prime(p):
        raise ValueError("homology_coeff_field must be a prime number")
    if p != 2 and dimension >= 3:
        warnings.warn(
            f"cuph computes persistent homology over Z/2; homology_coeff_field={p} is "
            "ignored. In 1-D and 2-D the diagrams are the same over every field, but the "
            "middle dimensions of a 3-D or 4-D complex can differ, so the Z/2 diagram may "
            f"differ from the one over Z/{p} (pass homology_coeff_field=2 to silence this)",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return p


def _read_perseus(path: "Union[str, os.PathLike[str]]") -> np.ndarray:
    """Read a Perseus-style bitmap file (gudhi's format) into an n-D float64 array.

    Format: the dimension ``d``, then ``d`` sizes, then the values of the top-dimensional
    cells with the first axis varying fastest.  ``inf`` marks missing cubes.
    """
    with open(os.fspath(path), "r") as f:
        tokens = f.read().split()
    if not tokens:
        raise ValueError(f"Perseus file {os.fspath(path)!r} is empty")
    try:
        d = int(tokens[0])
        sizes = [int(t) for t in tokens[1 : 1 + d]]
        values = np.array([float(t) for t in tokens[1 + d :]], dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"Perseus file {os.fspath(path)!r} is malformed: {e}") from None
    if len(sizes) != d or d < 1:
        raise ValueError(f"Perseus file {os.fspath(path)!r}: expected {d} sizes after the dimension")
    if any(s < 0 for s in sizes):
        raise NotImplementedError(
            "Perseus files with periodic directions (negative sizes) are not supported by "
            "cuph.CubicalComplex; use gudhi.PeriodicCubicalComplex for those"
        )
    n = int(np.prod(sizes, dtype=np.int64))
    if values.size != n:
        raise ValueError(
            f"Perseus file {os.fspath(path)!r}: sizes {sizes} need {n} values, found {values.size}"
        )
    return values.reshape(sizes, order="F")


def _expand_top(a: np.ndarray) -> np.ndarray:
    """All-cells array of the T construction: each cell gets the min of its top cofaces."""
    out = a
    for axis in range(a.ndim):
        n = out.shape[axis]
        shape = list(out.shape)
        shape[axis] = 2 * n + 1
        b = np.empty(shape, dtype=out.dtype)
        sl = [slice(None)] * out.ndim
        sl[axis] = slice(1, None, 2)
        b[tuple(sl)] = out
        if n > 0:
            pad_shape = list(out.shape)
            pad_shape[axis] = 1
            inf = np.full(pad_shape, np.inf, dtype=out.dtype)
            padded = np.concatenate([inf, out, inf], axis=axis)
            lo = [slice(None)] * out.ndim
            hi = [slice(None)] * out.ndim
            lo[axis] = slice(0, n + 1)
            hi[axis] = slice(1, n + 2)
            sl[axis] = slice(0, None, 2)
            b[tuple(sl)] = np.minimum(padded[tuple(lo)], padded[tuple(hi)])
        else:
            sl[axis] = slice(0, None, 2)
            b[tuple(sl)] = np.inf
        out = b
    return out


def _expand_vertices(a: np.ndarray) -> np.ndarray:
    """All-cells array of the V construction: each cell gets the max of its vertices."""
    out = a
    for axis in range(a.ndim):
        n = out.shape[axis]
        shape = list(out.shape)
        shape[axis] = max(2 * n - 1, 0)
        b = np.empty(shape, dtype=out.dtype)
        sl = [slice(None)] * out.ndim
        sl[axis] = slice(0, None, 2)
        b[tuple(sl)] = out
        if n > 1:
            lo = [slice(None)] * out.ndim
            hi = [slice(None)] * out.ndim
            lo[axis] = slice(0, n - 1)
            hi[axis] = slice(1, n)
            sl[axis] = slice(1, None, 2)
            b[tuple(sl)] = np.maximum(out[tuple(lo)], out[tuple(hi)])
        out = b
    return out


def _checked_values(array: Any, name: str) -> np.ndarray:
    """The values as float64, refusing what cuph.persistence would refuse, named after the
    constructor argument (NaN with its position in the array as given)."""
    from .engine import _as_array

    values = _as_array(array, name)
    if values.ndim == 0:
        raise ValueError(f"{name}: a scalar; pass an array with 1 to 4 axes")
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        if nan.any():
            pos = tuple(int(i) for i in np.argwhere(nan)[0])
            raise ValueError(
                f"{name}: contains NaN at index {pos}; NaN is not a filtration value (replace "
                "it, e.g. with np.nan_to_num, or +inf to leave the cell out)"
            )
    return values.astype(np.float64, copy=False)


def _checked_dimensions(dimensions: Any) -> Tuple[int, ...]:
    if isinstance(dimensions, (str, bytes)) or not hasattr(dimensions, "__iter__"):
        raise TypeError(f"dimensions: expected a sequence of ints, got "
                        f"{type(dimensions).__name__}")
    dims = []
    for d in dimensions:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"dimensions: expected a sequence of ints, got {dimensions!r}")
        if d < 1:
            raise ValueError(f"dimensions: every size must be >= 1, got {list(dimensions)}")
        dims.append(int(d))
    return tuple(dims)


class CubicalComplex:
    """Cubical complex of a grid of values, with gudhi's ``CubicalComplex`` interface.

    Exactly one of ``top_dimensional_cells``, ``vertices`` or ``perseus_file`` must be given.

    Parameters
    ----------
    top_dimensional_cells : array_like, optional
        Filtration values of the top-dimensional cells (pixels/voxels); lower-dimensional
        cells get the minimum of their top-dimensional cofaces (cuph's ``construction="T"``).
        An n-D array is used with its shape; a flat sequence needs ``dimensions``.
    vertices : array_like, optional
        Filtration values of the vertices; higher cells get the maximum of their vertices
        (cuph's ``construction="V"``).
    dimensions : sequence of int, optional
        Shape of a flat ``top_dimensional_cells`` / ``vertices``, read in Fortran order
        (first axis fastest), as gudhi does.
    perseus_file : str, optional
        Path of a Perseus-style bitmap file (dimension, sizes, then top-cell values with the
        first axis fastest).

    Raises
    ------
    ValueError
        If none or several of the inputs are given, or ``dimensions`` does not match.
    OSError
        If ``perseus_file`` cannot be opened.

    Examples
    --------
    From a flat list with ``dimensions`` (Fortran order, as in gudhi's examples):

    >>> import cuph
    >>> cc = cuph.CubicalComplex(dimensions=[3, 3],
    ...                          top_dimensional_cells=[1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> cc.persistence()
    [(0, (1.0, inf))]
    >>> cc.dimension(), cc.num_simplices()
    (2, 49)

    From vertices, with the vertex indices of each pair:

    >>> cc = cuph.CubicalComplex(vertices=[[2, 1, 6, 8], [5, 9, 4, 7], [4, 7, 3, 9]])
    >>> sorted(cc.persistence())
    [(0, (1.0, inf)), (0, (3.0, 6.0)), (0, (4.0, 5.0)), (1, (7.0, 9.0))]
    >>> cc.vertices_of_persistence_pairs()[1]
    [array([3])]
    """

    def __init__(
        self,
        *,
        top_dimensional_cells: Any = None,
        vertices: Any = None,
        dimensions: Optional[Sequence[int]] = None,
        perseus_file: "Union[str, os.PathLike[str]]" = "",
    ) -> None:
        self._pers: Optional[Tuple[np.ndarray, ...]] = None
        self._built_from_vertices = False
        if perseus_file:
            if top_dimensional_cells is not None or vertices is not None or dimensions is not None:
                raise ValueError(
                    "The Perseus file contains all the information, do not specify anything else"
                )
            self._cells = _read_perseus(perseus_file)
            return
        if top_dimensional_cells is not None:
            if vertices is not None:
                raise ValueError(
                    "Can only specify the top dimensional cells OR the vertices, not both"
                )
            array, name = top_dimensional_cells, "top_dimensional_cells"
        elif vertices is not None:
            array, name = vertices, "vertices"
            self._built_from_vertices = True
        else:
            raise ValueError(
                "Must specify one of top_dimensional_cells, vertices, or perseus_file"
            )
        values = _checked_values(array, name)
        if dimensions is None:
            cells = values
        else:
            dims = _checked_dimensions(dimensions)
            if values.ndim != 1:
                raise TypeError(
                    f"{name}: with dimensions=, the values must be a flat (1-D) sequence read in "
                    f"Fortran order; got an array of shape {values.shape}. Pass the n-D array "
                    "without dimensions= instead"
                )
            n = math.prod(dims)
            if values.size != n:
                raise ValueError(
                    f"dimensions={list(dims)} needs {n} values, got {values.size} in {name}"
                )
            cells = values.reshape(dims, order="F")
        if not 1 <= cells.ndim <= 4:
            raise ValueError(
                f"{name}: a cubical complex needs an array with 1 to 4 axes, got shape "
                f"{cells.shape}"
            )
        if cells.size == 0:
            raise ValueError(
                f"{name}: a cubical complex needs at least one value, got shape {cells.shape}"
            )
        self._cells = cells

    # ------------------------------------------------------------------ structure
    @property
    def _construction(self) -> str:
        return "V" if self._built_from_vertices else "T"

    def _top_shape(self) -> Tuple[int, ...]:
        if self._built_from_vertices:
            return tuple(n - 1 for n in self._cells.shape)
        return tuple(self._cells.shape)

    def dimension(self) -> int:
        """Dimension of the complex (number of axes of the grid)."""
        return int(self._cells.ndim)

    def num_simplices(self) -> int:
        """Number of cells (of all dimensions) of the complex."""
        return int(np.prod([2 * n + 1 for n in self._top_shape()], dtype=np.int64))

    def all_cells(self) -> np.ndarray:
        """Filtration values of all the cells, shape ``[2 * n + 1 for n in top-cell shape]``.

        A computed copy (gudhi returns a view of its internal storage).
        """
        if self._built_from_vertices:
            return _expand_vertices(self._cells)
        return _expand_top(self._cells)

    def top_dimensional_cells(self) -> np.ndarray:
        """Filtration values of the top-dimensional cells."""
        if self._built_from_vertices:
            return self.all_cells()[(slice(1, None, 2),) * self.dimension()]
        return self._cells

    def vertices(self) -> np.ndarray:
        """Filtration values of the vertices."""
        if self._built_from_vertices:
            return self._cells
        return self.all_cells()[(slice(0, None, 2),) * self.dimension()]

    # ------------------------------------------------------------------ persistence
    def _is_persistence_defined(self) -> bool:
        """True once :meth:`compute_persistence` (or :meth:`persistence`) has run."""
        return self._pers is not None

    def compute_persistence(
        self, homology_coeff_field: int = 11, min_persistence: float = 0
    ) -> None:
        """Compute the persistence of the complex (see :meth:`persistence`); returns nothing.

        Parameters
        ----------
        homology_coeff_field : int, default 11
            A prime (at most 46337), checked like gudhi.  The engine computes over Z/2,
            which gives the same diagrams for complexes of dimension <= 3 (see the module
            notes); for 3-D and 4-D complexes a field other than 2 warns.
        min_persistence : float, default 0
            Keep finite pairs with ``death - birth > min_persistence``; a negative value
            (gudhi's ``-1``) also keeps the zero-length pairs.
        """
        from .engine import persistence as _persistence

        check_field(homology_coeff_field, self.dimension(), stacklevel=2)
        if isinstance(min_persistence, (bool, np.bool_, str, bytes)):
            raise TypeError(f"min_persistence: expected a number, got {min_persistence!r}")
        min_pers = float(min_persistence)
        if math.isnan(min_pers):
            raise ValueError("min_persistence: NaN; pass a number (-1 keeps every pair)")
        dg = _persistence(
            self._cells,
            construction=self._construction,
            keep_diagonal=min_pers < 0,
        )
        dim = np.asarray(dg.dim, dtype=np.int64)
        birth = np.asarray(dg.birth, dtype=np.float64)
        death = np.asarray(dg.death, dtype=np.float64)
        bidx = np.asarray(dg.birth_index, dtype=np.int64)
        didx = np.asarray(dg.death_index, dtype=np.int64)
        ess = didx == -1
        with np.errstate(invalid="ignore"):
            keep = ess | ((death - birth) > min_pers)
        dim, birth, death, bidx, didx, ess = (
            dim[keep], birth[keep], death[keep], bidx[keep], didx[keep], ess[keep]
        )
        # gudhi's internal order: by dimension, finite pairs by increasing death, essentials last
        order = np.lexsort((birth, death, ess, dim))
        self._pers = (dim[order], birth[order], death[order], bidx[order], didx[order], ess[order])

    def persistence(
        self, homology_coeff_field: int = 11, min_persistence: float = 0
    ) -> List[Tuple[int, Tuple[float, float]]]:
        """Compute and return the persistence of the complex.

        Parameters
        ----------
        homology_coeff_field : int, default 11
            A prime; see :meth:`compute_persistence`.
        min_persistence : float, default 0
            Keep finite pairs with ``death - birth > min_persistence`` (``-1`` keeps all).

        Returns
        -------
        list of (int, (float, float))
            ``(dimension, (birth, death))``, sorted by dimension descending, then by
            ``death - birth`` descending (gudhi's order; among equal lengths the order is
            unspecified in gudhi, here by birth).  Essential classes have ``death = inf``.

        Examples
        --------
        >>> import cuph
        >>> cc = cuph.CubicalComplex(top_dimensional_cells=[[0, 0, 0], [0, 1, 0], [0, 0, 0]])
        >>> cc.persistence()
        [(1, (0.0, 1.0)), (0, (0.0, inf))]
        """
        self.compute_persistence(homology_coeff_field, min_persistence)
        assert self._pers is not None
        dim, birth, death = self._pers[0], self._pers[1], self._pers[2]
        with np.errstate(invalid="ignore"):
            length = death - birth
        length = np.where(np.isnan(length), np.inf, length)
        order = np.lexsort((birth, -length, -dim))
        # tolist() gives Python ints and floats; zip builds the tuples in C (a comprehension
        # converting each again took 37 us of a 28x28 image's 85 us call)
        with _gc_paused():
            return list(zip(dim[order].tolist(),
                            zip(birth[order].tolist(), death[order].tolist())))

    def _require(self, what: str) -> Tuple[np.ndarray, ...]:
        if self._pers is None:
            raise RuntimeError(f"compute_persistence() must be called before {what}()")
        return self._pers

    def betti_numbers(self) -> List[int]:
        """Betti numbers ``[b0, b1, ..., bd]`` of the complex (its essential classes).

        A full grid is contractible, so this is ``[1, 0, ..., 0]``.  Needs
        :meth:`compute_persistence` first.
        """
        dim, _, _, _, _, ess = self._require("betti_numbers")
        counts = np.bincount(dim[ess], minlength=self.dimension() + 1)
        return [int(c) for c in counts[: self.dimension() + 1]]

    def persistent_betti_numbers(self, from_value: float, to_value: float) -> List[int]:
        """Persistent Betti numbers: per dimension, classes with ``birth <= from_value`` that
        are still alive after ``to_value`` (``death > to_value``, or essential).

        Needs :meth:`compute_persistence` first.
        """
        dim, birth, death, _, _, ess = self._require("persistent_betti_numbers")
        alive = (birth <= float(from_value)) & (ess | (death > float(to_value)))
        counts = np.bincount(dim[alive], minlength=self.dimension() + 1)
        return [int(c) for c in counts[: self.dimension() + 1]]

    def persistence_intervals_in_dimension(self, dimension: int) -> np.ndarray:
        """The ``(n, 2)`` array of ``[birth, death]`` of dimension ``dimension``.

        Finite pairs by increasing death, then the essential classes (``death = inf``).
        Needs :meth:`compute_persistence` first.
        """
        dim, birth, death, _, _, _ = self._require("persistence_intervals_in_dimension")
        mask = dim == int(dimension)
        if not mask.any():
            return np.empty(shape=[0, 2])
        return np.stack([birth[mask], death[mask]], axis=1)

    def _index_pairs(self) -> List[List[np.ndarray]]:
        dim, _, _, bidx, didx, ess = self._pers  # type: ignore[misc]
        shape = self._cells.shape

        def to_f(idx: np.ndarray) -> np.ndarray:
            if idx.size == 0:
                return idx.astype(np.int64)
            return np.ravel_multi_index(np.unravel_index(idx, shape), shape, order="F").astype(
                np.int64
            )

        output: List[List[np.ndarray]] = [[], []]
        e_dim, e_b = dim[ess], to_f(bidx[ess])
        for h in range(int(e_dim.max()) + 1 if e_dim.size else 0):
            output[1].append(e_b[e_dim == h])
        r = ~ess
        r_dim, r_b, r_d = dim[r], to_f(bidx[r]), to_f(didx[r])
        for h in range(int(r_dim.max()) + 1 if r_dim.size else 0):
            m = r_dim == h
            output[0].append(np.stack([r_b[m], r_d[m]], axis=1).reshape(-1, 2))
        return output

    def cofaces_of_persistence_pairs(self) -> List[List[np.ndarray]]:
        """Top-dimensional cells whose values are the birth and death of each pair.

        For a complex built from ``top_dimensional_cells`` only (like gudhi).

        Returns
        -------
        [regular, essential]
            ``regular[k]`` is an ``(n_k, 2)`` int array of ``[birth cell, death cell]`` for
            dimension ``k`` (for ``k`` up to the largest dimension with a finite pair);
            ``essential[k]`` a 1-D int array of birth cells.  Indices are Fortran-order flat
            indices into the input array (gudhi's convention).  Where several top cells share
            the value, the cell may differ from gudhi's; its value is the same.

        Examples
        --------
        >>> import cuph
        >>> cc = cuph.CubicalComplex(top_dimensional_cells=[[0, 0, 0], [0, 1, 0], [0, 0, 0]])
        >>> _ = cc.persistence()
        >>> regular, essential = cc.cofaces_of_persistence_pairs()
        >>> regular[0].shape, int(regular[1][0, 1])
        ((0, 2), 4)
        """
        self._require("cofaces_of_persistence_pairs")
        if self._built_from_vertices:
            raise RuntimeError(
                "cofaces_of_persistence_pairs() only makes sense for a complex initialized "
                "from the values of the top-dimensional cells"
            )
        return self._index_pairs()

    def vertices_of_persistence_pairs(self) -> List[List[np.ndarray]]:
        """Vertices whose values are the birth and death of each pair.

        For a complex built from ``vertices`` only (like gudhi).  Same layout as
        :meth:`cofaces_of_persistence_pairs`, with Fortran-order flat indices into the
        vertex array.
        """
        self._require("vertices_of_persistence_pairs")
        if not self._built_from_vertices:
            raise RuntimeError(
                "vertices_of_persistence_pairs() only makes sense for a complex"
                " initialized from the values of the vertices"
            )
        return self._index_pairs()

    def __repr__(self) -> str:
        kind = "vertices" if self._built_from_vertices else "top_dimensional_cells"
        return f"CubicalComplex({kind} of shape {self._cells.shape})"
