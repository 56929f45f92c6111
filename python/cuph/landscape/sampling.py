"""Sampling the loss of a torch model: on a grid spanned by random directions around the
trained parameters (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets", with
filter normalisation), or at a set of parameter vectors (checkpoints, minima of many runs)
joined into a k-nearest-neighbour graph.

torch is imported lazily: ``import cuph`` never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..diagrams import Diagrams

__all__ = ["LossSurface", "LossGraph", "loss_surface", "loss_graph", "random_directions"]

_NORMALIZATIONS = ("filter", "layer", "none")


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "loss sampling needs PyTorch, which is not installed: pip install torch "
            "(or pip install 'cuph[torch]')"
        ) from None
    return torch


@dataclass
class LossSurface:
    """Loss values on a regular grid of ``theta + sum_k a_k d_k``.

    Attributes
    ----------
    losses : numpy.ndarray of float64, shape (r_1, ..., r_k)
        Mean loss over the data at every grid point (C order; axis ``k`` is direction ``k``).
        Ready for ``cuph.persistence(losses, maxdim=0)`` / :func:`minima_barcode`.
    axes : tuple of numpy.ndarray
        The coefficients ``a_k`` along each axis (the centre, 0, is included when the
        resolution is odd).
    center_loss : float
        Loss at the unperturbed parameters.
    """

    losses: np.ndarray
    axes: Tuple[np.ndarray, ...]
    center_loss: float

    def persistence(self, maxdim: int = 0, **kwargs: Any) -> Diagrams:
        """``cuph.persistence(self.losses, maxdim=maxdim, construction="V", **kwargs)``."""
        from ..engine import persistence

        return persistence(self.losses, maxdim=maxdim, construction="V", **kwargs)

    def minima_barcode(self, **kwargs: Any) -> Any:
        """:func:`cuph.landscape.minima_barcode` with locations in direction coefficients."""
        from .barcode import minima_barcode

        return minima_barcode(self.losses, coords=self.axes, **kwargs)


@dataclass
class LossGraph:
    """Loss values at parameter vectors and their k-nearest-neighbour graph.

    Attributes
    ----------
    values : numpy.ndarray of float64, shape (n,)
        Mean loss at each parameter vector.
    edges : numpy.ndarray of int64, shape (m, 2)
        Undirected kNN edges between the parameter vectors.
    points : numpy.ndarray of float64, shape (n, P)
        The flattened parameter vectors (in ``model.named_parameters()`` order).
    """

    values: np.ndarray
    edges: np.ndarray
    points: np.ndarray

    def persistence(self, **kwargs: Any) -> Diagrams:
        """:func:`cuph.landscape.graph_persistence` of the losses on the graph."""
        from .graph import graph_persistence

        return graph_persistence(self.values, self.edges, **kwargs)

    def minima_barcode(self, **kwargs: Any) -> Any:
        """:func:`cuph.landscape.minima_barcode` on the graph (locations: vertex numbers)."""
        from .barcode import minima_barcode

        return minima_barcode(self.values, self.edges, **kwargs)


def random_directions(model: Any, n: int, normalization: str = "filter", *,
                      ignore_biasbn: bool = True, seed: int = 0) -> List[List[Any]]:
    """``n`` random directions in parameter space, one tensor per parameter of ``model``.

    Gaussian directions, rescaled as in Li et al. (2018):

    * ``"filter"``: every filter (slice along the first axis: an output unit of a linear
      layer, an output channel of a convolution) of a weight with >= 2 axes gets the norm of
      the same filter of the model's weights, ``d_i <- d_i / ||d_i|| * ||theta_i||``;
    * ``"layer"``: every parameter tensor gets the norm of the model's tensor;
    * ``"none"``: plain standard normal entries.

    One-axis parameters (biases, batch-norm) get a zero direction with ``ignore_biasbn=True``
    (Li et al.'s ``--xignore biasbn``, the usual choice) and, otherwise, a copy of the
    parameter (what their code does without it); ``"none"`` leaves them Gaussian too.
    Generated on the CPU from ``seed``, so they do not depend on the device.
    """
    torch = _torch()
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization: must be one of {_NORMALIZATIONS}, got {normalization!r}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    params = [p.detach() for p in model.parameters()]
    out = []
    for _ in range(n):
        direction = []
        for p in params:
            w = p.to("cpu", torch.float32)
            d = torch.randn(w.shape, generator=gen, dtype=torch.float32)
            if normalization == "none":
                pass
            elif w.dim() <= 1:
                d = torch.zeros_like(w) if ignore_biasbn else w.clone()
            elif normalization == "filter":
                dn = d.reshape(d.shape[0], -1).norm(dim=1)
                wn = w.reshape(w.shape[0], -1).norm(dim=1)
                d = d * (wn / (dn + 1e-10)).reshape((-1,) + (1,) * (d.dim() - 1))
            else:
                d = d * (w.norm() / (d.norm() + 1e-10))
            direction.append(d.to(p.device, p.dtype))
        out.append(direction)
    return out


def _batches(data: Any, device: Any, batch_size: int) -> Tuple[Callable[[], Iterable], int]:
    """A re-iterable source of (x, y) batches on ``device`` and the number of samples."""
    torch = _torch()
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        x = torch.as_tensor(np.asarray(data[0]) if not torch.is_tensor(data[0]) else data[0])
        y = torch.as_tensor(np.asarray(data[1]) if not torch.is_tensor(data[1]) else data[1])
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"data: inputs and targets differ in length ({x.shape[0]} vs {y.shape[0]})")
        if x.dtype == torch.float64:
            x = x.float()
        x, y = x.to(device), y.to(device)
        chunks = [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return (lambda: chunks), int(x.shape[0])
    if hasattr(data, "__iter__"):
        n = 0
        for xb, _ in data:
            n += int(len(xb))

        def gen() -> Iterable:
            for xb, yb in data:
                yield xb.to(device), yb.to(device)

        return gen, n
    raise TypeError(
        f"data: expected (inputs, targets) arrays/tensors or an iterable of (inputs, targets) "
        f"batches such as a DataLoader, got {type(data).__name__}"
    )


class _Evaluator:
    """Mean loss over the data at many flat parameter vectors.

    Three ways, tried in this order, the first that works is kept: ``torch.func.vmap`` over a
    chunk of vectors (one forward pass for all of them), ``functional_call`` one vector at a
    time (models vmap cannot trace), and writing the vector into the model's parameters
    (TorchScript modules, which the functional API refuses; the parameters are restored).
    """

    _MODES = ("vmap", "call", "inplace")

    def __init__(self, model: Any, loss_fn: Callable, data: Any, device: Any, batch_size: int,
                 vectorize: bool) -> None:
        torch = _torch()
        from torch.func import functional_call

        self.torch = torch
        self.model = model.to(device).eval()
        self.params = list(model.parameters())
        if not self.params:
            raise ValueError("model: has no parameters to perturb")
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [p.shape for p in self.params]
        self.sizes = [p.numel() for p in self.params]
        self.buffers = dict(model.named_buffers())
        self.batches, self.n = _batches(data, device, batch_size)
        if self.n == 0:
            raise ValueError("data: no samples")
        self.loss_fn = loss_fn
        self.mode = 0 if vectorize else 1

        def loss_at(flat: Any, x: Any, y: Any) -> Any:
            params = {n: t.reshape(s) for n, t, s in
                      zip(self.names, torch.split(flat, self.sizes), self.shapes)}
            return loss_fn(functional_call(self.model, (params, self.buffers), (x,)), y)

        self.loss_at = loss_at

    def _one_by_one(self, loss: Callable) -> Callable:
        return lambda f, x, y: self.torch.stack([loss(v, x, y) for v in f])

    def _inplace(self, flat: Any, x: Any, y: Any) -> Any:
        for p, t, s in zip(self.params, self.torch.split(flat, self.sizes), self.shapes):
            p.copy_(t.reshape(s))
        return self.loss_fn(self.model(x), y)

    def __call__(self, flats: Any) -> np.ndarray:
        """flats: (P, n_params) tensor on the device -> (P,) mean losses."""
        torch = self.torch
        with torch.no_grad():
            while True:
                mode = self._MODES[self.mode]
                if mode == "inplace":
                    saved = [p.detach().clone() for p in self.params]
                    try:
                        return self._sum(flats, self._one_by_one(self._inplace))
                    finally:
                        for p, t in zip(self.params, saved):
                            p.copy_(t)
                fn = (torch.func.vmap(self.loss_at, in_dims=(0, None, None)) if mode == "vmap"
                      else self._one_by_one(self.loss_at))
                try:
                    return self._sum(flats, fn)
                except Exception:  # noqa: BLE001 - not every model can be traced: next way
                    self.mode += 1

    def _sum(self, flats: Any, fn: Callable) -> np.ndarray:
        total = self.torch.zeros(flats.shape[0], dtype=self.torch.float64, device=flats.device)
        for x, y in self.batches():
            total += fn(flats, x, y).to(self.torch.float64) * float(len(x))
        return (total / self.n).cpu().numpy()


def _device(device: Any) -> Any:
    torch = _torch()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _chunk(n_params: int, points_per_batch: Optional[int]) -> int:
    if points_per_batch is not None:
        if int(points_per_batch) < 1:
            raise ValueError(f"points_per_batch: must be >= 1, got {points_per_batch}")
        return int(points_per_batch)
    return int(max(1, min(64, (1 << 25) // max(1, n_params))))  # ~128 MiB of float32 vectors


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    import sys

    return tqdm(total=total, unit="pt", desc=desc, file=sys.stderr)


def loss_surface(
    model: Any,
    loss_fn: Callable,
    data: Any,
    directions: Union[int, Sequence[Any]] = 2,
    resolution: Union[int, Sequence[int]] = 51,
    *,
    span: Union[float, Tuple[float, float]] = 1.0,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
    seed: int = 0,
    device: Any = None,
    batch_size: int = 4096,
    points_per_batch: Optional[int] = None,
    vectorize: bool = True,
    progress: bool = False,
) -> LossSurface:
    """The loss of a torch model on a grid in a random low-dimensional slice of parameter space.

    The grid is ``theta + sum_k a_k d_k`` with ``theta`` the model's parameters, ``d_k``
    random directions rescaled by ``normalization`` (see :func:`random_directions`: filter
    normalisation as in Li et al. 2018 by default) and ``a_k`` evenly spaced in ``span``.
    Grid points are evaluated in chunks (``points_per_batch`` parameter vectors at once,
    vectorised with ``torch.func.vmap``) over the data in batches of ``batch_size``, on the GPU
    when one is present. The model is put in eval mode and moved to ``device``.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
        ``loss_fn(model(x), y)`` -> scalar mean loss over the batch (e.g.
        ``torch.nn.CrossEntropyLoss()``). Batches are weighted by their size.
    data : (inputs, targets) or iterable of (inputs, targets)
        Arrays/tensors (moved to the device once) or a DataLoader (re-read per chunk).
    directions : int or sequence
        Number of random directions (1 to 4: the grid goes to the cubical engine), or the
        directions themselves, each a list of tensors (or arrays) shaped like
        ``model.parameters()``.
    resolution : int or sequence of int
        Points per axis (odd values include the centre).
    span : float or (float, float)
        Coefficient range ``[-span, span]`` or ``(lo, hi)``.
    normalization : {"filter", "layer", "none"}
    ignore_biasbn : bool
        Zero direction for one-axis parameters (biases, batch-norm).
    seed : int
        Seed of the random directions.
    device : str or torch.device, optional
        Default: ``"cuda"`` when available, else ``"cpu"``.
    batch_size : int
        Samples per forward pass.
    points_per_batch : int, optional
        Parameter vectors per forward pass (default: up to 64, bounded by ~128 MiB).
    vectorize : bool
        Use ``torch.func.vmap`` (falls back to one vector at a time if the model cannot be
        traced).
    progress : bool
        tqdm progress bar on stderr.

    Returns
    -------
    LossSurface

    Examples
    --------
    >>> import torch, cuph  # doctest: +SKIP
    >>> from cuph.landscape import loss_surface, minima_barcode, to_score  # doctest: +SKIP
    >>> surf = loss_surface(model, torch.nn.CrossEntropyLoss(), (x, y), resolution=41)  # doctest: +SKIP
    >>> to_score(surf.minima_barcode())  # doctest: +SKIP
    """
    torch = _torch()
    dev = _device(device)
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization: must be one of {_NORMALIZATIONS}, got {normalization!r}")
    if isinstance(directions, (int, np.integer)) and not isinstance(directions, bool):
        k = int(directions)
        if not 1 <= k <= 4:
            raise ValueError(f"directions: 1 to 4 random directions (a grid for the cubical engine), got {k}")
        dirs = random_directions(model, k, normalization, ignore_biasbn=ignore_biasbn, seed=seed)
    else:
        dirs = [list(d) for d in directions]
        k = len(dirs)
        if not 1 <= k <= 4:
            raise ValueError(f"directions: expected 1 to 4 directions, got {k}")
    res = [int(resolution)] * k if np.isscalar(resolution) else [int(r) for r in resolution]
    if len(res) != k or any(r < 1 for r in res):
        raise ValueError(f"resolution: one positive int, or one per direction ({k}), got {resolution!r}")
    lo, hi = (-float(span), float(span)) if np.isscalar(span) else (float(span[0]), float(span[1]))
    if not lo < hi:
        raise ValueError(f"span: need lo < hi, got ({lo}, {hi})")
    axes = tuple(np.linspace(lo, hi, r) for r in res)

    ev = _Evaluator(model, loss_fn, data, dev, batch_size, vectorize)
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).to(dev)
    n_params = theta.numel()
    dmat = torch.stack([torch.cat([torch.as_tensor(t).reshape(-1).to(dev, theta.dtype) for t in d])
                        for d in dirs])
    if dmat.shape[1] != n_params:
        raise ValueError(f"directions: each needs {n_params} entries (the model's parameters), got {dmat.shape[1]}")
    coeff = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, k)
    losses = np.empty(coeff.shape[0], dtype=np.float64)
    step = _chunk(n_params, points_per_batch)
    bar = _progress(len(losses), progress, "loss surface")
    try:
        for s in range(0, len(losses), step):
            c = torch.as_tensor(coeff[s:s + step], dtype=theta.dtype, device=dev)
            losses[s:s + len(c)] = ev(theta + c @ dmat)
            if bar is not None:
                bar.update(len(c))
    finally:
        if bar is not None:
            bar.close()
    center = float(ev(theta[None])[0])
    return LossSurface(losses=losses.reshape(res), axes=axes, center_loss=center)


def _flat_vector(p: Any, names: List[str], torch: Any) -> Any:
    if isinstance(p, dict):
        missing = [n for n in names if n not in p]
        if missing:
            raise ValueError(f"parameters: a state dict lacks {missing[:3]}")
        return torch.cat([torch.as_tensor(p[n]).reshape(-1).float() for n in names])
    if isinstance(p, (list, tuple)):
        return torch.cat([torch.as_tensor(t).reshape(-1).float() for t in p])
    return torch.as_tensor(np.asarray(p) if not torch.is_tensor(p) else p).reshape(-1).float()


def loss_graph(
    model: Any,
    loss_fn: Callable,
    data: Any,
    parameters: Any,
    k: int = 10,
    *,
    device: Any = None,
    batch_size: int = 4096,
    points_per_batch: Optional[int] = None,
    vectorize: bool = True,
    progress: bool = False,
) -> LossGraph:
    """The loss at a set of parameter vectors, joined by a k-nearest-neighbour graph.

    Use it for checkpoints along training trajectories, minima found by many optimiser runs,
    or any sample of parameter space; :func:`graph_persistence` of the result gives the
    barcode of minima of the sampled loss.

    Parameters
    ----------
    model : torch.nn.Module
        Its architecture evaluates every vector (its own parameters are not used).
    loss_fn, data, device, batch_size, points_per_batch, vectorize, progress
        As for :func:`loss_surface`.
    parameters : array_like (n, P), or sequence of state dicts / tensor lists / flat vectors
        The parameter vectors (P = number of parameters, in ``model.named_parameters()``
        order).
    k : int
        Neighbours per vector in the Euclidean kNN graph (scikit-learn).

    Returns
    -------
    LossGraph
    """
    torch = _torch()
    from .graph import knn_graph

    dev = _device(device)
    names = [n for n, _ in model.named_parameters()]
    n_params = sum(p.numel() for p in model.parameters())
    if torch.is_tensor(parameters) or isinstance(parameters, np.ndarray):
        flats = torch.as_tensor(parameters).float()
        if flats.dim() != 2:
            raise ValueError(f"parameters: expected an (n, P) array, got shape {tuple(flats.shape)}")
    else:
        flats = torch.stack([_flat_vector(p, names, torch) for p in parameters])
    if flats.shape[1] != n_params:
        raise ValueError(f"parameters: each vector needs {n_params} entries (the model's parameters), "
                         f"got {flats.shape[1]}")
    ev = _Evaluator(model, loss_fn, data, dev, batch_size, vectorize)
    dtype = next(model.parameters()).dtype
    values = np.empty(flats.shape[0], dtype=np.float64)
    step = _chunk(n_params, points_per_batch)
    bar = _progress(len(values), progress, "loss graph")
    try:
        for s in range(0, len(values), step):
            chunk = flats[s:s + step].to(dev, dtype)
            values[s:s + len(chunk)] = ev(chunk)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    points = flats.double().numpy()
    return LossGraph(values=values, edges=knn_graph(points, k), points=points)
