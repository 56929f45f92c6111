"""Type stubs for cuph._cuda, the GPU engine (built when nvcc is found; imports without a GPU)."""

from typing import Dict, Tuple

import numpy as np
import numpy.typing as npt

def device_count() -> int:
    """CUDA devices usable by this process (0 without a driver or a GPU)."""

def device_name() -> str:
    """The current CUDA device's name."""

def memory_info() -> Tuple[int, int]:
    """(free, total) bytes of the current CUDA device."""

def compute_2d(
    x: npt.NDArray[np.generic],
    maxdim: int,
    construction: str,
    batch_dims: int,
    n_threads: int,
    superlevel: bool,
) -> Dict[str, npt.NDArray[np.generic]]:
    """Persistence pairs of every 2-D item of x on the GPU, in the layout of _core.compute.
    Raises RuntimeError without a usable device, MemoryError if one item does not fit."""
