"""``cuph.persistence``: validation at the Python boundary, then one call into the C++ core."""

from __future__ import annotations

import operator
import os
from typing import Any, Optional

import numpy as np

from . import _core
from .diagrams import Diagrams

__all__ = ["persistence", "cuda_available", "output_dtype"]

_CONSTRUCTIONS = ("V", "T")
_DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """Whether a CUDA device can run cuph's GPU engine (False: this build has no GPU module)."""
    try:
        from . import _cuda  # type: ignore[attr-defined]
    except ImportError:
        return False
    return bool(_cuda.device_count() > 0)


def output_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of birth/death values for an input dtype.

    float16/float32, bool and integers of at most 16 bits are represented exactly in float32;
    everything else (float64, 32- and 64-bit integers) in float64.

    >>> output_dtype(np.dtype(np.uint8))
    dtype('float32')
    """
    if dtype == np.float64 or (dtype.kind in "iu" and dtype.itemsize >= 4):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def _is_gpu_array(x: Any) -> bool:
    if hasattr(x, "__cuda_array_interface__"):
        return True
    dev = getattr(x, "device", None)
    return getattr(dev, "type", None) == "cuda"


def _as_array(x: Any, name: str = "x") -> np.ndarray:
    if isinstance(x, np.ndarray):
        arr = x
    elif (x is None or isinstance(x, (str, bytes, dict, set))
          or (np.isscalar(x) and not isinstance(x, memoryview))):
        raise TypeError(
            f"{name}: expected an array (numpy, buffer protocol, __array__ or nested lists), "
            f"got {type(x).__name__}"
        )
    else:
        if hasattr(x, "detach") and callable(x.detach):  # torch tensors that require grad
            x = x.detach()
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: cannot be read as an array ({err})") from err
    if arr.dtype.kind not in "biuf" or (arr.dtype.kind == "f" and arr.dtype.itemsize > 8):
        raise TypeError(
            f"{name}: unsupported dtype {arr.dtype}; cuph reads float16/32/64, signed and unsigned "
            f"integers and bool (convert with {name}.astype(np.float64))"
        )
    if isinstance(arr, np.ma.MaskedArray):
        raise TypeError(f"{name}: masked arrays are not supported; fill masked cells first, e.g. "
                        f"{name}.filled(np.inf) to leave them out of the complex")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an integer, got bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}") from None


def persistence(
    x: Any,
    maxdim: Optional[int] = None,
    construction: str = "V",
    batch_dims: int = 0,
    n_threads: Optional[int] = None,
    superlevel: bool = False,
    device: str = "auto",
    keep_diagonal: bool = False,
) -> Diagrams:
    """Persistent homology of the cubical complex(es) built from an array.

    Parameters
    ----------
    x : array_like
        ``batch_dims`` leading batch axes followed by 1 to 4 item axes. Any real dtype (float16,
        float32, float64, signed/unsigned integers, bool), any strides (read without copying).
        NaN is an error; ``+inf``/``-inf`` are allowed (a ``+inf`` cell enters last).
    maxdim : int, optional
        Highest homology dimension, ``0 <= maxdim < d``; ``None`` means ``d - 1`` (all).
    construction : {"V", "T"}
        ``"V"``: values on vertices, a cell's value is the max over its vertices (CubicalRipser's
        default, gudhi's ``vertices=``). ``"T"``: values on top-dimensional cells, a cell's value
        is the min over the top cells containing it (gudhi's ``top_dimensional_cells=``).
    batch_dims : int
        Number of leading axes that index independent items.
    n_threads : int, optional
        Worker threads over batch items (``None``: all cores). The GIL is released.
    superlevel : bool
        Superlevel-set filtration. Values are reported on the original scale: ``birth >= death``
        and essential classes die at ``-inf``.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses the CPU unless a GPU engine is available and the input lives on a GPU.
    keep_diagonal : bool
        Keep zero-length pairs (``birth == death``), which are dropped by default like gudhi does.

    Returns
    -------
    Diagrams
        All pairs of all items, sorted by (item, dim); essential classes have ``death = inf``
        and ``death_index = -1``. ``birth_index``/``death_index`` are flat C-order indices into
        the item of the value that created/killed the class.

    Examples
    --------
    >>> import numpy as np, cuph
    >>> img = np.array([[0, 2, 0], [2, 3, 2], [0, 2, 0]])
    >>> dg = cuph.persistence(img)
    >>> dg.in_dim(0).tolist()
    [[0.0, 2.0], [0.0, 2.0], [0.0, 2.0], [0.0, inf]]
    """
    if device not in _DEVICES:
        raise ValueError(f"device: must be one of {_DEVICES}, got {device!r}")
    if device == "cuda" or (device == "auto" and _is_gpu_array(x)):
        if not cuda_available():
            raise RuntimeError(
                "device: no CUDA device is usable (this cuph build has no GPU engine or no GPU "
                "is present); pass device='cpu' with a host array"
            )
    if construction not in _CONSTRUCTIONS:
        raise ValueError(f"construction: must be 'V' (vertices) or 'T' (top cells), got {construction!r}")
    arr = _as_array(x)
    batch_dims = _check_int("batch_dims", batch_dims)
    if arr.ndim == 0:
        raise ValueError("x: 0-d array (a scalar); pass an array with 1 to 4 item axes")
    if batch_dims < 0 or batch_dims >= arr.ndim:
        raise ValueError(
            f"batch_dims: must be in [0, {arr.ndim - 1}] for an array of ndim {arr.ndim}, got {batch_dims}"
        )
    d = arr.ndim - batch_dims
    if d > 4:
        raise ValueError(
            f"x: items have {d} axes after {batch_dims} batch axes; cuph supports 1 to 4 "
            "(raise batch_dims to treat leading axes as a batch)"
        )
    if any(s == 0 for s in arr.shape[batch_dims:]):
        raise ValueError(f"x: empty array of shape {arr.shape}; every item axis needs length >= 1")
    if maxdim is None:
        maxdim = d - 1
    maxdim = _check_int("maxdim", maxdim)
    if not 0 <= maxdim < d:
        raise ValueError(f"maxdim: must be in [0, {d - 1}] for {d}-D items, got {maxdim}")
    if n_threads is None:
        n_threads = os.cpu_count() or 1
    n_threads = _check_int("n_threads", n_threads)
    if n_threads < 1:
        raise ValueError(f"n_threads: must be >= 1 (or None for all cores), got {n_threads}")
    if not isinstance(superlevel, (bool, np.bool_)):
        raise TypeError("superlevel: expected a bool")
    if not isinstance(keep_diagonal, (bool, np.bool_)):
        raise TypeError("keep_diagonal: expected a bool")

    batch_shape = tuple(int(s) for s in arr.shape[:batch_dims])
    item_shape = tuple(int(s) for s in arr.shape[batch_dims:])
    out_dtype = output_dtype(arr.dtype)
    if arr.size == 0:  # an empty batch: no items, no pairs
        raw = {k: np.zeros(0, dtype=t) for k, t in (("dim", np.int8), ("birth", np.float64),
               ("death", np.float64), ("birth_index", np.int64), ("death_index", np.int64),
               ("item", np.int64))}
        raw["offsets"] = np.zeros(1, dtype=np.int64)
    else:
        raw = _core.compute(arr, maxdim, construction, batch_dims, n_threads, bool(superlevel),
                            bool(keep_diagonal))
    return Diagrams(
        dim=raw["dim"],
        birth=raw["birth"].astype(out_dtype, copy=False),
        death=raw["death"].astype(out_dtype, copy=False),
        birth_index=raw["birth_index"],
        death_index=raw["death_index"],
        item=raw["item"],
        offsets=raw["offsets"],
        batch_shape=batch_shape,
        item_shape=item_shape,
        maxdim=maxdim,
        construction=construction,
        superlevel=bool(superlevel),
    )
