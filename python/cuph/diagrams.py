"""The result of :func:`cuph.persistence`: persistence diagrams of a batch of items.

A :class:`Diagrams` object holds every persistence pair of every item of a batch as a
*structure of arrays* (one row per pair), sorted by ``(item, dim)``, with ``offsets``
telling where item ``i``, homology dimension ``k`` starts and ends.  Methods give views
per item and per dimension, summaries (Betti numbers, Betti curves), and adapters to the
formats of gudhi, persim, giotto-tda, CubicalRipser and PyTorch, plus ``.npz``/``.csv``
files and a matplotlib plot.

Conventions
-----------
* ``birth_index`` / ``death_index`` are flat **C-order** indices into **one item** of the
  input (the vertex array for ``construction="V"``, the top-cell array for ``"T"``): the
  input value at that index is the birth (death) value.  ``death_index == -1`` marks an
  essential class (a class that never dies); its ``death`` is ``+inf`` (``-inf`` for
  superlevel diagrams).  :meth:`Diagrams.unravel` turns a flat index into coordinates.
* Intervals are half-open: a class with ``birth = b`` and ``death = d`` is alive at
  filtration value ``eta`` when ``b <= eta < d`` (sublevel filtration).
* With ``superlevel=True`` the filtration is the superlevel filtration of the input; values
  are reported on the original scale, so ``birth >= death`` and essential deaths are
  ``-inf``.
"""

from __future__ import annotations

import contextlib
import gc
import os
from typing import (
    TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union,
)

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import numpy.typing as npt

__all__ = ["Diagrams", "DBL_MAX"]


def _optional_import(module: str, needed_by: str, extra: str) -> Any:
    """Import an optional dependency, or raise an ImportError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on environment
        package = module.split(".")[0]
        raise ImportError(
            f"{needed_by} needs {package}, which is not installed: pip install {package} "
            f"(or pip install 'cuph[{extra}]')"
        ) from e

#: The value CubicalRipser writes for an infinite death (C's ``DBL_MAX``).
DBL_MAX: float = float(np.finfo(np.float64).max)

_FORMAT_VERSION = 1


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while lists of millions of tuples are built
    (gudhi's formats): each tuple counts as an allocation, so the collector ran again and again
    over the growing lists, which can hold no cycle. 2048 maps of 56x56 (1.9 M pairs):
    to_gudhi 1.1-1.2 -> 0.4-0.5 s. The collector's previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# betti_curve compares every pair with each threshold up to this many thresholds; beyond, it
# finds each pair's range of thresholds by binary search. 2048 maps of 56x56 (1.9 M pairs):
# 1 threshold 5 vs 24 ms, 8: 37 vs 37 ms, 32: 143 vs 49 ms, 100: 432 vs 66 ms.
_DIRECT_ETAS = 8
_ARRAY_FIELDS = ("dim", "birth", "death", "birth_index", "death_index", "item", "offsets")

IndexLike = Union[int, Tuple[int, ...]]


def _as_int_tuple(x: Any, name: str) -> Tuple[int, ...]:
    try:
        return tuple(int(v) for v in x)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints, got {x!r}") from None


def _items_from_offsets(offsets: np.ndarray, n_items: int, maxdim: int) -> np.ndarray:
    """The ``item`` column of a result from its ``offsets`` (rows are grouped by item)."""
    starts = np.asarray(offsets, dtype=np.int64)[:: maxdim + 1]
    return np.repeat(np.arange(n_items, dtype=np.int64), np.diff(starts))


def _join(columns: Sequence[Any], dtype: Any) -> np.ndarray:
    """One column from the parts' columns, in memory from cuph's result pool when large (warm
    pages, as the engine's own result columns: see :func:`cuph.memory.result_cache`)."""
    from . import _core

    arrays = [np.asarray(c) for c in columns]
    out = _core.pooled_empty(sum(a.shape[0] for a in arrays), np.dtype(dtype))
    return np.concatenate(arrays, out=out, casting="unsafe") if arrays else out


class Diagrams:
    """Persistence diagrams of all items of a batch, as a structure of arrays.

    Normally built by :func:`cuph.persistence`; the constructor is keyword-only and checks
    that the arrays fit together.

    Parameters
    ----------
    dim : array of int8, shape (n,)
        Homology dimension of each pair.
    birth, death : array of float, shape (n,)
        Filtration values at which each class is born and dies; ``death`` is ``inf``
        (``-inf`` for superlevel diagrams) for essential classes.
    birth_index, death_index : array of int64, shape (n,)
        Flat C-order index into one item of the input of the value that created / killed
        the class; ``death_index == -1`` for essential classes.
    item : array of int64, shape (n,)
        Flat (C-order) index of the batch item each pair belongs to. It follows from
        ``offsets``: the constructor accepts ``None`` and builds it when first read (the
        engine does not write it: 8 bytes per pair saved on every batch).
    offsets : array of int64, shape (n_items * (maxdim + 1) + 1,)
        Rows are sorted by ``(item, dim)``; item ``i``, dimension ``k`` is
        ``slice(offsets[i*(maxdim+1)+k], offsets[i*(maxdim+1)+k+1])``.
    batch_shape : tuple of int
        Shape of the batch (``()`` for a single item).
    item_shape : tuple of int
        Shape of one item of the input.
    maxdim : int
        Largest homology dimension computed.
    construction : {"V", "T", "VR"}
        Whether input values sit on vertices ("V") or on top-dimensional cells ("T") of a
        cubical complex, or the diagrams are Vietoris-Rips diagrams of point clouds ("VR",
        :mod:`cuph.vr`: ``item_shape`` is ``(n, n)`` and indices point into the distance matrix).
    superlevel : bool
        Whether these are diagrams of the superlevel filtration.

    Examples
    --------
    >>> import numpy as np
    >>> from cuph.diagrams import Diagrams
    >>> dg = Diagrams(dim=np.array([0, 0], np.int8), birth=np.array([0.0, 1.0]),
    ...               death=np.array([np.inf, 3.0]), birth_index=np.array([0, 2]),
    ...               death_index=np.array([-1, 1]), item=np.array([0, 0]),
    ...               offsets=np.array([0, 2]), batch_shape=(), item_shape=(3,),
    ...               maxdim=0, construction="V", superlevel=False)
    >>> len(dg), dg.n_pairs
    (1, 2)
    >>> dg.in_dim(0)
    array([[ 0., inf],
           [ 1.,  3.]])
    >>> dg.to_gudhi()
    [(0, (0.0, inf)), (0, (1.0, 3.0))]
    """

    dim: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    birth_index: np.ndarray
    death_index: np.ndarray
    _item: Optional[np.ndarray]
    offsets: np.ndarray
    batch_shape: Tuple[int, ...]
    item_shape: Tuple[int, ...]
    maxdim: int
    construction: str
    superlevel: bool

    def __init__(
        self,
        *,
        dim: "npt.ArrayLike",
        birth: "npt.ArrayLike",
        death: "npt.ArrayLike",
        birth_index: "npt.ArrayLike",
        death_index: "npt.ArrayLike",
        item: "Optional[npt.ArrayLike]",
        offsets: "npt.ArrayLike",
        batch_shape: Sequence[int],
        item_shape: Sequence[int],
        maxdim: int,
        construction: str,
        superlevel: bool,
    ) -> None:
        self.dim = np.asarray(dim)
        self.birth = np.asarray(birth)
        self.death = np.asarray(death)
        self.birth_index = np.asarray(birth_index)
        self.death_index = np.asarray(death_index)
        # None: rebuilt from the offsets when first read (the engine does not write it).
        self.item = None if item is None else np.asarray(item)  # type: ignore[assignment]
        n = self.dim.shape[0] if self.dim.ndim == 1 else -1
        for name in ("dim", "birth", "death", "birth_index", "death_index", "_item"):
            a = getattr(self, name)
            if a is None:
                continue
            if a.ndim != 1 or a.shape[0] != n:
                raise ValueError(
                    f"{name.lstrip('_')} must be a 1-D array with as many rows as dim ({n}), "
                    f"got shape {a.shape}"
                )
        self._set_layout(n, offsets, batch_shape, item_shape, maxdim, construction, superlevel,
                         ("V", "T", "VR"))

    def _set_layout(self, n: int, offsets: "npt.ArrayLike", batch_shape: Sequence[int],
                    item_shape: Sequence[int], maxdim: int, construction: str,
                    superlevel: bool, constructions: Tuple[str, ...]) -> None:
        """Sets and checks everything but the columns (``n`` rows): the constructors' shared
        part."""
        self.offsets = np.asarray(offsets)
        self.batch_shape = _as_int_tuple(batch_shape, "batch_shape")
        self.item_shape = _as_int_tuple(item_shape, "item_shape")
        self.maxdim = int(maxdim)
        if construction not in constructions:
            raise ValueError(f"construction must be one of {constructions}, got {construction!r}")
        self.construction = str(construction)
        self.superlevel = bool(superlevel)
        if self.maxdim < 0:
            raise ValueError(f"maxdim must be >= 0, got {maxdim}")
        n_groups = self.n_items * (self.maxdim + 1)
        if self.offsets.shape != (n_groups + 1,):
            raise ValueError(
                f"offsets must have n_items * (maxdim + 1) + 1 = {n_groups + 1} entries, "
                f"got shape {self.offsets.shape}"
            )
        if n_groups >= 0 and (int(self.offsets[0]) != 0 or int(self.offsets[-1]) != n):
            raise ValueError(
                f"offsets must start at 0 and end at the number of rows ({n}), "
                f"got {int(self.offsets[0])} .. {int(self.offsets[-1])}"
            )

    # ------------------------------------------------------------------ pickling
    # What Dask and multiprocessing workers send back is pickled: `item` follows from `offsets`,
    # so it is not sent (8 bytes per pair fewer to receive) and is rebuilt only when read.
    # (Sending the indices as int32 was measured too: the conversions cost what the smaller
    # transfer saves.)
    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        del state["_item"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._item = None

    @property
    def item(self) -> np.ndarray:
        """Batch item (flat index) of each pair."""
        if self._item is None:
            self._item = _items_from_offsets(self.offsets, self.n_items, self.maxdim)
        return self._item

    @item.setter
    def item(self, value: Optional[np.ndarray]) -> None:
        self._item = value

    # ------------------------------------------------------------------ sizes, access
    @property
    def n_items(self) -> int:
        """Number of batch items (``prod(batch_shape)``; 1 for a single item)."""
        return int(np.prod(self.batch_shape, dtype=np.int64))

    @property
    def n_pairs(self) -> int:
        """Total number of persistence pairs (rows) over all items and dimensions."""
        return int(self.dim.shape[0])

    def __len__(self) -> int:
        """Number of batch items."""
        return self.n_items

    def _flat_item(self, index: Any) -> int:
        """Turn an int (flat) or a tuple of ints (one per batch axis) into a flat index."""
        n = self.n_items
        if isinstance(index, tuple):
            if len(index) == 0 and self.batch_shape == ():
                return 0
            if len(index) != len(self.batch_shape):
                raise IndexError(
                    f"a tuple index needs one int per batch axis {self.batch_shape}, "
                    f"got {index!r}"
                )
            coords = []
            for axis, (i, size) in enumerate(zip(index, self.batch_shape)):
                i = _as_index(i)
                if not -size <= i < size:
                    raise IndexError(
                        f"index {i} is out of bounds for batch axis {axis} of size {size}"
                    )
                coords.append(i % size)
            return int(np.ravel_multi_index(tuple(coords), self.batch_shape))
        i = _as_index(index)
        if not -n <= i < n:
            raise IndexError(f"item index {i} is out of range for {n} item(s)")
        return i % n

    def __getitem__(self, index: IndexLike) -> "Diagrams":
        """One item as a single-item :class:`Diagrams` (``batch_shape == ()``).

        ``index`` is a flat item index (an int, negative allowed) or a tuple with one int
        per batch axis.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> dg = cuph.persistence(np.random.default_rng(0).random((2, 3, 8, 8)), batch_dims=2)
        >>> dg[4].batch_shape, dg[1, 1].n_pairs == dg[4].n_pairs, dg[-1].item_shape
        ((), True, (8, 8))
        """
        i = self._flat_item(index)
        m1 = self.maxdim + 1
        lo = int(self.offsets[i * m1])
        hi = int(self.offsets[(i + 1) * m1])
        rows = slice(lo, hi)
        # Views of this (validated) object's columns: built without __init__'s checks, which
        # cost most of the 40 us a `for d in dg` loop spent per item.
        one = Diagrams.__new__(Diagrams)
        one.dim = self.dim[rows]
        one.birth = self.birth[rows]
        one.death = self.death[rows]
        one.birth_index = self.birth_index[rows]
        one.death_index = self.death_index[rows]
        one._item = None  # zeros, built from the offsets if read
        one.offsets = np.asarray(self.offsets[i * m1 : (i + 1) * m1 + 1], dtype=np.int64) - lo
        one.batch_shape = ()
        one.item_shape = self.item_shape
        one.maxdim = self.maxdim
        one.construction = self.construction
        one.superlevel = self.superlevel
        return one

    def __iter__(self) -> Iterator["Diagrams"]:
        """Iterate over the items (flat C order), each a single-item :class:`Diagrams`."""
        for i in range(self.n_items):
            yield self[i]

    def __repr__(self) -> str:
        counts = np.bincount(np.asarray(self.dim, dtype=np.int64), minlength=self.maxdim + 1)
        per_dim = ", ".join(f"H{k}: {int(c)}" for k, c in enumerate(counts[: self.maxdim + 1]))
        return (
            f"Diagrams(n_items={self.n_items}, batch_shape={self.batch_shape}, "
            f"item_shape={self.item_shape}, construction={self.construction!r}, "
            f"maxdim={self.maxdim}, superlevel={self.superlevel}, "
            f"n_pairs={self.n_pairs} [{per_dim}], dtype={self.birth.dtype})"
        )

    def _group_slice(self, item: int, k: int) -> slice:
        g = item * (self.maxdim + 1) + k
        return slice(int(self.offsets[g]), int(self.offsets[g + 1]))

    @property
    def essential(self) -> np.ndarray:
        """Boolean mask of the rows that are essential classes (``death_index == -1``)."""
        return np.asarray(self.death_index) == -1

    # ------------------------------------------------------------------ summaries
    def in_dim(self, k: int) -> np.ndarray:
        """All pairs of homology dimension ``k`` (over all items) as an ``(n, 2)`` array.

        Columns are ``[birth, death]``; rows keep the stored order (by item).  Use
        ``dg[i].in_dim(k)`` for one item.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> dg = cuph.persistence(np.array([[0., 1, 0], [1, 2, 1], [0, 1, 0]]))
        >>> dg.in_dim(0)
        array([[ 0.,  1.],
               [ 0.,  1.],
               [ 0.,  1.],
               [ 0., inf]])
        >>> dg.in_dim(1)
        array([[1., 2.]])
        """
        k = int(k)
        mask = np.asarray(self.dim) == k
        return np.stack([np.asarray(self.birth)[mask], np.asarray(self.death)[mask]], axis=1)

    def _essential_counts(self) -> np.ndarray:
        """Essential classes per (item, dim) group, in offsets' order: rows are stored group
        by group, so a count is a difference of a running sum at the group's bounds."""
        running = np.concatenate([[0], np.cumsum(self.essential, dtype=np.int64)])
        offsets = np.asarray(self.offsets)
        return running[offsets[1:]] - running[offsets[:-1]]

    def betti_numbers(self) -> np.ndarray:
        """Number of essential classes per item and dimension.

        Returns
        -------
        numpy.ndarray of int64, shape ``batch_shape + (maxdim + 1,)``
            The Betti numbers of the whole complex (a full grid is contractible, so this is
            ``[1, 0, ..., 0]`` per item).

        Examples
        --------
        >>> import numpy as np, cuph
        >>> cuph.persistence(np.zeros((4, 5, 5)), batch_dims=1).betti_numbers()[0]
        array([1, 0])
        """
        return self._essential_counts().reshape(self.batch_shape + (self.maxdim + 1,))

    def betti_curve(self, eta: "npt.ArrayLike") -> np.ndarray:
        """Betti curves: the number of classes alive at each filtration value ``eta``.

        For sublevel diagrams, ``beta_k(eta) = #{pairs of dim k with birth <= eta < death}``
        (intervals are half-open ``[birth, death)``), i.e. the Betti numbers of the
        sublevel set ``{x <= eta}``; at ``eta = inf`` that set is everything, and its Betti
        numbers are the essential classes (as :func:`cuph.betti_numbers_at` counts).  For superlevel diagrams (``birth >= death``),
        ``beta_k(eta) = #{pairs with death < eta <= birth}``, the Betti numbers of the
        superlevel set ``{x >= eta}``.

        Parameters
        ----------
        eta : float or 1-D array of float
            Filtration values (NaN is not allowed).

        Returns
        -------
        numpy.ndarray of int64, shape ``batch_shape + eta.shape + (maxdim + 1,)``

        Examples
        --------
        >>> import numpy as np, cuph
        >>> x = np.array([[0., 5, 0], [5, 5, 5], [0, 5, 0]])
        >>> cuph.persistence(x).betti_curve([-1, 0, 4.9, 5])
        array([[0, 0],
               [4, 0],
               [4, 0],
               [1, 0]])
        """
        eta_arr = np.asarray(eta, dtype=np.float64)
        if eta_arr.ndim > 1:
            raise ValueError(f"eta must be a scalar or a 1-D array, got shape {eta_arr.shape}")
        if np.isnan(eta_arr).any():
            raise ValueError("eta must not contain NaN")
        eta_flat = eta_arr.reshape(-1)
        m1 = self.maxdim + 1
        birth = np.asarray(self.birth, dtype=np.float64)
        death = np.asarray(self.death, dtype=np.float64)
        if eta_flat.shape[0] <= _DIRECT_ETAS:
            counts = self._betti_direct(birth, death, eta_flat)
        else:
            counts = self._betti_ranges(birth, death, eta_flat)
        # At eta = +inf (-inf for superlevel) the whole complex is in: its Betti numbers are
        # the essential classes. The half-open rule alone would drop them (death = eta = inf);
        # a class killed by an infinite cell (death_index >= 0) stays dead.
        end = np.inf if not self.superlevel else -np.inf
        at_end = eta_flat == end
        if at_end.any():
            counts[:, at_end] = self._essential_counts()[:, None]
        # counts: (n_groups, n_eta) -> batch_shape + eta.shape + (maxdim + 1,)
        out = counts.reshape(self.n_items, m1, eta_flat.shape[0]).transpose(0, 2, 1)
        return np.ascontiguousarray(out.reshape(self.batch_shape + eta_arr.shape + (m1,))).astype(
            np.int64, copy=False
        )

    def _group_ids(self) -> np.ndarray:
        """The (item, dim) group of each row (rows are stored group by group)."""
        offsets = np.asarray(self.offsets)
        return np.repeat(np.arange(offsets.shape[0] - 1, dtype=np.int64), np.diff(offsets))

    def _betti_direct(self, birth: np.ndarray, death: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Classes alive per (group, eta) by comparing every pair with each eta: linear in
        the pairs per threshold, the fast way for a few thresholds."""
        groups = self._group_ids()
        n_groups = np.asarray(self.offsets).shape[0] - 1
        counts = np.empty((n_groups, eta.shape[0]), dtype=np.int64)
        for j, e in enumerate(eta):
            if self.superlevel:  # death < eta <= birth
                alive = (death < e) & (birth >= e)
            else:  # birth <= eta < death
                alive = (birth <= e) & (death > e)
            counts[:, j] = np.bincount(groups[alive], minlength=n_groups)
        return counts

    def _betti_ranges(self, birth: np.ndarray, death: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Classes alive per (group, eta), shape (groups, len(eta)), for many thresholds.

        A pair is alive at the thresholds of one range of the sorted ``eta``, found by binary
        search (``birth <= eta < death``; superlevel: ``death < eta <= birth``), so each pair
        adds +1 at the range's start and -1 at its end in a difference array per group, whose
        running sum is the count: O(pairs log len(eta) + groups len(eta)), no sort of the pairs.
        ``birth``, ``death`` and ``eta`` are float64 (float32 values widen exactly).
        """
        n_eta = eta.shape[0]
        order = np.argsort(eta, kind="stable")
        eta_sorted = eta[order]
        if self.superlevel:
            start = np.searchsorted(eta_sorted, death, side="right")
            stop = np.searchsorted(eta_sorted, birth, side="right")
        else:
            start = np.searchsorted(eta_sorted, birth, side="left")
            stop = np.searchsorted(eta_sorted, death, side="left")
        n_groups = np.asarray(self.offsets).shape[0] - 1
        width = n_eta + 1
        base = self._group_ids() * width
        size = n_groups * width
        steps = (np.bincount(base + start, minlength=size)
                 - np.bincount(base + stop, minlength=size))
        alive = np.cumsum(steps.reshape(n_groups, width), axis=1)[:, :n_eta]
        counts = np.empty_like(alive)
        counts[:, order] = alive
        return counts

    def unravel(self, index: "npt.ArrayLike") -> Tuple[Any, ...]:
        """Coordinates in ``item_shape`` of a flat C-order index (``birth_index``, ...).

        Works on an int or an array of ints (``numpy.unravel_index``); ``-1`` (the death
        index of an essential class) is not a valid index and raises ``ValueError``.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> x = np.array([[3., 1, 2], [4, 0, 5]])
        >>> dg = cuph.persistence(x)
        >>> coords = dg.unravel(dg.birth_index)
        >>> bool(np.all(x[coords] == dg.birth))
        True
        """
        idx = np.asarray(index)
        if np.any(idx < 0):
            raise ValueError(
                "unravel() got a negative index: -1 is the death_index of an essential "
                "class, which has no cell; select the rows with death_index >= 0 first"
            )
        out = np.unravel_index(idx, self.item_shape)
        if idx.ndim == 0:
            return tuple(int(c) for c in out)
        return tuple(out)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def concat(
        cls, parts: Sequence["Diagrams"], batch_shape: Optional[Sequence[int]] = None
    ) -> "Diagrams":
        """Concatenate the items of several :class:`Diagrams` (in order) into one.

        All parts must share ``item_shape``, ``maxdim``, ``construction`` and
        ``superlevel``.  Item numbers are renumbered globally.  ``batch_shape`` defaults to
        ``(total number of items,)``; it may be any shape with that many items.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> x = np.random.default_rng(1).random((6, 8, 8))
        >>> a = cuph.persistence(x[:4], batch_dims=1)
        >>> b = cuph.persistence(x[4:], batch_dims=1)
        >>> cuph.Diagrams.concat([a, b]).n_pairs == cuph.persistence(x, batch_dims=1).n_pairs
        True
        """
        if len(parts) == 0:
            raise ValueError("concat() needs at least one Diagrams")
        first = parts[0]
        for p in parts[1:]:
            if (p.item_shape, p.maxdim, p.construction, p.superlevel) != (
                first.item_shape,
                first.maxdim,
                first.construction,
                first.superlevel,
            ):
                raise ValueError(
                    "concat() needs parts with the same item_shape, maxdim, construction "
                    "and superlevel"
                )
        n_items = sum(p.n_items for p in parts)
        shape = (n_items,) if batch_shape is None else _as_int_tuple(batch_shape, "batch_shape")
        if int(np.prod(shape, dtype=np.int64)) != n_items:
            raise ValueError(f"batch_shape {shape} does not hold {n_items} items")
        off_parts = [np.zeros(1, dtype=np.int64)]
        base_row = 0
        for p in parts:
            off_parts.append(np.asarray(p.offsets[1:], dtype=np.int64) + base_row)
            base_row += p.n_pairs
        offsets = np.concatenate(off_parts)
        dt = np.result_type(*[np.asarray(p.birth).dtype for p in parts])
        return cls(
            dim=_join([p.dim for p in parts], np.int8),
            birth=_join([p.birth for p in parts], dt),
            death=_join([p.death for p in parts], dt),
            birth_index=_join([p.birth_index for p in parts], np.int64),
            death_index=_join([p.death_index for p in parts], np.int64),
            item=None,  # built from the offsets when first read
            offsets=offsets,
            batch_shape=shape,
            item_shape=first.item_shape,
            maxdim=first.maxdim,
            construction=first.construction,
            superlevel=first.superlevel,
        )

    # ------------------------------------------------------------------ adapters
    def _per_item(self, fn: Any) -> Any:
        """Apply ``fn`` to each single item; a bare result for ``batch_shape == ()``."""
        if self.batch_shape == ():
            return fn(self[0])
        return [fn(d) for d in self]

    def _gudhi_order(self) -> np.ndarray:
        """Row order of gudhi's ``persistence()`` within each item (items stay in order): dim
        descending, then length descending.

        Ties (equal lengths) keep essential classes first, then smaller births.
        """
        birth = np.asarray(self.birth, dtype=np.float64)
        death = np.asarray(self.death, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            length = np.abs(death - birth)
        length = np.where(np.isnan(length), np.inf, length)
        keys = (
            birth if not self.superlevel else -birth,
            ~self.essential,
            -length,
            -np.asarray(self.dim, dtype=np.int64),
            np.asarray(self.item, dtype=np.int64),
        )
        return np.lexsort(keys)

    def to_gudhi(self) -> Union[List[Tuple[int, Tuple[float, float]]], List[List[Any]]]:
        """Pairs in the format of gudhi's ``CubicalComplex.persistence()``.

        A list of ``(dim, (birth, death))`` with Python ints and floats, ordered like gudhi
        (dimension descending, then persistence ``death - birth`` descending; gudhi's order
        among equal lengths is unspecified, here essential classes come first, then smaller
        births).  Essential classes have ``death = inf``.  For a batch (``batch_shape !=
        ()``) the result is a list with one such list per item (flat C order).

        Examples
        --------
        >>> import numpy as np, cuph
        >>> cuph.persistence(np.array([[0., 1, 0], [1, 2, 1], [0, 1, 0]]), construction="T").to_gudhi()
        [(1, (1.0, 2.0)), (0, (0.0, inf)), (0, (0.0, 1.0)), (0, (0.0, 1.0)), (0, (0.0, 1.0))]
        """

        def one(d: Diagrams) -> List[Tuple[int, Tuple[float, float]]]:
            # tolist() gives Python ints and floats; zip builds the tuples in C.
            order = d._gudhi_order()
            dims = np.asarray(d.dim, dtype=np.int64)[order].tolist()
            births = np.asarray(d.birth, dtype=np.float64)[order].tolist()
            deaths = np.asarray(d.death, dtype=np.float64)[order].tolist()
            return list(zip(dims, zip(births, deaths)))

        with _gc_paused():
            return self._per_item(one)

    def to_persim(self) -> Union[List[np.ndarray], List[List[np.ndarray]]]:
        """Diagrams in the format of persim / ripser.py: a list with one array per dimension.

        Element ``k`` is a float64 array of shape ``(n_k, 2)`` with columns
        ``[birth, death]`` for dimensions ``k = 0 .. maxdim``.  Essential classes are kept
        with ``death = inf`` (as ripser.py does); persim's plotting handles ``inf`` but its
        distances (bottleneck, wasserstein) need finite values, so filter them first, e.g.
        ``d[np.isfinite(d[:, 1])]``.  For a batch, a list of such lists, one per item.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> dgms = cuph.persistence(np.array([[0., 1, 0], [1, 2, 1], [0, 1, 0]]),
        ...                         construction="T").to_persim()
        >>> [d.shape for d in dgms]
        [(4, 2), (1, 2)]
        """

        # One (n, 2) float64 array for the whole batch; each diagram is a slice of it (a view).
        pairs = np.column_stack([np.asarray(self.birth, dtype=np.float64),
                                 np.asarray(self.death, dtype=np.float64)]).reshape(-1, 2)
        at = np.asarray(self.offsets).tolist()
        m1 = self.maxdim + 1
        per_item = [[pairs[at[i * m1 + k]:at[i * m1 + k + 1]] for k in range(m1)]
                    for i in range(self.n_items)]
        return per_item[0] if self.batch_shape == () else per_item

    def to_giotto(
        self,
        homology_dimensions: Optional[Sequence[int]] = None,
        infinity_values: Optional[float] = None,
        reduced_homology: bool = True,
    ) -> np.ndarray:
        """Diagrams in the format of giotto-tda's ``CubicalPersistence.transform``.

        Reproduces giotto-tda's post-processing of gudhi diagrams
        (``gtda.homology._utils._postprocess_diagrams`` with ``format="gudhi"``):

        1. per item and dimension, pairs in gudhi's ``persistence()`` order;
        2. with ``reduced_homology=True`` (giotto's default) the first pair of dimension 0
           (the essential class) is dropped;
        3. remaining ``+inf`` deaths are replaced by ``infinity_values``, and only pairs with
           ``birth < death`` are kept (so an essential class born at ``infinity_values``
           disappears);
        4. each dimension is padded to the largest number of pairs any item has in it (at
           least 1) with triples ``[m, m, q]``, where ``m`` is the smallest birth of
           dimension ``q`` over all items (0 if there is none);
        5. dimensions are stacked in increasing order.

        Parameters
        ----------
        homology_dimensions : sequence of int, optional
            Dimensions to include (default: ``0 .. maxdim``); sorted ascending like giotto.
        infinity_values : float, optional
            Value that replaces ``inf`` deaths.  giotto-tda's default is the maximum of the
            input passed to ``fit``; a Diagrams object does not know its input, so the
            default here is the largest finite birth or death over all items (0 if none).
            Pass ``float(x.max())`` to reproduce giotto exactly.
        reduced_homology : bool, default True
            Drop the essential class of dimension 0 (giotto's ``reduced_homology``).

        Returns
        -------
        numpy.ndarray of float64, shape ``(n_items, n_features, 3)``
            Triples ``[birth, death, dim]``; triples with ``birth == death`` are padding.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> x = np.random.default_rng(0).random((3, 8, 8))
        >>> dg = cuph.persistence(x, construction="T", batch_dims=1)
        >>> Xt = dg.to_giotto(infinity_values=float(x.max()))
        >>> Xt.shape[0], Xt.shape[2]
        (3, 3)
        """
        if self.superlevel:
            raise ValueError(
                "to_giotto() needs sublevel diagrams (giotto-tda keeps only birth < death); "
                "compute the diagrams of -x instead of superlevel=True"
            )
        dims = (
            list(range(self.maxdim + 1))
            if homology_dimensions is None
            else sorted(int(k) for k in homology_dimensions)
        )
        for k in dims:
            if not 0 <= k <= self.maxdim:
                raise ValueError(f"homology dimension {k} is not in 0..maxdim={self.maxdim}")
        if infinity_values is None:
            vals = np.concatenate(
                [np.asarray(self.birth, np.float64), np.asarray(self.death, np.float64)]
            )
            vals = vals[np.isfinite(vals)]
            inf_value = float(vals.max()) if vals.size else 0.0
        else:
            inf_value = float(infinity_values)

        order = self._gudhi_order()  # by item, gudhi's order inside each
        items_o = np.asarray(self.item, dtype=np.int64)[order]
        dims_o = np.asarray(self.dim, dtype=np.int64)[order]
        birth_o = np.asarray(self.birth, dtype=np.float64)[order]
        death_o = np.asarray(self.death, dtype=np.float64)[order]
        n_items = self.n_items
        per_dim: Dict[int, Tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for k in dims:
            mask = dims_o == k
            it, b, d = items_o[mask], birth_o[mask], death_o[mask].copy()
            if k == 0 and reduced_homology:
                # drop the first dim-0 pair of each item (gudhi order puts the essential first)
                first = np.ones(it.shape[0], dtype=bool)
                first[1:] = it[1:] != it[:-1]
                keep = ~first
                it, b, d = it[keep], b[keep], d[keep]
            d[np.isposinf(d)] = inf_value
            keep = b < d
            per_dim[k] = (it[keep], b[keep], d[keep])

        counts = {k: np.bincount(per_dim[k][0], minlength=n_items) for k in dims}
        widths = [max(1, int(counts[k].max()) if n_items else 1) for k in dims]
        n_features = int(sum(widths))
        out = np.empty((n_items, n_features, 3), dtype=np.float64)
        start = 0
        for k, w in zip(dims, widths):
            it, b, d = per_dim[k]
            pad = float(b.min()) if b.size else 0.0
            out[:, start : start + w, 0] = pad
            out[:, start : start + w, 1] = pad
            out[:, start : start + w, 2] = k
            if it.size:
                first_row = np.searchsorted(it, np.arange(n_items), side="left")
                pos = np.arange(it.shape[0]) - first_row[it]
                out[it, start + pos, 0] = b
                out[it, start + pos, 1] = d
            start += w
        return out

    def to_cripser(self) -> Union[np.ndarray, List[np.ndarray]]:
        """Pairs in the array format of CubicalRipser (``cripser.computePH``).

        An ``(n, 9)`` float64 array with rows
        ``[dim, birth, death, x1, y1, z1, x2, y2, z2]`` for 1-3-D items, and ``(n, 11)``
        with ``[dim, birth, death, x1, y1, z1, w1, x2, y2, z2, w2]`` for 4-D items (as
        cripser 0.0.37 does), where ``(x1, ...)`` are the coordinates (in input axis order)
        of the cell whose value is the birth (a vertex for "V", a top cell for "T" --
        ``tcripser``'s convention) and ``(x2, ...)`` that of the death.  Unused coordinates
        are 0.  Essential classes have ``death = DBL_MAX`` (``1.797...e308``, cripser's
        value) and death coordinates ``-1``; for superlevel diagrams the essential death
        is ``-DBL_MAX``.  Rows are sorted by dimension.  For a batch, a list of arrays,
        one per item.

        Where several cells share the birth (or death) value, the coordinates may name a
        different one of those cells than cripser does; the values are the same.

        Examples
        --------
        >>> import numpy as np, cuph
        >>> a = cuph.persistence(np.array([[0., 2], [3, 1]])).to_cripser()
        >>> a[:, :3]
        array([[0.00000000e+000, 1.00000000e+000, 2.00000000e+000],
               [0.00000000e+000, 0.00000000e+000, 1.79769313e+308]])
        """
        ndim = len(self.item_shape)
        if ndim > 4:
            raise ValueError(f"cripser's format has at most 4 coordinates; items are {ndim}-D")
        ncoord = 4 if ndim == 4 else 3

        def one(d: Diagrams) -> np.ndarray:
            n = d.n_pairs
            out = np.zeros((n, 3 + 2 * ncoord), dtype=np.float64)
            out[:, 0] = np.asarray(d.dim)
            out[:, 1] = np.asarray(d.birth, dtype=np.float64)
            death = np.asarray(d.death, dtype=np.float64).copy()
            death[np.isposinf(death)] = DBL_MAX
            death[np.isneginf(death)] = -DBL_MAX
            out[:, 2] = death
            if n:
                bc = np.unravel_index(np.asarray(d.birth_index, dtype=np.int64), d.item_shape)
                ess = d.essential
                didx = np.where(ess, 0, np.asarray(d.death_index, dtype=np.int64))
                dc = np.unravel_index(didx, d.item_shape)
                for a in range(ndim):
                    out[:, 3 + a] = bc[a]
                    out[:, 3 + ncoord + a] = dc[a]
                out[ess, 3 + ncoord :] = -1
            return out

        return self._per_item(one)

    def to_torch(self, device: Any = None) -> Dict[str, Any]:
        """The arrays as a dict of ``torch.Tensor`` (keys as in :meth:`to_numpy`).

        Keys: ``dim`` (int8), ``birth``, ``death`` (float32/64), ``birth_index``,
        ``death_index``, ``item``, ``offsets`` (int64).  Tensors share memory with the numpy
        arrays when ``device`` is None or CPU.  PyTorch is imported only here.

        Raises
        ------
        ImportError
            If PyTorch is not installed.
        """
        torch = _optional_import("torch", "Diagrams.to_torch()", "torch")
        out: Dict[str, Any] = {}
        for name in _ARRAY_FIELDS:
            t = torch.from_numpy(np.ascontiguousarray(np.asarray(getattr(self, name))))
            out[name] = t if device is None else t.to(device)
        return out

    def to_numpy(self) -> Dict[str, np.ndarray]:
        """Everything as a dict of numpy arrays (what :meth:`save` writes).

        Keys: the seven arrays (``dim``, ``birth``, ``death``, ``birth_index``,
        ``death_index``, ``item``, ``offsets``) and the metadata ``batch_shape``,
        ``item_shape`` (int64 arrays), ``maxdim`` (int), ``construction`` (str),
        ``superlevel`` (bool) and ``format_version``, as 0-d arrays.
        """
        out = {name: np.asarray(getattr(self, name)) for name in _ARRAY_FIELDS}
        out["batch_shape"] = np.asarray(self.batch_shape, dtype=np.int64).reshape(-1)
        out["item_shape"] = np.asarray(self.item_shape, dtype=np.int64).reshape(-1)
        out["maxdim"] = np.asarray(self.maxdim, dtype=np.int64)
        out["construction"] = np.asarray(self.construction)
        out["superlevel"] = np.asarray(self.superlevel)
        out["format_version"] = np.asarray(_FORMAT_VERSION, dtype=np.int64)
        return out

    def save(self, path: "Union[str, os.PathLike[str]]") -> None:
        """Write to a compressed ``.npz`` file; read back with :meth:`Diagrams.load`.

        Examples
        --------
        >>> import numpy as np, cuph, tempfile, os
        >>> dg = cuph.persistence(np.random.default_rng(0).random((2, 6, 6)), batch_dims=1)
        >>> p = os.path.join(tempfile.mkdtemp(), "dg.npz")
        >>> dg.save(p)
        >>> cuph.Diagrams.load(p).n_pairs == dg.n_pairs
        True
        """
        with open(os.fspath(path), "wb") as f:
            np.savez_compressed(f, **self.to_numpy())  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: "Union[str, os.PathLike[str]]") -> "Diagrams":
        """Read a file written by :meth:`save`."""
        with np.load(os.fspath(path), allow_pickle=False) as z:
            missing = [k for k in _ARRAY_FIELDS + ("batch_shape", "item_shape") if k not in z]
            if missing:
                raise ValueError(
                    f"{os.fspath(path)!r} is not a cuph Diagrams file (missing {missing})"
                )
            return cls(
                **{name: z[name] for name in _ARRAY_FIELDS},
                batch_shape=tuple(int(v) for v in z["batch_shape"]),
                item_shape=tuple(int(v) for v in z["item_shape"]),
                maxdim=int(z["maxdim"]),
                construction=str(z["construction"]),
                superlevel=bool(z["superlevel"]),
            )

    def to_csv(self, path: "Union[str, os.PathLike[str]]") -> None:
        """Write one line per pair: ``item,dim,birth,death,birth_index,death_index``.

        A header line names the columns.  ``item`` is the flat batch index; values are
        written with enough digits to round-trip (``inf`` / ``-inf`` for essential deaths).
        """
        birth = np.asarray(self.birth)
        ffmt = "%.9g" if birth.dtype == np.float32 else "%.17g"
        table = np.column_stack(
            [
                np.asarray(self.item, dtype=np.float64),
                np.asarray(self.dim, dtype=np.float64),
                np.asarray(self.birth, dtype=np.float64),
                np.asarray(self.death, dtype=np.float64),
                np.asarray(self.birth_index, dtype=np.float64),
                np.asarray(self.death_index, dtype=np.float64),
            ]
        ).reshape(-1, 6)
        with open(os.fspath(path), "w", newline="") as f:
            np.savetxt(
                f,
                table,
                fmt=["%d", "%d", ffmt, ffmt, "%d", "%d"],
                delimiter=",",
                header="item,dim,birth,death,birth_index,death_index",
                comments="",
            )

    def plot(
        self,
        ax: Any = None,
        dims: Optional[Sequence[int]] = None,
        item: Optional[IndexLike] = None,
    ) -> Any:
        """Scatter plot of a persistence diagram (matplotlib, imported only here).

        One colour per homology dimension, the diagonal, and a dashed "inf" line on which
        essential classes are drawn.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (default: a new figure).
        dims : sequence of int, optional
            Dimensions to draw (default: all).
        item : int or tuple of int, optional
            Which item of a batch to draw (default: all items together).

        Returns
        -------
        matplotlib.axes.Axes
        """
        plt = _optional_import("matplotlib.pyplot", "Diagrams.plot()", "plot")
        d = self if item is None else self[item]
        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.5))
        dims_list = list(range(d.maxdim + 1)) if dims is None else [int(k) for k in dims]
        birth = np.asarray(d.birth, dtype=np.float64)
        death = np.asarray(d.death, dtype=np.float64)
        fin = np.concatenate([birth[np.isfinite(birth)], death[np.isfinite(death)]])
        lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        pad = 0.1 * span
        pos_inf, neg_inf = hi + pad, lo - pad
        x0, x1 = lo - pad, hi + 2 * pad
        ax.plot([x0, x1], [x0, x1], color="0.5", lw=0.8, zorder=0)
        has_pos = np.isposinf(death).any()
        has_neg = np.isneginf(death).any()
        if has_pos:
            ax.axhline(pos_inf, color="0.4", ls="--", lw=0.8, zorder=0)
        if has_neg:
            ax.axhline(neg_inf, color="0.4", ls="--", lw=0.8, zorder=0)
        dim_arr = np.asarray(d.dim)
        for k in dims_list:
            mask = dim_arr == k
            if not mask.any():
                continue
            y = np.where(np.isposinf(death), pos_inf, np.where(np.isneginf(death), neg_inf, death))
            ax.scatter(birth[mask], y[mask], s=12, color=f"C{k % 10}", label=f"H{k}", alpha=0.8)
        ticks = list(ax.get_yticks())
        labels = [f"{t:g}" for t in ticks]
        if has_pos:
            ticks.append(pos_inf)
            labels.append("inf")
        if has_neg:
            ticks.append(neg_inf)
            labels.append("-inf")
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels)
        y0, y1 = (neg_inf - pad if has_neg else x0), (pos_inf + pad if has_pos else x1)
        ax.set_xlim(x0, x1)
        ax.set_ylim(min(x0, y0), max(x1, y1))
        ax.set_xlabel("birth")
        ax.set_ylabel("death")
        level = "superlevel" if d.superlevel else "sublevel"
        ax.set_title(f"persistence diagram ({d.construction}, {level})")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right")
        return ax


# The columns a GPU result keeps on its device (DeviceDiagrams); offsets stay on the host.
_DEVICE_COLUMNS = ("dim", "birth", "death", "birth_index", "death_index")


def _device_to_numpy(a: Any) -> np.ndarray:
    """A host copy of a torch tensor or cupy array."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch
        return np.asarray(a.detach().cpu().numpy())
    if hasattr(a, "get"):  # cupy
        return np.asarray(a.get())
    return np.asarray(a)


class DeviceDiagrams(Diagrams):
    """:class:`Diagrams` computed on a GPU whose columns stay there until numpy is asked for.

    ``cuph.persistence`` returns one for an input on a GPU (a torch CUDA tensor or a cupy array)
    that the GPU engine computes: ``dim``, ``birth``, ``death``, ``birth_index`` and
    ``death_index`` are arrays of the input's library on its device (:attr:`device_columns`),
    and :meth:`to_torch` returns those tensors without a copy. Everything else works as on
    :class:`Diagrams`: the first read of a numpy column (``dg.birth``, ``dg.in_dim(0)``,
    ``dg[3]``, ``dg.to_gudhi()``, pickling, ...) copies the five columns to the host once.
    ``offsets`` (and so ``item``, ``len``, ``n_pairs``) live on the host from the start. An
    empty batch (no items) gives a plain :class:`Diagrams`; :meth:`concat` and :meth:`load`
    build plain ones too.

    Examples
    --------
    On a machine with a GPU (skipped here)::

        >>> import torch, cuph
        >>> x = torch.rand(256, 56, 56, device="cuda")  # doctest: +SKIP
        >>> dg = cuph.persistence(x, batch_dims=1)  # doctest: +SKIP
        >>> dg.device_columns["birth"].device  # doctest: +SKIP
        device(type='cuda', index=0)
        >>> deaths = dg.to_torch()["death"]  # the same tensor, no copy  # doctest: +SKIP
        >>> h1 = dg.in_dim(1)  # numpy: the columns are copied to the host once  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        columns: Dict[str, Any],
        offsets: "npt.ArrayLike",
        batch_shape: Sequence[int],
        item_shape: Sequence[int],
        maxdim: int,
        construction: str,
        superlevel: bool,
    ) -> None:
        missing = [k for k in _DEVICE_COLUMNS if k not in columns]
        if missing:
            raise ValueError(f"columns: missing {missing}")
        n = len(columns["dim"])
        for k in _DEVICE_COLUMNS:
            shape = tuple(columns[k].shape)
            if shape != (n,):
                raise ValueError(f"{k} must be a 1-D array of {n} rows, got shape {shape}")
        self.device_columns = {k: columns[k] for k in _DEVICE_COLUMNS}
        self._item = None
        self._set_layout(n, offsets, batch_shape, item_shape, maxdim, construction, superlevel,
                         ("V", "T"))

    # What builds new diagrams from parts or files builds host ones.
    @classmethod
    def concat(cls, parts: Sequence["Diagrams"],
               batch_shape: Optional[Sequence[int]] = None) -> Diagrams:
        return Diagrams.concat(parts, batch_shape=batch_shape)

    @classmethod
    def load(cls, path: "Union[str, os.PathLike[str]]") -> Diagrams:
        return Diagrams.load(path)

    def __copy__(self) -> "DeviceDiagrams":
        new = DeviceDiagrams.__new__(DeviceDiagrams)
        new.__dict__.update(self.__dict__)
        new.device_columns = dict(self.device_columns)
        return new

    def __deepcopy__(self, memo: Dict[int, Any]) -> "DeviceDiagrams":
        # The columns copied on their device (torch: clone, cupy: copy), not through the host.
        new = self.__copy__()
        new.__dict__.update({k: np.array(v) for k, v in self.__dict__.items()
                             if isinstance(v, np.ndarray)})
        new.device_columns = {k: v.clone() if hasattr(v, "clone") else v.copy()
                              for k, v in self.device_columns.items()}
        return new

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set: the numpy columns, until they are first read.
        if name in _DEVICE_COLUMNS and "device_columns" in self.__dict__:
            self._to_host()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _to_host(self) -> None:
        for k in _DEVICE_COLUMNS:
            if k not in self.__dict__:
                self.__dict__[k] = _device_to_numpy(self.device_columns[k])

    def __repr__(self) -> str:
        counts = np.diff(self.offsets).reshape(-1, self.maxdim + 1).sum(axis=0)
        per_dim = ", ".join(f"H{k}: {int(c)}" for k, c in enumerate(counts))
        first = self.device_columns["birth"]
        return (
            f"DeviceDiagrams(n_items={self.n_items}, batch_shape={self.batch_shape}, "
            f"item_shape={self.item_shape}, construction={self.construction!r}, "
            f"maxdim={self.maxdim}, superlevel={self.superlevel}, "
            f"n_pairs={self.n_pairs} [{per_dim}], dtype={first.dtype}, "
            f"device={getattr(first, 'device', None)})"
        )

    @property
    def on_host(self) -> bool:
        """Whether the numpy columns have been made (by reading one)."""
        return all(k in self.__dict__ for k in _DEVICE_COLUMNS)

    @property
    def n_pairs(self) -> int:
        return int(self.offsets[-1])

    def cpu(self) -> Diagrams:
        """The same diagrams as a plain numpy :class:`Diagrams`."""
        self._to_host()
        return Diagrams(dim=self.dim, birth=self.birth, death=self.death,
                        birth_index=self.birth_index, death_index=self.death_index,
                        item=self._item, offsets=self.offsets, batch_shape=self.batch_shape,
                        item_shape=self.item_shape, maxdim=self.maxdim,
                        construction=self.construction, superlevel=self.superlevel)

    def to_torch(self, device: Any = None) -> Dict[str, Any]:
        """As :meth:`Diagrams.to_torch`; columns that are torch tensors on ``device`` (None: any)
        are returned as they are, without a copy, with ``item`` and ``offsets`` beside them on
        their device."""
        torch = _optional_import("torch", "Diagrams.to_torch()", "torch")
        cols = self.device_columns
        first = cols["dim"]
        if not isinstance(first, torch.Tensor):
            return super().to_torch(device)
        if device is not None:  # "cuda" means the current device, as torch's .to() reads it
            want = torch.device(device)
            if want.type == "cuda" and want.index is None:
                want = torch.device("cuda", torch.cuda.current_device())
            if want != first.device:
                return super().to_torch(device)
        out: Dict[str, Any] = dict(cols)
        out["offsets"] = torch.as_tensor(np.asarray(self.offsets, dtype=np.int64),
                                         device=first.device)
        counts = out["offsets"][1:] - out["offsets"][:-1]
        groups = torch.arange(counts.shape[0], device=first.device) // (self.maxdim + 1)
        out["item"] = torch.repeat_interleave(groups, counts)
        return out

    def __getstate__(self) -> Dict[str, Any]:
        # Pickled as host arrays: a worker or a file has no use for device memory.
        self._to_host()
        state = super().__getstate__()
        del state["device_columns"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)
        self.device_columns = {k: state[k] for k in _DEVICE_COLUMNS}


def _as_index(i: Any) -> int:
    if isinstance(i, (bool, np.bool_)):
        raise TypeError(f"item index must be an int, got {i!r}")
    try:
        return int(i.__index__())
    except AttributeError:
        raise TypeError(
            f"Diagrams indices must be an int or a tuple of ints, got {type(i).__name__}"
        ) from None
