"""Type stubs for cuph._cuda, the GPU engine (built when nvcc is found; imports without a GPU)."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

def device_count() -> int:
    """CUDA devices usable by this process (0 without a driver or a GPU)."""

def device_name() -> str:
    """The current CUDA device's name."""

def memory_info() -> Tuple[int, int]:
    """(free, total) bytes of the current CUDA device."""

def _replay(
    blocks: Optional[bool] = None,
    threads: Optional[int] = None,
    max_shared: Optional[int] = None,
    sort_above: Optional[int] = None,
    forest: Optional[bool] = None,
) -> Dict[str, int]:
    """Test and benchmark switch (process-wide) of the CUDA launcher's replays: 2-D: ``blocks``
    (a thread block per item and pass when its shared memory fits the device's opt-in limit,
    else one thread), threads per block (1-1024); ``max_shared`` is kept but unused (the device
    says). ``sort_above`` (3-D/4-D items, default 1024): a pass whose largest item has more candidate
    joins is sorted by a bitonic network of launches over the batch, else by each item's
    replay thread. ``forest``: the candidate joins reduced to their minimum spanning forest
    first. Returns the settings before the call, ``block_runs`` (2-D runs that took blocks),
    ``network_sorts`` (3-D/4-D passes sorted by the network), ``candidates`` and
    ``forest_edges`` (3-D/4-D joins before and after the forest)."""

def _profile(on: Optional[bool] = None) -> Dict[str, Any]:
    """Benchmark switch (process-wide) of the CUDA launcher's launch profile
    (cuda/launch_profile.hpp): with it on, every launch, allocation and transfer is timed
    between two device synchronizations and added to its step's total. Returns
    ``{"on": bool, "steps": {step: (calls, seconds)}}`` since the last call (then forgotten);
    ``on`` switches it."""

def compute(
    x: npt.NDArray[np.generic],
    maxdim: int,
    construction: str,
    batch_dims: int,
    n_threads: int,
    superlevel: bool,
    max_bytes: int = 0,
) -> Dict[str, npt.NDArray[np.generic]]:
    """Persistence pairs of every item of a C-contiguous host array x on the GPU, in the
    layout of _core.compute: every dimension of 2-D items, dimensions 0 and d-1 of 3-D and 4-D
    items (the other dimensions' groups empty); max_bytes (0: none) bounds a launch's device memory (chunks of
    items). Raises RuntimeError without a usable device, MemoryError if one item does not fit."""

def compute_device(
    ptr: int,
    shape: List[int],
    strides: List[int],
    dtype: int,
    stream: int,
    maxdim: int,
    construction: str,
    batch_dims: int,
    superlevel: bool,
    max_bytes: int = 0,
    on_device: bool = False,
) -> Dict[str, Any]:
    """The same for a batch in device memory read in place: pointer, shape, byte strides, the
    core's dtype number (at most 32 bits), the producer's stream (0: none). ``on_device``: the
    columns stay in device memory as :class:`DeviceArray` (``offsets`` in numpy)."""

class DeviceArray:
    """A result column in device memory (CUDA array interface v3); the memory lives as long as
    this object or an array made from it (``torch.as_tensor``, ``cupy.asarray``)."""

    @property
    def __cuda_array_interface__(self) -> Dict[str, Any]: ...
    @property
    def shape(self) -> Tuple[int]: ...
    @property
    def typestr(self) -> str: ...
    @property
    def device(self) -> int: ...
    def __len__(self) -> int: ...

def betti(
    x: npt.NDArray[np.generic],
    thresholds: npt.NDArray[np.float64],
    construction: str,
    batch_dims: int,
    max_bytes: int = 0,
) -> npt.NDArray[np.int64]:
    """(n_items, d) Betti numbers of {x <= eta} per 2-D or 3-D item of a C-contiguous host
    array, computed on the GPU. MemoryError if one item does not fit."""

def betti_device(
    ptr: int,
    shape: List[int],
    strides: List[int],
    dtype: int,
    stream: int,
    thresholds: npt.NDArray[np.float64],
    construction: str,
    batch_dims: int,
    max_bytes: int = 0,
) -> npt.NDArray[np.int64]:
    """The same for a batch in device memory (any dtype), read in place."""
