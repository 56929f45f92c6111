"""``cuph.persistence``: validation at the Python boundary, then one call into the C++ core."""

from __future__ import annotations

import math
import operator
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from . import _core
from ._threads import usable_cores
from .diagrams import _DEVICE_COLUMNS, DeviceDiagrams, Diagrams
from .memory import check_cell_count, items_per_chunk, parse_max_memory

__all__ = ["persistence", "cuda_available", "output_dtype"]

_CONSTRUCTIONS = ("V", "T")
_DEVICES = ("auto", "cpu", "cuda")
# The item dimensions the GPU engine computes: its kernels are 2-D, and a 1-D item of n values
# is the 2-D item of shape (1, n): for V the same complex, for T a strip of squares that
# deformation-retracts onto the line in every sublevel set, with the same flat indices.
_GPU_DIMS = (1, 2)
# Items of 3 and 4 axes: dimensions 0 and d-1 on the GPU (cuda/cubical_nd.cuh); the middle
# dimensions 1 .. d-2, when asked for, from the CPU engine on a host copy. This hybrid is the
# first step; a GPU reduction of the middle dimensions would replace the CPU's part.
_GPU_HYBRID_DIMS = (3, 4)
_GPU_ONLY = "device: the GPU engine computes items of 1 to 4 axes without keep_diagonal"
_COLUMNS = ("dim", "birth", "death", "birth_index", "death_index")


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


def _use_gpu(x: Any, device: str) -> bool:
    """Whether a call with this input and ``device`` runs on the GPU engine (RuntimeError if it
    should and none is usable)."""
    if device not in _DEVICES:
        raise ValueError(f"device: must be one of {_DEVICES}, got {device!r}")
    use_gpu = device == "cuda" or (device == "auto" and _is_gpu_array(x))
    if use_gpu and not cuda_available():
        raise RuntimeError(
            "device: no CUDA device is usable (this cuph build has no GPU engine or no GPU "
            "is present); pass device='cpu' with a host array"
        )
    return use_gpu


def _gpu_takes(x: Any, batch_dims: Any, item_dims: Tuple[int, ...]) -> bool:
    """Whether the GPU engine computes items of ``x`` (``batch_dims`` leading batch axes): their
    dimension is in ``item_dims``. An invalid ``batch_dims`` says yes, so that the chosen
    engine names the problem."""
    shape = getattr(x, "shape", None)
    if shape is None or not isinstance(batch_dims, (int, np.integer)):
        return True
    return len(shape) - int(batch_dims) in item_dims


def _is_gpu_array(x: Any) -> bool:
    if hasattr(x, "__cuda_array_interface__"):
        return True
    dev = getattr(x, "device", None)
    return getattr(dev, "type", None) == "cuda"


def _widen_exact(x: Any) -> Any:
    """torch tensors of the float dtypes numpy has no type for (bfloat16, the float8 types) as
    float32 tensors on the same device: float32 holds each of their values exactly, so the
    diagram is the same and its values are the tensor's. Anything else is returned unchanged."""
    dt = getattr(x, "dtype", None)
    if (type(dt).__module__ == "torch" and getattr(dt, "is_floating_point", False)
            and getattr(dt, "itemsize", 4) < 4 and str(dt) != "torch.float16"):
        return x.detach().float()
    return x


def _as_array(x: Any, name: str = "x") -> np.ndarray:
    x = _widen_exact(x)
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


def _check_options(ndim: int, shape: Tuple[int, ...], batch_dims: Any, maxdim: Any,
                   n_threads: Any, name: str = "x") -> Tuple[int, int, int]:
    """Validated (batch_dims, maxdim, n_threads) for an input of this shape."""
    batch_dims = _check_int("batch_dims", batch_dims)
    if ndim == 0:
        raise ValueError(f"{name}: 0-d array (a scalar); pass an array with 1 to 4 item axes")
    if batch_dims < 0 or batch_dims >= ndim:
        raise ValueError(
            f"batch_dims: must be in [0, {ndim - 1}] for an array of ndim {ndim}, got {batch_dims}"
        )
    d = ndim - batch_dims
    if d > 4:
        raise ValueError(
            f"{name}: items have {d} axes after {batch_dims} batch axes; cuph supports 1 to 4 "
            "(raise batch_dims to treat leading axes as a batch)"
        )
    if any(s == 0 for s in shape[batch_dims:]):
        raise ValueError(f"{name}: empty array of shape {tuple(shape)}; every item axis needs "
                         "length >= 1")
    if maxdim is None:
        maxdim = d - 1
    maxdim = _check_int("maxdim", maxdim)
    if not 0 <= maxdim < d:
        raise ValueError(f"maxdim: must be in [0, {d - 1}] for {d}-D items, got {maxdim}")
    return batch_dims, maxdim, _check_threads(n_threads)


def _check_threads(n_threads: Any) -> int:
    """A validated thread count; None: the cores this process may run on."""
    if n_threads is None:
        return usable_cores()
    n_threads = _check_int("n_threads", n_threads)
    if n_threads < 1:
        raise ValueError(f"n_threads: must be >= 1 (or None for all cores), got {n_threads}")
    return n_threads


def persistence(
    x: Any,
    maxdim: Optional[int] = None,
    construction: str = "V",
    batch_dims: int = 0,
    n_threads: Optional[int] = None,
    superlevel: bool = False,
    device: str = "auto",
    keep_diagonal: bool = False,
    max_memory: Union[int, str, None] = None,
) -> Diagrams:
    """Persistent homology of the cubical complex(es) built from an array.

    Parameters
    ----------
    x : array_like
        ``batch_dims`` leading batch axes followed by 1 to 4 item axes. Any real dtype (float16,
        float32, float64, signed/unsigned integers, bool), any strides (read without copying).
        torch's bfloat16 and float8 tensors are read as a float32 copy, which holds their values
        exactly. NaN is an error; ``+inf``/``-inf`` are allowed (a ``+inf`` cell enters last).
    maxdim : int, optional
        Highest homology dimension, ``0 <= maxdim < d``; ``None`` means ``d - 1`` (all).
    construction : {"V", "T"}
        ``"V"``: values on vertices, a cell's value is the max over its vertices (CubicalRipser's
        default, gudhi's ``vertices=``). ``"T"``: values on top-dimensional cells, a cell's value
        is the min over the top cells containing it (gudhi's ``top_dimensional_cells=``).
    batch_dims : int
        Number of leading axes that index independent items.
    n_threads : int, optional
        Worker threads (``None``: the cores this process may run on, its affinity mask as
        ``taskset``, cpusets and SLURM set it), over batch items; threads beyond the number of
        items split each item (its sweeps, its two union-find replays and, for 3-D/4-D items,
        the reduction of the middle dimensions). The results do not depend on the thread
        count. The GIL is released.
    superlevel : bool
        Superlevel-set filtration. Values are reported on the original scale: ``birth >= death``
        and essential classes die at ``-inf``.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses the CPU unless a GPU engine is available and the input lives on a GPU.
        ``"cuda"`` runs the GPU engine (:func:`cuda_available`), without ``keep_diagonal``. It
        computes 1-D and 2-D items in full (a 1-D item as a 2-D item of one row, which has the
        same pairs and indices). For 3-D and 4-D items its kernels compute dimensions 0 and
        d-1, and the middle dimensions (1 .. d-2), when ``maxdim`` asks for them, come from the
        CPU engine on a host copy: a first, hybrid step. With ``"auto"``, a GPU array runs on
        the CPU engine from a host copy when the GPU engine would not compute all of it
        (``keep_diagonal``; 3-D and 4-D items with ``maxdim > 0``); with ``"cuda"``,
        ``keep_diagonal`` raises ValueError. Torch and cupy arrays on the GPU of at most
        32-bit dtypes are read in place (any strides); 64-bit ones are copied to the host for
        their ranks, and host arrays are copied to the GPU. The pairs are those of the CPU
        engine. A torch or cupy array that the GPU engine reads in place and computes alone
        (all but the hybrid) gets a :class:`DeviceDiagrams`: its columns stay on the array's
        device, as arrays of its library, until a numpy column is read; other results are
        numpy arrays.
    keep_diagonal : bool
        Keep zero-length pairs (``birth == death``), which are dropped by default like gudhi does.
    max_memory : int or str, optional
        Memory the call may use, in bytes or as a string like ``"4GB"``/``"512MiB"``; ``None``
        or ``"auto"``: half the available memory. A batch whose estimate
        (:func:`cuph.estimate_memory`) exceeds it is computed in chunks of items, with the same
        result as one call; an item that cannot fit alone raises :class:`MemoryError`.

    Returns
    -------
    Diagrams
        (a :class:`DeviceDiagrams` for a GPU array computed on the GPU, see ``device``)
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
    x = _widen_exact(x)
    use_gpu = _use_gpu(x, device)
    if use_gpu and device == "auto" and (keep_diagonal or not (
            _gpu_takes(x, batch_dims, _GPU_DIMS)
            or (maxdim == 0 and _gpu_takes(x, batch_dims, _GPU_HYBRID_DIMS)))):
        # "auto" means the best engine for the request: the CPU's, on a host copy, for what
        # the GPU engine does not compute in full (keep_diagonal; the middle dimensions of
        # 3-D and 4-D items, for which the hybrid would run the CPU engine's sweep anyway).
        use_gpu = False
        x = _to_host(x)
    if use_gpu:
        dev = _device_array(x)
        if dev is not None and dev["dtype"].itemsize <= 4:
            return _persistence_device(dev, maxdim, construction, batch_dims, superlevel,
                                       keep_diagonal, max_memory, n_threads)
        x = _to_host(x)  # host arrays, and 64-bit device arrays (their words need a sort)
    return _persistence(x, maxdim, construction, batch_dims, n_threads, superlevel, keep_diagonal,
                        max_memory, "cuda" if use_gpu else "cpu")


# The engines behind `persistence`: the CPU engine, the GPU engine's kernels on the GPU, and the
# same kernels run by the CPU launcher ("portable", for tests without a GPU).
_ENGINES = ("cpu", "cuda", "portable")


def _to_host(x: Any) -> Any:
    """A host copy of a GPU array (torch or cupy), for the GPU arrays the engine does not read
    in place (64-bit dtypes: their value words need ranks, made on the host)."""
    if not _is_gpu_array(x):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch
        return x.detach().cpu().numpy()
    if hasattr(x, "get"):  # cupy
        return x.get()
    raise TypeError("x: a GPU array that is neither a torch tensor nor a cupy array; copy it to "
                    "the host first")


# The core's dtype numbering (array_view.hpp's DType).
_CORE_DTYPES = {"f2": 0, "f4": 1, "f8": 2, "i1": 3, "i2": 4, "i4": 5, "i8": 6, "u1": 7, "u2": 8,
                "u4": 9, "u8": 10, "b1": 11}


def _device_array(x: Any) -> Optional[Dict[str, Any]]:
    """A GPU array's ``__cuda_array_interface__`` as pointer, shape, byte strides, dtype and
    stream (None for a host array). Read in place: no copy."""
    if not hasattr(x, "__cuda_array_interface__"):
        if _is_gpu_array(x) and hasattr(x, "detach"):
            x = x.detach()  # torch refuses the interface on tensors that require grad
        if not hasattr(x, "__cuda_array_interface__"):
            return None
    if hasattr(x, "requires_grad") and getattr(x, "requires_grad", False):
        x = x.detach()
    cai = x.__cuda_array_interface__
    dtype = np.dtype(cai["typestr"])
    shape = tuple(int(n) for n in cai["shape"])
    strides = cai.get("strides")
    if strides is None:  # C-contiguous
        strides, step = [], dtype.itemsize
        for n in reversed(shape):
            strides.insert(0, step)
            step *= max(n, 1)
    code = dtype.kind + str(dtype.itemsize)
    if dtype.kind not in "biuf" or code not in _CORE_DTYPES or not dtype.isnative:
        raise TypeError(f"x: unsupported dtype {dtype} on the GPU; cuph reads float16/32/64, "
                        "signed and unsigned integers and bool")
    stream = cai.get("stream")
    return {"ptr": int(cai["data"][0]), "shape": shape, "strides": tuple(int(v) for v in strides),
            "dtype": dtype, "code": _CORE_DTYPES[code], "stream": int(stream or 0), "owner": x}


def _persistence_device(dev: Dict[str, Any], maxdim: Optional[int], construction: str,
                        batch_dims: int, superlevel: bool, keep_diagonal: bool,
                        max_memory: Union[int, str, None], n_threads: Optional[int] = None
                        ) -> Diagrams:
    """The GPU engine on an array in GPU memory, read in place."""
    if construction not in _CONSTRUCTIONS:
        raise ValueError(f"construction: must be 'V' (vertices) or 'T' (top cells), got {construction!r}")
    shape = dev["shape"]
    batch_dims, maxdim, n_threads = _check_options(len(shape), shape, batch_dims, maxdim,
                                                   n_threads)
    if not isinstance(superlevel, (bool, np.bool_)):
        raise TypeError("superlevel: expected a bool")
    d = len(shape) - batch_dims
    if keep_diagonal:
        raise ValueError(f"{_GPU_ONLY}; use device='cpu' with a host copy")
    batch_shape, item_shape = shape[:batch_dims], shape[batch_dims:]
    check_cell_count(batch_shape, item_shape, construction)
    if math.prod(batch_shape) == 0:  # an empty batch: a host stand-in of no elements
        return _diagrams(None, np.zeros(shape, dtype=dev["dtype"]), batch_dims, maxdim,
                         construction, 1, bool(superlevel), False)
    from . import _cuda  # type: ignore[attr-defined]

    shape, strides = _device_rows(dev, batch_dims)
    # Host results when the CPU engine computes the middle dimensions (3-D and 4-D items with
    # maxdim >= 1: the hybrid); else the columns stay on the device.
    hybrid = d in _GPU_HYBRID_DIMS and maxdim >= 1
    wrap = None if hybrid else _device_wrapper(dev["owner"])
    raw = _cuda.compute_device(dev["ptr"], list(shape), strides, dev["code"], dev["stream"],
                               maxdim, construction, batch_dims, bool(superlevel),
                               parse_max_memory(max_memory) or 0, wrap is not None)
    if hybrid:
        raw = _with_middle_dims(raw, _to_host(dev["owner"]), batch_dims, maxdim, construction,
                                n_threads, bool(superlevel), True, max_memory)
    if wrap is None:
        return diagrams_from_core(raw, dev["dtype"], batch_shape, item_shape, maxdim,
                                  construction, bool(superlevel))
    return DeviceDiagrams(columns={k: wrap(raw[k]) for k in _DEVICE_COLUMNS},
                          offsets=raw["offsets"], batch_shape=batch_shape, item_shape=item_shape,
                          maxdim=maxdim, construction=construction, superlevel=bool(superlevel))


def _with_middle_dims(raw: Dict[str, Any], host: Any, batch_dims: int, maxdim: int,
                      construction: str, n_threads: int, superlevel: bool,
                      whole: bool = False, max_memory: Union[int, str, None] = None
                      ) -> Dict[str, Any]:
    """The hybrid step of 3-D and 4-D items: ``raw`` (the GPU kernels' result, dimensions 0
    and d-1, the middle groups empty) with dimensions 1 .. min(maxdim, d-2) from the CPU
    engine on ``host``, group by group in the core's layout (item-major, then dimension).
    ``whole``: ``host`` is a whole batch rather than a chunk of one, and the CPU engine's part
    runs in chunks within ``max_memory``, as :func:`persistence` does."""
    host = np.asarray(host)
    mid = min(maxdim, host.ndim - batch_dims - 2)
    if mid < 1:
        return raw
    if not whole:
        cpu = _core.compute(host, mid, construction, batch_dims, n_threads, superlevel, False)
    else:
        part = _persistence(host, mid, construction, batch_dims, n_threads, superlevel, False,
                            max_memory, "cpu")
        cpu = {k: getattr(part, k) for k in _COLUMNS}
        cpu["offsets"] = part.offsets
    groups, n = maxdim + 1, (len(raw["offsets"]) - 1) // (maxdim + 1)
    lengths = np.diff(raw["offsets"]).reshape(n, groups)
    starts = np.asarray(raw["offsets"][:-1]).reshape(n, groups).copy()
    cpu_offsets = np.asarray(cpu["offsets"])
    lengths[:, 1:mid + 1] = np.diff(cpu_offsets).reshape(n, mid + 1)[:, 1:]
    starts[:, 1:mid + 1] = cpu_offsets[:-1].reshape(n, mid + 1)[:, 1:] + len(raw["dim"])
    offsets = np.zeros(n * groups + 1, dtype=np.int64)
    np.cumsum(lengths.ravel(), out=offsets[1:])
    gather = np.repeat(starts.ravel() - offsets[:-1], lengths.ravel()) + np.arange(offsets[-1])
    out = {k: np.concatenate([raw[k], cpu[k]])[gather] for k in _COLUMNS}
    out["item"] = None
    out["offsets"] = offsets
    return out


def _device_rows(dev: Dict[str, Any], batch_dims: int) -> Tuple[Tuple[int, ...], List[int]]:
    """Shape and byte strides of a device array for the 2-D kernels: 1-D items as rows of 2-D
    items (_GPU_DIMS), through an axis of length 1 that is never stepped (stride 0)."""
    shape, strides = tuple(dev["shape"]), list(dev["strides"])
    if len(shape) - batch_dims == 1:
        shape, strides = shape[:-1] + (1,) + shape[-1:], strides[:-1] + [0] + strides[-1:]
    return shape, strides


def _device_wrapper(owner: Any) -> Optional[Any]:
    """How the GPU engine's device columns become arrays of the input's library on its device
    (torch tensors, cupy arrays: both take the CUDA array interface without a copy and keep the
    memory alive); None for other producers, whose results come back as numpy."""
    module = type(owner).__module__.split(".")[0]
    if module == "torch":
        import torch

        device = owner.device
        return lambda a: torch.as_tensor(a, device=device)
    if module == "cupy":
        import cupy

        return cupy.asarray
    return None


def _persistence(x: Any, maxdim: Optional[int], construction: str, batch_dims: int,
                 n_threads: Optional[int], superlevel: bool, keep_diagonal: bool,
                 max_memory: Union[int, str, None], engine: str, *,
                 portable_copy: Optional[int] = None) -> Diagrams:
    """`persistence` after the choice of device; ``engine`` is one of ``_ENGINES``.

    ``portable_copy`` (tests): with the ``"portable"`` engine, read the input as the CUDA
    module reads a host array, from exact-size copies of C-contiguous chunks, in runs of that
    many items (0: one run); None reads it in place, as the CUDA module reads a device array."""
    if construction not in _CONSTRUCTIONS:
        raise ValueError(f"construction: must be 'V' (vertices) or 'T' (top cells), got {construction!r}")
    arr = _as_array(x)
    batch_dims, maxdim, n_threads = _check_options(arr.ndim, arr.shape, batch_dims, maxdim,
                                                   n_threads)
    if not isinstance(superlevel, (bool, np.bool_)):
        raise TypeError("superlevel: expected a bool")
    if not isinstance(keep_diagonal, (bool, np.bool_)):
        raise TypeError("keep_diagonal: expected a bool")
    if engine != "cpu" and keep_diagonal:
        raise ValueError(f"{_GPU_ONLY}; got keep_diagonal: use device='cpu'")

    batch_shape = tuple(int(s) for s in arr.shape[:batch_dims])
    item_shape = tuple(int(s) for s in arr.shape[batch_dims:])
    check_cell_count(batch_shape, item_shape, construction)
    limit = parse_max_memory(max_memory)
    opts = (maxdim, construction, n_threads, bool(superlevel), bool(keep_diagonal))
    if arr.size == 0:  # an empty batch: no items, no pairs
        return _diagrams(None, arr, batch_dims, *opts)
    per_chunk = items_per_chunk(batch_shape, item_shape, arr.dtype, construction, maxdim,
                                n_threads, limit)

    def compute(view: np.ndarray, bd: int) -> Dict[str, np.ndarray]:
        if engine == "cpu":
            return _core.compute(view, maxdim, construction, bd, n_threads, bool(superlevel),
                                 bool(keep_diagonal))
        if view.ndim - bd == 1:  # the row of a 2-D item (_GPU_DIMS)
            view = view[..., None, :]
        if engine == "portable":
            kernels = _core._portable_2d if view.ndim - bd == 2 else _core._portable_nd
            if portable_copy is None:
                raw = kernels(view, maxdim, construction, bd, n_threads, bool(superlevel))
            else:
                raw = kernels(np.ascontiguousarray(view), maxdim, construction, bd, n_threads,
                              bool(superlevel), items_per_run=portable_copy, copied=True)
        else:
            from . import _cuda  # type: ignore[attr-defined]
            raw = _cuda.compute(np.ascontiguousarray(view), maxdim, construction, bd, n_threads,
                                bool(superlevel), limit or 0)
        return _with_middle_dims(raw, view, bd, maxdim, construction, n_threads,
                                 bool(superlevel))

    parts = [_diagrams(compute(view, bd), view, bd, *opts)
             for view, bd in _chunks(arr, batch_dims, per_chunk)]
    if len(parts) == 1:
        return parts[0]
    return Diagrams.concat(parts, batch_shape=batch_shape)


def _chunks(arr: np.ndarray, batch_dims: int, per_chunk: int) -> Iterator[Tuple[np.ndarray, int]]:
    """Views of ``arr`` with at most ``per_chunk`` items each, in C order of the items.

    Slicing leading axes keeps them views whatever the strides (a reshape of the batch axes
    could copy a strided array).
    """
    n_items = math.prod(arr.shape[:batch_dims])
    if n_items <= per_chunk:
        yield arr, batch_dims
        return
    inner = math.prod(arr.shape[1:batch_dims])  # items per index of the first axis
    if inner <= per_chunk:
        step = per_chunk // inner
        for start in range(0, arr.shape[0], step):
            yield arr[start:start + step], batch_dims
    else:
        for i in range(arr.shape[0]):
            yield from _chunks(arr[i], batch_dims - 1, per_chunk)


def diagrams_from_core(raw: Dict[str, np.ndarray], dtype: np.dtype, batch_shape: Tuple[int, ...],
                       item_shape: Tuple[int, ...], maxdim: int, construction: str,
                       superlevel: bool) -> Diagrams:
    """A :class:`Diagrams` from the dict a core call returns, values cast to the output dtype
    of the input ``dtype`` (see :func:`output_dtype`)."""
    out_dtype = output_dtype(dtype)
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
        superlevel=superlevel,
    )


def _diagrams(raw: Optional[Dict[str, np.ndarray]], arr: np.ndarray, batch_dims: int,
              maxdim: int, construction: str, n_threads: int, superlevel: bool,
              keep_diagonal: bool) -> Diagrams:
    """The Diagrams of one core call on ``arr`` (``raw`` None: an empty batch)."""
    if raw is None:
        raw = {k: np.zeros(0, dtype=t) for k, t in (("dim", np.int8), ("birth", np.float64),
               ("death", np.float64), ("birth_index", np.int64), ("death_index", np.int64),
               ("item", np.int64))}
        raw["offsets"] = np.zeros(1, dtype=np.int64)
    return diagrams_from_core(raw, arr.dtype, tuple(int(s) for s in arr.shape[:batch_dims]),
                              tuple(int(s) for s in arr.shape[batch_dims:]), maxdim, construction,
                              superlevel)
