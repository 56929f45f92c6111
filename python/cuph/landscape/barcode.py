"""Minima segments of a sampled loss function and the TO-score (Barannikov et al.).

The barcode of minima of a function ``L`` is the 0-dimensional sublevel persistence of ``L``:
each local minimum ``m`` is a segment ``[L(m), L(s)]`` where ``s`` is the lowest saddle over
which gradient descent started in ``m``'s basin could reach a deeper minimum. The segment's
length is the height a descent method must climb to escape ``m``; the global minimum of each
connected piece of the domain has an infinite segment.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from ..diagrams import Diagrams
from ..engine import _as_array

__all__ = ["MinimaBarcode", "minima_barcode", "to_score"]


@dataclass(frozen=True)
class MinimaBarcode:
    """Minima segments as a table, one row per local minimum, sorted by (minimum, saddle).

    Attributes
    ----------
    minimum, saddle : numpy.ndarray of float, shape (n,)
        Loss at the minimum and at the saddle that kills it (``inf`` for a global minimum:
        an essential class).
    min_index, saddle_index : numpy.ndarray of int64, shape (n,)
        Flat C-order index of the minimum / saddle into the sampled values (grid point or
        graph vertex); ``saddle_index == -1`` for essential rows.
    min_location, saddle_location : numpy.ndarray of float, shape (n, k)
        Coordinates of minimum and saddle: grid indices, the axis values passed as
        ``coords``, or rows of a ``coords`` point array; NaN for essential saddles.
    value_range : tuple of float
        ``(min, max)`` over the finite sampled values: the normalisation of :func:`to_score`.
    """

    minimum: np.ndarray
    saddle: np.ndarray
    min_index: np.ndarray
    saddle_index: np.ndarray
    min_location: np.ndarray
    saddle_location: np.ndarray
    value_range: Tuple[float, float]

    @property
    def length(self) -> np.ndarray:
        """Segment lengths ``saddle - minimum`` (``inf`` for essential rows)."""
        return self.saddle - self.minimum

    @property
    def essential(self) -> np.ndarray:
        """Boolean mask of the rows that never die (global minima of components)."""
        return self.saddle_index < 0

    def __len__(self) -> int:
        return int(self.minimum.shape[0])

    def to_csv(self, path: str) -> None:
        """Write the table as CSV: minimum, saddle, length, min_index, saddle_index, then the
        location columns ``min_x0.., saddle_x0..`` (``inf``/``nan`` written as such)."""
        k = self.min_location.shape[1]
        header = (["minimum", "saddle", "length", "min_index", "saddle_index"]
                  + [f"min_x{i}" for i in range(k)] + [f"saddle_x{i}" for i in range(k)])
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i in range(len(self)):
                w.writerow([repr(float(self.minimum[i])), repr(float(self.saddle[i])),
                            repr(float(self.length[i])), int(self.min_index[i]),
                            int(self.saddle_index[i])]
                           + [repr(float(v)) for v in self.min_location[i]]
                           + [repr(float(v)) for v in self.saddle_location[i]])


def _locations(index: np.ndarray, shape: Tuple[int, ...], coords: Any, grid: bool) -> np.ndarray:
    """Coordinates of flat indices (-1 -> NaN): grid indices, axis values, or point rows."""
    valid = index >= 0
    safe = np.where(valid, index, 0)
    if coords is None:
        if grid:
            loc = np.stack(np.unravel_index(safe, shape), axis=1).astype(np.float64)
        else:
            loc = safe[:, None].astype(np.float64)
    elif grid:
        if len(coords) != len(shape):
            raise ValueError(f"coords: expected one axis array per grid axis ({len(shape)}), got {len(coords)}")
        axes = [np.asarray(c, dtype=np.float64) for c in coords]
        for i, (a, n) in enumerate(zip(axes, shape)):
            if a.shape != (n,):
                raise ValueError(f"coords: axis {i} needs {n} values (the grid's length), got shape {a.shape}")
        idx = np.unravel_index(safe, shape)
        loc = np.stack([a[i] for a, i in zip(axes, idx)], axis=1)
    else:
        pts = np.asarray(coords, dtype=np.float64)
        n = int(np.prod(shape))
        if pts.ndim != 2 or pts.shape[0] != n:
            raise ValueError(f"coords: expected an (n, k) array with one row per vertex (n = {n}), got {pts.shape}")
        loc = pts[safe]
    loc = np.array(loc, dtype=np.float64, copy=True)
    loc[~valid] = np.nan
    return loc


def minima_barcode(
    values: Any,
    edges: Any = None,
    *,
    coords: Any = None,
    diagrams: Optional[Diagrams] = None,
    n_threads: Optional[int] = None,
) -> MinimaBarcode:
    """The minima segments of a sampled function, as a table with locations.

    Parameters
    ----------
    values : array_like
        Sampled loss values: a 1- to 4-D grid (``edges=None``: the cubical engine,
        ``cuph.persistence(values, maxdim=0)``, neighbours along axes) or one value per graph
        vertex (with ``edges``).
    edges : array_like or scipy sparse matrix, optional
        Graph edges, as for :func:`cuph.landscape.graph_persistence`.
    coords : optional
        Locations to report: for a grid, one 1-D array of axis values per axis (e.g. the
        ``alphas``/``betas`` of a :class:`~cuph.landscape.LossSurface`); for a graph, an
        ``(n, k)`` array of vertex coordinates. Default: grid indices / vertex numbers.
    diagrams : Diagrams, optional
        Already computed persistence of ``values`` (its dimension 0 is used).
    n_threads : int, optional
        Threads for the persistence computation.

    Returns
    -------
    MinimaBarcode

    Examples
    --------
    >>> import numpy as np
    >>> from cuph.landscape import minima_barcode
    >>> bc = minima_barcode(np.array([3.0, 0.0, 2.0, 1.0, 4.0]))
    >>> bc.minimum.tolist(), bc.saddle.tolist(), bc.min_index.tolist()
    ([0.0, 1.0], [inf, 2.0], [1, 3])
    >>> bc.value_range
    (0.0, 4.0)
    """
    arr = _as_array(values, "values")
    grid = edges is None
    if diagrams is None:
        if grid:
            from ..engine import persistence

            diagrams = persistence(arr, maxdim=0, n_threads=n_threads)
        else:
            from .graph import graph_persistence

            diagrams = graph_persistence(arr, edges, n_threads=n_threads)
    elif not isinstance(diagrams, Diagrams):
        raise TypeError(f"diagrams: expected a cuph.Diagrams, got {type(diagrams).__name__}")
    if diagrams.n_items != 1 or diagrams.superlevel:
        raise ValueError("diagrams: expected the sublevel diagram of one item (n_items == 1)")
    if tuple(diagrams.item_shape) != tuple(arr.shape):
        raise ValueError(f"diagrams: item_shape {diagrams.item_shape} does not match values {arr.shape}")
    sel = slice(int(diagrams.offsets[0]), int(diagrams.offsets[1]))
    birth = np.asarray(diagrams.birth[sel], dtype=np.float64)
    death = np.asarray(diagrams.death[sel], dtype=np.float64)
    bi = np.asarray(diagrams.birth_index[sel], dtype=np.int64)
    di = np.asarray(diagrams.death_index[sel], dtype=np.int64)
    order = np.lexsort((death, birth))
    birth, death, bi, di = birth[order], death[order], bi[order], di[order]
    finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    value_range = (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)
    shape = tuple(arr.shape)
    return MinimaBarcode(
        minimum=birth, saddle=death, min_index=bi, saddle_index=di,
        min_location=_locations(bi, shape, coords, grid),
        saddle_location=_locations(di, shape, coords, grid),
        value_range=value_range,
    )


def to_score(
    barcode: Union[MinimaBarcode, Diagrams],
    *,
    normalization: Union[str, float] = "range",
    reduce: str = "sum",
    value_range: Optional[Sequence[float]] = None,
) -> float:
    r"""The TO-score (topological obstructions score) of a barcode of minima.

    With finite minima segments :math:`[m_i, s_i]` (local minima :math:`m_i` and the saddles
    :math:`s_i` that kill them; the essential segment of each global minimum is left out, it
    obstructs nothing) and the range :math:`[L_{\min}, L_{\max}]` of the sampled loss:

    .. math::

        \mathrm{TO}(L) = \frac{\sum_i (s_i - m_i)}{L_{\max} - L_{\min}}

    This is the default (``reduce="sum"``, ``normalization="range"``). A landscape whose
    local minima all sit in shallow dents scores near 0; one whose spurious minima must climb
    a sizeable fraction of the loss range to escape scores high. Dividing by the range makes
    scores comparable between networks and loss scales and invariant under affine rescaling
    of the loss.

    Source and what was verified: S. Barannikov et al., "Loss Barcode: A Topological Measure
    of Escapability in Loss Landscapes", arXiv:2012.15834 (earlier versions: "Barcodes as
    summary of loss functions' topology"), which builds on arXiv:1912.00043 ("Barcodes as
    summary of objective function's topology"). The paper defines the TO-score from the
    lengths of the minima segments of the loss barcode. Only its abstract and summaries could
    be read while this was written, not the full text: the normalisation above (sum of the
    segment lengths over the loss range) is this implementation's reading, not a quotation.
    The choices the full text could settle differently are parameters (``normalization``,
    ``reduce``), with the reading above as default.

    Parameters
    ----------
    barcode : MinimaBarcode or Diagrams
        From :func:`minima_barcode`, or a one-item diagram (dimension 0 is used; then
        ``value_range`` is required for ``normalization="range"``).
    normalization : {"range", "none"} or float
        ``"range"``: divide by :math:`L_{\max} - L_{\min}` (the barcode's ``value_range``, or
        ``value_range``); ``"none"``: raw lengths; a positive float: divide by it.
    reduce : {"sum", "max"}
        Sum of the segment lengths (default), or the longest one.
    value_range : (float, float), optional
        Overrides the barcode's ``(L_min, L_max)``.

    Returns
    -------
    float
        0.0 when there is no finite segment (a single basin).

    Examples
    --------
    Worked example: :math:`L = (3, 0, 2, 1, 4)` on a path. The global minimum 0 has an
    essential segment; the local minimum 1 (vertex 3) escapes over the saddle 2 (vertex 2),
    a segment of length 1. The loss range is :math:`4 - 0 = 4`, so
    :math:`\mathrm{TO} = 1 / 4 = 0.25`:

    >>> import numpy as np
    >>> from cuph.landscape import minima_barcode, to_score
    >>> bc = minima_barcode(np.array([3.0, 0.0, 2.0, 1.0, 4.0]))
    >>> to_score(bc)
    0.25
    >>> to_score(bc, normalization="none")
    1.0
    """
    if isinstance(barcode, Diagrams):
        sel = slice(int(barcode.offsets[0]), int(barcode.offsets[1]))
        births = np.asarray(barcode.birth[sel], dtype=np.float64)
        deaths = np.asarray(barcode.death[sel], dtype=np.float64)
        finite = np.asarray(barcode.death_index[sel]) >= 0
        lengths = np.abs(deaths[finite] - births[finite])
        rng = None
    elif isinstance(barcode, MinimaBarcode):
        lengths = barcode.length[~barcode.essential]
        rng = barcode.value_range
    else:
        raise TypeError(f"barcode: expected a MinimaBarcode or Diagrams, got {type(barcode).__name__}")
    if value_range is not None:
        rng = tuple(float(v) for v in value_range)
        if len(rng) != 2:
            raise ValueError(f"value_range: expected (min, max), got {value_range!r}")
    if reduce not in ("sum", "max"):
        raise ValueError(f"reduce: must be 'sum' or 'max', got {reduce!r}")
    lengths = lengths[np.isfinite(lengths)]  # a bar killed by a +inf sample has no length
    total = float(lengths.sum() if reduce == "sum" else (lengths.max() if lengths.size else 0.0))
    if isinstance(normalization, str):
        if normalization == "none":
            return total
        if normalization != "range":
            raise ValueError(f"normalization: must be 'range', 'none' or a positive number, got {normalization!r}")
        if rng is None:
            raise ValueError("value_range: needed with normalization='range' for a Diagrams input "
                             "(pass value_range=(L_min, L_max), or use minima_barcode(values))")
        scale = rng[1] - rng[0]
    else:
        scale = float(normalization)
    if not np.isfinite(scale) or scale <= 0:
        if total == 0:
            return 0.0
        raise ValueError(f"normalization: the scale must be finite and > 0, got {scale}")
    return total / scale
