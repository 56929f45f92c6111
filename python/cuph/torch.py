"""``cuph.torch``: persistence of torch tensors, differentiable through the persistence pairs.

The compiled engine never sees torch: a CPU tensor is handed to :func:`cuph.persistence` as
a zero-copy numpy view (its own strides), and the differentiable values are gathered back
from the *input tensor* at ``birth_index`` / ``death_index``.  Because every birth and death
value of a cubical filtration is one input value, ``birth = x.flatten()[birth_index]`` is
exact, and autograd's own indexing backward sends ``d loss / d birth`` to the input element
that created the class (the same for deaths).  Away from ties this is the gradient of the
diagram; where several values tie, the pairing (and so the subgradient) is the one fixed by
the engine's total order (value, then cell index).

CUDA tensors go to the GPU engine, read in place, when it computes them (1-D and 2-D items
without ``keep_diagonal``; see :func:`cuph.persistence`), else to the CPU engine from a host copy; the
results are returned on the tensor's device either way.

Example: a topological loss that closes a hole
-----------------------------------------------
>>> import torch, cuph.torch
>>> img = torch.ones(9, 9, dtype=torch.float64)
>>> img[2:7, 2:7] = 0.0; img[3:6, 3:6] = 1.0          # a ring of zeros around a plateau
>>> img.requires_grad_(True)
... # doctest: +ELLIPSIS
tensor(...)
>>> opt = torch.optim.SGD([img], lr=0.2)
>>> for _ in range(40):
...     h1 = cuph.torch.persistence(img, construction="T").in_dim(1)
...     loss = ((h1[:, 1] - h1[:, 0]) ** 2).sum()       # total squared persistence of holes
...     opt.zero_grad(); loss.backward(); opt.step()
>>> h1 = cuph.torch.persistence(img.detach(), construction="T").in_dim(1)
>>> float((h1[:, 1] - h1[:, 0]).sum()) < 0.05
True
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional, Tuple, Union

import numpy as np
import torch as _torch

from .diagrams import DeviceDiagrams, Diagrams
from . import engine as _engine
from .engine import persistence as _persistence

__all__ = ["persistence", "TorchDiagrams"]

_NUMPY_OF = {
    np.dtype(np.float32): _torch.float32,
    np.dtype(np.float64): _torch.float64,
}


def _device_columns(dg: Diagrams, device: Any) -> Optional[Dict[str, Any]]:
    """The GPU engine's columns of ``dg`` as torch tensors on ``device`` (no copy), if it left
    them there (a DeviceDiagrams of a CUDA tensor's), else None."""
    if not isinstance(dg, DeviceDiagrams):
        return None
    first = dg.device_columns["dim"]
    if not isinstance(first, _torch.Tensor) or first.device != _torch.device(device):
        return None  # (asked before to_torch(), which would copy such columns to the host)
    return dg.to_torch()


def _index_tensors(dg: Diagrams, device: Any,
                   cols: Optional[Dict[str, Any]] = None) -> Tuple[Any, Any, Any, Any]:
    """dim, birth_index, death_index and item of ``dg`` as int64 tensors on ``device``: copies
    of the GPU engine's device columns (``cols``, from :func:`_device_columns`) where it left
    them there, else from the numpy columns."""
    if cols is None:
        cols = _device_columns(dg, device)
    if cols is not None:
        return tuple(cols[k].to(_torch.int64, copy=True)  # type: ignore[return-value]
                     for k in ("dim", "birth_index", "death_index", "item"))
    as_t = lambda a: _torch.as_tensor(np.asarray(a, dtype=np.int64), device=device)  # noqa: E731
    return as_t(dg.dim), as_t(dg.birth_index), as_t(dg.death_index), as_t(dg.item)


class TorchDiagrams:
    """Persistence diagrams whose ``birth`` / ``death`` are differentiable torch tensors.

    The layout is that of :class:`cuph.Diagrams` (rows sorted by ``(item, dim)``, the same
    ``offsets``); ``dim``, ``birth_index``, ``death_index`` and ``item`` are int64 tensors on
    the input's device.  Everything that is not about gradients (Betti numbers, Betti curves,
    adapters to gudhi/persim/giotto/cripser, plots, files) is delegated to the detached numpy
    :class:`~cuph.Diagrams` in :attr:`numpy`.

    Attributes
    ----------
    birth, death : torch.Tensor
        Float tensors (float32 for inputs of at most 32-bit floats or 16-bit integers,
        float64 otherwise) that carry autograd back to the input.  Essential classes have
        ``death = inf`` (``-inf`` for superlevel), with no gradient.
    numpy : cuph.Diagrams
        The same diagrams as numpy arrays.
    """

    def __init__(self, diagrams: Diagrams, birth: Any, death: Any, device: Any,
                 indices: Optional[Tuple[Any, Any, Any, Any]] = None) -> None:
        self.numpy = diagrams
        self.birth = birth
        self.death = death
        self.device = device
        if indices is None:
            indices = _index_tensors(diagrams, device)
        self.dim, self.birth_index, self.death_index, self.item = indices

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set on this object: the numpy-side API.
        if name == "numpy":  # not yet set (during unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.numpy, name)

    def __len__(self) -> int:
        return len(self.numpy)

    def __repr__(self) -> str:
        return "Torch" + repr(self.numpy) + f" on {self.device}"

    def __getitem__(self, index: Any) -> "TorchDiagrams":
        """One item (a flat index or one int per batch axis), still differentiable."""
        i = self.numpy._flat_item(index)
        m1 = self.numpy.maxdim + 1
        lo, hi = int(self.numpy.offsets[i * m1]), int(self.numpy.offsets[(i + 1) * m1])
        return TorchDiagrams(self.numpy[i], self.birth[lo:hi], self.death[lo:hi], self.device)

    def __iter__(self) -> Iterator["TorchDiagrams"]:
        for i in range(len(self)):
            yield self[i]

    def in_dim(self, k: int) -> Any:
        """All pairs of dimension ``k`` as an ``(n, 2)`` tensor ``[birth, death]`` (with grad)."""
        mask = self.dim == int(k)
        return _torch.stack([self.birth[mask], self.death[mask]], dim=1)

    def finite(self, k: Optional[int] = None) -> Any:
        """Pairs with a finite death (optionally of dimension ``k``) as an ``(n, 2)`` tensor.

        This is what topological losses usually sum over: essential classes have an
        infinite length and no death to move.
        """
        mask = self.death_index >= 0
        if k is not None:
            mask = mask & (self.dim == int(k))
        return _torch.stack([self.birth[mask], self.death[mask]], dim=1)

    def detach(self) -> Diagrams:
        """The numpy :class:`~cuph.Diagrams` (no autograd)."""
        return self.numpy


def _engine_view(t: Any, host: bool) -> Any:
    """What the engine reads: a numpy array (a zero-copy view of a CPU tensor when possible) or,
    with ``host=False``, the CUDA tensor itself, read in place."""
    t = t.detach()
    if t.is_complex():
        raise TypeError(f"x: complex tensors are not supported (dtype {t.dtype})")
    t = _engine._widen_exact(t)  # bfloat16, float8: numpy has no such dtype
    if host and t.device.type != "cpu":
        t = t.cpu()
    if t.is_conj() or t.is_neg():
        t = t.resolve_conj().resolve_neg()
    return t.numpy() if host else t


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
) -> TorchDiagrams:
    """Persistence diagrams of a tensor, differentiable with respect to the tensor.

    Same arguments and result layout as :func:`cuph.persistence`; ``x`` may be a CPU or
    CUDA tensor (or anything ``torch.as_tensor`` accepts).  ``birth`` / ``death`` of the
    result are gathered from ``x`` at ``birth_index`` / ``death_index``, so gradients of any
    function of them flow back to ``x``.

    Examples
    --------
    >>> import torch, cuph.torch
    >>> x = torch.tensor([[0., 2, 0], [2, 3, 2], [0, 2, 0]], requires_grad=True)
    >>> dg = cuph.torch.persistence(x)
    >>> h0 = dg.finite(0)      # three corners die at 2; the oldest (index 0) is essential
    >>> (h0[:, 1] - h0[:, 0]).sum().backward()
    >>> x.grad
    tensor([[ 0.,  1., -1.],
            [ 1.,  0.,  1.],
            [-1.,  0., -1.]])
    """
    if not isinstance(x, _torch.Tensor):
        x = _torch.as_tensor(x)
    if device == "cuda" and x.device.type != "cuda":
        raise ValueError("device: 'cuda' needs a CUDA tensor here; move it with x.cuda()")
    # A CUDA tensor goes to the GPU engine ("auto": when cuph has a usable one, else from a
    # host copy; the engine itself sends what it does not compute to the CPU).
    on_gpu = x.device.type == "cuda" and (device == "cuda" or (device == "auto" and
                                                                _engine.cuda_available()))
    dg = _persistence(
        _engine_view(x, host=not on_gpu), maxdim=maxdim, construction=construction,
        batch_dims=batch_dims, n_threads=n_threads, superlevel=superlevel,
        device=device if on_gpu else "cpu", keep_diagonal=keep_diagonal, max_memory=max_memory,
    )
    # The index columns on x's device: as the GPU engine left them there, or from numpy.
    cols = _device_columns(dg, x.device)
    indices = _index_tensors(dg, x.device, cols)
    _, birth_index, d_raw, item = indices
    out_dtype = (cols["birth"].dtype if cols is not None
                 else _NUMPY_OF[np.dtype(dg.birth.dtype)])
    item_size = int(np.prod(dg.item_shape, dtype=np.int64))
    flat = x.reshape(-1)
    if not flat.dtype.is_floating_point:
        flat = flat.to(out_dtype)
    rows_item = item * item_size
    b_idx = birth_index + rows_item
    birth = flat[b_idx].to(out_dtype)
    essential = d_raw < 0
    d_idx = _torch.where(essential, _torch.zeros_like(d_raw), d_raw) + rows_item
    inf = _torch.full((), float("-inf") if superlevel else float("inf"), dtype=out_dtype,
                      device=x.device)
    death = _torch.where(essential, inf, flat[d_idx].to(out_dtype))
    return TorchDiagrams(dg, birth, death, x.device, indices)
