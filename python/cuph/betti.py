"""``cuph.betti_numbers_at``: Betti numbers of sublevel sets at one threshold per item.

A dedicated kernel (cpp/include/cuph/betti.hpp) answers this without a persistence diagram;
4-D items, which the kernel does not cover, go through the diagrams instead.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _core
from .engine import (_CONSTRUCTIONS, _as_array, _check_options, _device_array, _device_rows,
                     _gpu_takes, _to_host, _use_gpu, _widen_exact, persistence)

__all__ = ["betti_numbers_at"]


def _thresholds(threshold: Any, batch_shape: tuple) -> np.ndarray:
    """One float64 threshold per item, flat in batch order."""
    if isinstance(threshold, (str, bytes)) or threshold is None:
        raise TypeError(f"threshold: expected a number or an array of shape {batch_shape}, "
                        f"got {type(threshold).__name__}")
    try:
        eta = np.asarray(threshold, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"threshold: cannot be read as float64 numbers ({err})") from err
    try:
        eta = np.broadcast_to(eta, batch_shape)
    except ValueError:
        raise ValueError(f"threshold: expected a number or an array of shape {batch_shape} "
                         f"(one per item), got shape {eta.shape}") from None
    if np.isnan(eta).any():
        pos = tuple(int(i) for i in np.argwhere(np.isnan(eta))[0])
        raise ValueError(f"threshold: contains NaN at index {pos}; NaN is not a threshold")
    return np.ascontiguousarray(eta.reshape(-1))


def _betti_from_diagrams(arr: np.ndarray, eta: np.ndarray, construction: str, batch_dims: int,
                         maxdim: int, n_threads: int) -> np.ndarray:
    """The same numbers from persistence diagrams: classes with ``birth <= eta`` still alive at
    eta, i.e. ``eta < death`` or essential. (An essential class has ``death = inf`` and is alive
    at ``eta = inf``; a class killed by a ``+inf`` cell has ``death = inf`` too but is not.)
    Shape ``(n_items, maxdim + 1)``."""
    dg = persistence(arr, maxdim=maxdim, construction=construction, batch_dims=batch_dims,
                     n_threads=n_threads)
    e = eta[dg.item]
    alive = (dg.birth <= e) & ((e < dg.death) | dg.essential)
    m1 = maxdim + 1
    counts = np.bincount(dg.item[alive] * m1 + dg.dim[alive], minlength=eta.shape[0] * m1)
    return counts.astype(np.int64).reshape(eta.shape[0], m1)


def betti_numbers_at(
    x: Any,
    threshold: Any,
    batch_dims: int = 0,
    maxdim: Optional[int] = None,
    construction: str = "V",
    n_threads: Optional[int] = None,
    device: str = "auto",
) -> np.ndarray:
    """Betti numbers of the sublevel complex ``{x <= eta}`` of every item, at one eta per item.

    Exactly the number of classes of :func:`cuph.persistence` alive at eta
    (``birth <= eta < death``, essential classes included at ``eta = inf``), computed without
    the diagram: several times faster for batches of small items (e.g. network activations).

    Parameters
    ----------
    x : array_like
        ``batch_dims`` batch axes followed by a 1- to 4-D item; any real dtype and strides,
        ``+-inf`` allowed (``inf <= eta`` only for ``eta = inf``), NaN is an error.
    threshold : float or array_like
        eta: one number for all items or an array of shape ``batch_shape`` (one per item).
    batch_dims, maxdim, construction, n_threads
        As in :func:`cuph.persistence`. 1- to 3-D items use the dedicated kernel; 4-D items
        fall back to counting pairs of the persistence diagrams.
    device : {"auto", "cpu", "cuda"}
        ``"auto"``: the GPU when ``x`` lives on one (a torch or cupy array, read in place, any
        dtype) and :func:`cuph.cuda_available`, else the CPU (also for 4-D items on a GPU, from
        a host copy). The GPU computes 1-D, 2-D and 3-D items (components of the
        sublevel set and of its complement by union-find with atomics, beta_1 of 3-D items
        from the Euler characteristic; a 1-D item as a 2-D item of one row, whose sublevel
        sets have the same components and no holes); a host array with ``"cuda"`` is copied
        to the GPU.

    Returns
    -------
    numpy.ndarray of int64, shape ``batch_shape + (maxdim + 1,)``

    Examples
    --------
    >>> import numpy as np, cuph
    >>> ring = np.ones((2, 5, 5)); ring[:, 1:4, 1:4] = 0; ring[:, 2, 2] = 1
    >>> cuph.betti_numbers_at(ring, 0.5, batch_dims=1, construction="T").tolist()
    [[1, 1], [1, 1]]
    >>> cuph.betti_numbers_at(ring, [0.5, 1.0], batch_dims=1, construction="T").tolist()
    [[1, 1], [1, 0]]
    """
    x = _widen_exact(x)
    use_gpu = _use_gpu(x, device)
    if use_gpu and device == "auto" and not _gpu_takes(x, batch_dims, _GPU_BETTI_DIMS):
        use_gpu = False  # 4-D items: the CPU engine, on a host copy
        x = _to_host(x)
    return _betti_numbers_at(x, threshold, batch_dims, maxdim, construction, n_threads,
                             "cuda" if use_gpu else "cpu")


# The item dimensions of the GPU engine's Betti kernels: 2-D and 3-D, and 1-D items as 2-D
# items of one row (V: the same complex; T: a strip whose sublevel sets retract onto the
# line's), whose beta_0 is the line's (and beta_1 is 0, not returned: maxdim is 0).
_GPU_BETTI_DIMS = (1, 2, 3)


def _betti_numbers_at(x: Any, threshold: Any, batch_dims: int, maxdim: Optional[int],
                      construction: str, n_threads: Optional[int], engine: str) -> np.ndarray:
    """`betti_numbers_at` after the choice of device: engine "cpu", "cuda", or "portable" (the
    GPU kernels on the CPU launcher, for tests)."""
    if construction not in _CONSTRUCTIONS:
        raise ValueError(f"construction: must be 'V' (vertices) or 'T' (top cells), got {construction!r}")
    dev = _device_array(x) if engine == "cuda" else None
    if dev is not None:
        shape = dev["shape"]
        batch_dims, maxdim, n_threads = _check_options(len(shape), shape, batch_dims, maxdim,
                                                       n_threads)
        batch_shape = tuple(shape[:batch_dims])
        eta = _thresholds(threshold, batch_shape)
        if len(shape) - batch_dims not in _GPU_BETTI_DIMS:
            raise ValueError("device: the GPU engine's Betti numbers take 1-D, 2-D and 3-D "
                             "items; use device='cpu' with a host copy")
        if eta.shape[0] == 0:
            return np.zeros(batch_shape + (maxdim + 1,), dtype=np.int64)
        from . import _cuda  # type: ignore[attr-defined]

        shape, strides = _device_rows(dev, batch_dims)  # 1-D items as rows of 2-D items
        out = _cuda.betti_device(dev["ptr"], list(shape), strides, dev["code"], dev["stream"],
                                 eta, construction, batch_dims)
        return np.ascontiguousarray(out[:, : maxdim + 1]).reshape(batch_shape + (maxdim + 1,))
    arr = _as_array(x)
    batch_dims, maxdim, n_threads = _check_options(arr.ndim, arr.shape, batch_dims, maxdim,
                                                   n_threads)
    d = arr.ndim - batch_dims

    batch_shape = tuple(int(s) for s in arr.shape[:batch_dims])
    eta = _thresholds(threshold, batch_shape)
    if eta.shape[0] == 0:  # an empty batch
        return np.zeros(batch_shape + (maxdim + 1,), dtype=np.int64)
    if engine != "cpu":
        if d not in _GPU_BETTI_DIMS:
            raise ValueError(f"device: the GPU engine's Betti numbers take 1-D, 2-D and 3-D "
                             f"items, got {d}-D items; use device='cpu'")
        if d == 1:  # the row of a 2-D item
            arr = arr[..., None, :]
        if engine == "portable":
            out = _core._portable_betti(arr, eta, construction, batch_dims, n_threads)
        else:
            from . import _cuda  # type: ignore[attr-defined]

            out = _cuda.betti(np.ascontiguousarray(arr), eta, construction, batch_dims)
        out = out[:, : maxdim + 1]
    elif d <= 3 and hasattr(_core, "betti_at"):
        out = _core.betti_at(arr, eta, construction, batch_dims, n_threads)[:, : maxdim + 1]
    else:
        out = _betti_from_diagrams(arr, eta, construction, batch_dims, maxdim, n_threads)
    return np.ascontiguousarray(out).reshape(batch_shape + (maxdim + 1,))
