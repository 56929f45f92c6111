"""``cuph.sklearn``: scikit-learn transformers, drop-ins for ``gudhi.sklearn``'s.

:class:`CubicalPersistence` and :class:`RipsPersistence` take the arguments of their
``gudhi.sklearn`` namesakes and return diagrams in their format, so ``from cuph.sklearn import
CubicalPersistence`` can replace ``from gudhi.sklearn import CubicalPersistence`` in a
pipeline. The diagrams are cuph's (:func:`cuph.persistence`, :func:`cuph.vr.persistence`): one
batched call per group of same-shaped inputs, spread over ``n_jobs`` threads (gudhi runs one
complex per joblib task), and only the dimensions asked for are computed.

Departures from gudhi, on purpose:

* ``n_jobs=None`` means every core this process may use (cuph's default), where joblib's
  ``None`` means one; ``-1`` is every core as in joblib, ``-2`` all but one, and so on.
* The rows of a diagram come in cuph's order (by death, then birth), not gudhi's; as
  multisets they are the same.
* ``homology_coeff_field`` (cubical): cuph computes over Z/2, which gives gudhi's diagrams for
  1-D and 2-D inputs over every field; for 3-D and 4-D inputs a field other than 2 warns, as
  :meth:`cuph.CubicalComplex.compute_persistence` does. (Rips: the field goes to giotto-ph.)
* Rips values are cuph's float64 edge lengths; gudhi computes its distances with scipy, so a
  value can differ from gudhi's in the last bit. ``num_collapses`` is accepted and ignored
  (cuph does not collapse edges), and ``input_type="distance coo_matrix"`` is not supported.

Examples
--------
>>> import numpy as np
>>> from cuph.sklearn import CubicalPersistence
>>> rings = np.ones((2, 5, 5)); rings[:, 1:4, 1:4] = 0; rings[0, 2, 2] = 2; rings[1, 2, 2] = 3
>>> CubicalPersistence(homology_dimensions=1).fit_transform(rings)[1].tolist()
[[0.0, 3.0]]
>>> h0, h1 = CubicalPersistence(homology_dimensions=[0, 1]).fit_transform(rings)[0]
>>> h0.tolist(), h1.tolist()
([[0.0, inf]], [[0.0, 2.0]])
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

try:
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils.validation import check_is_fitted
except ImportError as _err:  # pragma: no cover - scikit-learn is a test dependency
    raise ImportError("cuph.sklearn needs scikit-learn: pip install scikit-learn "
                      "(or pip install 'cuph[sklearn]')") from _err

from ._threads import usable_cores
from .cubical_complex import check_field
from .engine import _as_array, _check_int, persistence

__all__ = ["CubicalPersistence", "RipsPersistence"]

_INPUT_TYPES = {"top_dimensional_cells": "T", "vertices": "V"}


def _dimension_list(homology_dimensions: Any) -> Tuple[np.ndarray, bool]:
    """The requested dimensions as a 1-D int array, and whether a single int was given."""
    dims = np.asarray(homology_dimensions)
    if dims.ndim not in (0, 1) or (dims.size and dims.dtype.kind not in "iu"):
        raise ValueError(f"homology_dimensions: expected an int or a list of ints, got "
                         f"{homology_dimensions!r}")
    return dims.astype(np.int64).reshape(-1), dims.ndim == 0


def _threads(n_jobs: Any) -> int:
    """joblib's n_jobs as a thread count (None: every usable core, see the module notes)."""
    if n_jobs is None:
        return usable_cores()
    n = _check_int("n_jobs", n_jobs)
    if n == 0:
        raise ValueError("n_jobs: must not be 0 (None or -1: every core; k > 0: k threads)")
    return n if n > 0 else max(1, usable_cores() + 1 + n)


def _per_item(pairs: np.ndarray, offsets: np.ndarray, n: int, maxdim: int,
              dims: np.ndarray) -> List[List[np.ndarray]]:
    """Per item, the arrays of dimensions ``dims`` (in that order): slices (views) of a
    batch's ``(rows, 2)`` pairs stored item by item, dimensions 0..maxdim each, as ``offsets``
    delimits them; a dimension outside 0..maxdim gives an empty array."""
    at = offsets.tolist()
    width = maxdim + 1
    empty = np.empty((0, 2))
    cols = [int(k) if 0 <= k <= maxdim else -1 for k in dims]
    return [[pairs[at[i * width + k]:at[i * width + k + 1]] if k >= 0 else empty
             for k in cols] for i in range(n)]


class CubicalPersistence(TransformerMixin, BaseEstimator):
    """Persistence diagrams of cubical complexes, one per input array, in gudhi's format.

    Parameters
    ----------
    homology_dimensions : int or list of int
        The dimensions returned: an int gives one ``(n, 2)`` array per input, a list one list
        of arrays per input, in the list's order. Dimensions the input does not have give
        empty arrays.
    input_type : {"top_dimensional_cells", "vertices"}
        The values are those of the top-dimensional cells (cuph's ``"T"``) or of the vertices
        (``"V"``).
    homology_coeff_field : int, default 11
        A prime, checked as gudhi does; see the module notes.
    min_persistence : float, default 0.0
        Keep finite pairs with ``death - birth > min_persistence``; a negative value (gudhi's
        ``-1``) also keeps the pairs of length zero. Essential classes are always kept.
    n_jobs : int, optional
        Threads; see the module notes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> count = FunctionTransformer(lambda diagrams: np.array([[len(d)] for d in diagrams]))
    >>> pipe = make_pipeline(CubicalPersistence(homology_dimensions=0), count)
    >>> pipe.fit_transform(np.random.default_rng(0).random((3, 8, 8))).shape
    (3, 1)
    """

    def __init__(self, homology_dimensions: Any, input_type: str = "top_dimensional_cells",
                 homology_coeff_field: int = 11, min_persistence: float = 0.0,
                 n_jobs: Optional[int] = None) -> None:
        self.homology_dimensions = homology_dimensions
        self.input_type = input_type
        self.homology_coeff_field = homology_coeff_field
        self.min_persistence = min_persistence
        self.n_jobs = n_jobs
        _dimension_list(homology_dimensions)  # as gudhi: a bad argument fails at once

    def fit(self, X: Any, y: Any = None) -> "CubicalPersistence":
        """Checks the parameters; nothing is learnt from ``X``. Returns ``self``."""
        self.dimensions_, self.unwrap_ = _dimension_list(self.homology_dimensions)
        if self.input_type not in _INPUT_TYPES:
            raise ValueError(f"input_type: must be 'top_dimensional_cells' or 'vertices', got "
                             f"{self.input_type!r}")
        if isinstance(self.min_persistence, (bool, np.bool_, str, bytes)):
            raise TypeError(f"min_persistence: expected a number, got {self.min_persistence!r}")
        if np.isnan(float(self.min_persistence)):
            raise ValueError("min_persistence: NaN; pass a number (-1 keeps every pair)")
        check_field(self.homology_coeff_field, 0)  # a prime (the warning comes per input)
        _threads(self.n_jobs)
        return self

    def transform(self, X: Any, y: Any = None) -> List[Any]:
        """The persistence diagrams of the arrays in ``X``.

        Parameters
        ----------
        X : sequence of array_like, or an array whose first axis runs over the inputs
            Filtration values of each complex (1-D to 4-D); inputs may differ in shape.

        Returns
        -------
        list
            With ``homology_dimensions=k``: ``[array(Hk(X[0])), array(Hk(X[1])), ...]``; with
            a list ``[i, j]``: ``[[array(Hi(X[0])), array(Hj(X[0]))], ...]``. Each array is
            ``(n, 2)`` float64 ``[birth, death]``, ``death = inf`` for essential classes.
        """
        check_is_fitted(self, "dimensions_")
        if isinstance(X, np.ndarray) and X.dtype != object and 2 <= X.ndim <= 5:
            out = self._diagrams(X, X.ndim - 1)  # one batch, read in place
            return [d[0] for d in out] if self.unwrap_ else out
        items = self._items(X)
        out = [None] * len(items)
        groups: Dict[Tuple[Any, ...], List[int]] = {}
        for i, a in enumerate(items):
            groups.setdefault((a.shape, a.dtype.str), []).append(i)
        for (shape, _), members in groups.items():
            batch = (items[members[0]][None] if len(members) == 1
                     else np.stack([items[i] for i in members]))
            for i, diagrams in zip(members, self._diagrams(batch, len(shape))):
                out[i] = diagrams
        return [d[0] for d in out] if self.unwrap_ else out  # type: ignore[index]

    def _items(self, X: Any) -> List[np.ndarray]:
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
            raise TypeError(f"X: expected a sequence of arrays, got {type(X).__name__}")
        if isinstance(X, np.ndarray) and X.dtype != object:
            raise ValueError(f"X: expected a sequence of 1-D to 4-D arrays, got an array of shape "
                             f"{X.shape} (wrap a single input in a list)")
        items = []
        for k in range(len(X)):
            a = _as_array(X[k], f"X[{k}]")
            if a.ndim == 0 or a.ndim > 4:
                raise ValueError(f"X[{k}]: expected a 1-D to 4-D array, got shape {a.shape}")
            items.append(a)
        return items

    def _diagrams(self, batch: np.ndarray, d: int) -> List[List[np.ndarray]]:
        """Per item of ``batch`` (items of d axes), the arrays of the requested dimensions."""
        n = batch.shape[0]
        empty = np.empty((0, 2))
        wanted = [int(k) for k in self.dimensions_ if 0 <= k < d]
        if d >= 3:  # the warning points at the caller of transform
            check_field(self.homology_coeff_field, d, stacklevel=3)
        if not wanted or batch[0].size == 0:
            return [[empty for _ in self.dimensions_] for _ in range(n)]
        maxdim = max(wanted)
        min_pers = float(self.min_persistence)
        dg = persistence(batch, maxdim=maxdim, construction=_INPUT_TYPES[self.input_type],
                         batch_dims=1, n_threads=_threads(self.n_jobs),
                         keep_diagonal=min_pers < 0)
        pairs = np.column_stack([np.asarray(dg.birth, np.float64),
                                 np.asarray(dg.death, np.float64)])
        offsets = np.asarray(dg.offsets)
        # At 0 the engine has dropped the pairs of length zero, below 0 it kept them all.
        if min_pers > 0:
            with np.errstate(invalid="ignore"):
                keep = np.isinf(pairs[:, 1]) | (pairs[:, 1] - pairs[:, 0] > min_pers)
            pairs = pairs[keep]
            offsets = np.concatenate([[0], np.cumsum(keep)])[offsets]
        return _per_item(pairs, offsets, n, maxdim, self.dimensions_)


_RIPS_INPUTS = ("point cloud", "full distance matrix", "lower distance matrix",
                "distance coo_matrix")


def _full_from_lower(lower: Any, name: str) -> np.ndarray:
    """A symmetric matrix from a lower-triangular one: a square array (its upper part is not
    read) or ragged rows ``[[], [d10], [d20, d21], ...]`` (gudhi's "lower distance matrix")."""
    if isinstance(lower, np.ndarray) and lower.ndim == 2:
        low = np.tril(np.asarray(lower, np.float64), -1)
    else:
        rows = [np.asarray(r, np.float64).reshape(-1) for r in lower]
        n = len(rows)
        low = np.zeros((n, n))
        for i, r in enumerate(rows):
            if r.shape[0] < i:
                raise ValueError(f"{name}: row {i} of a lower distance matrix needs at least {i} "
                                 f"entries, got {r.shape[0]}")
            low[i, :i] = r[:i]
    return low + low.T


class RipsPersistence(TransformerMixin, BaseEstimator):
    """Vietoris-Rips persistence diagrams, one per point cloud or distance matrix, in gudhi's
    format (``gudhi.sklearn.RipsPersistence``).

    Parameters
    ----------
    homology_dimensions : int or list of int
        As for :class:`CubicalPersistence`.
    threshold : float, default inf
        Longest edge of the complex (edges longer than it are left out; the classes alive at
        it are essential).
    input_type : {"point cloud", "full distance matrix", "lower distance matrix"}
        Points ``(n, features)`` (Euclidean), symmetric matrices with a zero diagonal, or
        lower-triangular ones (square arrays whose upper part is not read, or ragged rows).
    num_collapses : int or "auto"
        Accepted for compatibility and ignored (see the module notes).
    homology_coeff_field : int, default 11
        A prime, used by giotto-ph for dimensions >= 1 (dimension 0 does not depend on it).
    n_jobs : int, optional
        Threads for cuph's distance matrices and dimension 0 (see the module notes;
        giotto-ph runs on one thread, :mod:`cuph.vr`).

    Examples
    --------
    >>> import numpy as np
    >>> from cuph.sklearn import RipsPersistence
    >>> square = np.array([[0., 0], [1, 0], [1, 1], [0, 1]])
    >>> h0, h1 = RipsPersistence(homology_dimensions=[0, 1]).fit_transform([square])[0]
    >>> h0.tolist(), h1.tolist()
    ([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, inf]], [[1.0, 1.4142135623730951]])
    """

    def __init__(self, homology_dimensions: Any, threshold: float = float("inf"),
                 input_type: str = "point cloud", num_collapses: Any = "auto",
                 homology_coeff_field: int = 11, n_jobs: Optional[int] = None) -> None:
        self.homology_dimensions = homology_dimensions
        self.threshold = threshold
        self.input_type = input_type
        self.num_collapses = num_collapses
        self.homology_coeff_field = homology_coeff_field
        self.n_jobs = n_jobs
        _dimension_list(homology_dimensions)

    def fit(self, X: Any, y: Any = None) -> "RipsPersistence":
        """Checks the parameters; nothing is learnt from ``X``. Returns ``self``."""
        self.dimensions_, self.unwrap_ = _dimension_list(self.homology_dimensions)
        if self.input_type not in _RIPS_INPUTS:
            raise ValueError(f"input_type: must be one of {_RIPS_INPUTS}, got {self.input_type!r}")
        if self.input_type == "distance coo_matrix":
            raise NotImplementedError("input_type: 'distance coo_matrix' (sparse graphs) is not "
                                      "supported by cuph; pass 'full distance matrix' with the "
                                      "dense matrix, or use gudhi.sklearn.RipsPersistence")
        if not (self.num_collapses == "auto" or (not isinstance(self.num_collapses, bool)
                                                 and isinstance(self.num_collapses, int)
                                                 and self.num_collapses >= 0)):
            raise ValueError(f"num_collapses: must be 'auto' or an int >= 0, got "
                             f"{self.num_collapses!r}")
        check_field(self.homology_coeff_field, 0)
        _threads(self.n_jobs)
        return self

    def transform(self, X: Any, y: Any = None) -> List[Any]:
        """The diagrams of the clouds (or matrices) in ``X``, as
        :meth:`CubicalPersistence.transform` returns them; ``death = inf`` for essential
        classes (dimension 0's oldest class, and those alive at ``threshold``)."""
        from . import vr

        check_is_fitted(self, "dimensions_")
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
            raise TypeError(f"X: expected a sequence of clouds, got {type(X).__name__}")
        points = self.input_type == "point cloud"
        items = []
        for k in range(len(X)):
            if self.input_type == "lower distance matrix":
                a = _full_from_lower(X[k], f"X[{k}]")
            else:
                a = _as_array(X[k], f"X[{k}]").astype(np.float64, copy=False)
                if a.ndim != 2:
                    raise ValueError(f"X[{k}]: expected a 2-D array ({self.input_type}), got "
                                     f"shape {a.shape}")
            items.append(a)
        empty = np.empty((0, 2))
        wanted = [int(k) for k in self.dimensions_ if k >= 0]
        maxdim = max(wanted) if wanted else -1
        out: List[Any] = [None] * len(items)
        groups: Dict[Tuple[int, ...], List[int]] = {}
        for i, a in enumerate(items):
            groups.setdefault(a.shape, []).append(i)
        for shape, members in groups.items():
            n = shape[0]
            if maxdim < 0 or n < 2:  # no pair to compute; one point is one essential class
                one = np.array([[0.0, np.inf]]) if n == 1 else empty
                for i in members:
                    out[i] = [one if k == 0 else empty for k in self.dimensions_]
                continue
            batch = np.stack([items[i] for i in members])
            kw = dict(maxdim=min(maxdim, n - 1), threshold=self.threshold,
                      coeff=int(self.homology_coeff_field), n_threads=_threads(self.n_jobs))
            dg = (vr.persistence(batch, **kw) if points
                  else vr.persistence(distance_matrix=batch, **kw))
            pairs = np.column_stack([np.asarray(dg.birth, np.float64),
                                     np.asarray(dg.death, np.float64)])
            per_item = _per_item(pairs, np.asarray(dg.offsets), len(members), dg.maxdim,
                                 self.dimensions_)
            for i, diagrams in zip(members, per_item):
                out[i] = diagrams
        return [d[0] for d in out] if self.unwrap_ else out

