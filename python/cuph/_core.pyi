"""Type stubs for the compiled core ``cuph._core`` (see docs/INTERNALS.md for the layout)."""

from typing import Dict

import numpy as np
import numpy.typing as npt

def compute(
    x: npt.NDArray[np.generic],
    maxdim: int,
    construction: str,
    batch_dims: int,
    n_threads: int,
    superlevel: bool,
    keep_diagonal: bool,
) -> Dict[str, npt.NDArray[np.generic]]:
    """Persistence pairs of every item of ``x`` as a dict of arrays: dim (int8), birth, death
    (float64), birth_index, death_index, item, offsets (int64)."""

def betti_at(
    x: npt.NDArray[np.generic],
    thresholds: npt.NDArray[np.float64],
    construction: str,
    batch_dims: int,
    n_threads: int,
) -> npt.NDArray[np.int64]:
    """Betti numbers, shape ``(n_items, d)`` (int64), of every 1- to 3-D item's sublevel
    complex ``{x <= thresholds[item]}``."""
