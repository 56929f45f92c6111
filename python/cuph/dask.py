"""``cuph.dask``: the engine and the Betti-profile job on Dask, beyond one process or machine.

cuph brings no scheduler of its own: batches are mapped over the blocks of a
``dask.array.Array`` and model profiling over shards of the data, so that whatever runs Dask
(a laptop's ``LocalCluster``, ``dask-jobqueue`` on SLURM/PBS, Kubernetes, ``dask-cuda``'s
one-worker-per-GPU ``LocalCUDACluster``) runs cuph.  See ``docs/DASK.md``.

Guarantees
----------
* Items are never split: the item axes of the array are rechunked to one chunk each
  (``rechunk=True``, the default) or refused (``rechunk=False``).  Each block along the
  batch axes is one engine call; results are concatenated in batch order with ``item``
  renumbered globally, so ``cuph.dask.persistence(x).compute()`` equals
  ``cuph.persistence(x.compute())`` pair for pair.
* Profiling ships each model to each worker once (a scattered future, or a
  :class:`ModelSpec` that the worker builds and caches), never once per task; each task
  returns only Betti counts.  Tasks are pure functions of their shard, so when Dask
  re-runs the tasks of a lost worker, no image is lost or counted twice.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .diagrams import Diagrams
from ._threads import usable_cores
from .engine import _check_int
from .engine import persistence as _persistence

__all__ = ["persistence", "ModelSpec", "profile", "profile_models", "connect"]

_ENGINE_KWARGS = ("maxdim", "construction", "n_threads", "superlevel", "keep_diagonal", "device")


# ----------------------------------------------------------------------------- persistence
def _block_persistence(block: Any, start: int, kwargs: Dict[str, Any]) -> Diagrams:
    """One block of whole items (axis 0 = items) -> Diagrams; errors name the global item."""
    arr = np.asarray(block)
    try:
        return _persistence(arr, batch_dims=1, **kwargs)
    except ValueError as e:
        # The engine names the NaN's index within the block: give the item's global number.
        m = re.match(r"x: contains NaN at index \((\d+), ?(.*)\); (.*)", str(e), re.S)
        if m:
            item = start + int(m.group(1))
            raise ValueError(f"x: item {item} contains NaN at index ({m.group(2)}); "
                             f"{m.group(3)}") from None
        raise ValueError(f"items {start}..{start + arr.shape[0] - 1}: {e}") from e
    except (TypeError, MemoryError) as e:
        raise type(e)(f"items {start}..{start + arr.shape[0] - 1}: {e}") from e


def _concat(parts: Sequence[Diagrams], batch_shape: Tuple[int, ...]) -> Diagrams:
    return Diagrams.concat(list(parts), batch_shape=batch_shape)


def persistence(
    x: Any,
    batch_dims: int = 1,
    *,
    compute: bool = True,
    rechunk: bool = True,
    **kwargs: Any,
) -> Any:
    """:func:`cuph.persistence` mapped over the blocks of a dask array.

    Parameters
    ----------
    x : dask.array.Array (or array_like, wrapped with one chunk)
        ``batch_dims`` leading batch axes, then the item axes.
    batch_dims : int
        At least 1 (a single item is not worth distributing: use :func:`cuph.persistence`).
    compute : bool
        ``True``: return the :class:`~cuph.Diagrams` (computed with the active scheduler or
        ``distributed.Client``).  ``False``: return a lazy ``dask.delayed.Delayed`` whose
        ``.compute()`` gives that Diagrams.
    rechunk : bool
        Rechunk the item axes into one chunk each when the input splits items; with
        ``False`` such an input raises ``ValueError``.  Batch axes keep their chunks (one
        engine call per block); several batch axes are flattened to one first.
    **kwargs
        ``maxdim``, ``construction``, ``superlevel``, ``keep_diagonal``, ``device``, and
        ``n_threads`` per task (default 1: Dask's workers are the parallelism).

    Examples
    --------
    >>> import dask.array as da, numpy as np, cuph, cuph.dask
    >>> x = da.from_array(np.random.default_rng(0).integers(0, 4, (10, 6, 6)), chunks=(3, 6, 6))
    >>> dg = cuph.dask.persistence(x, construction="T")
    >>> dg.n_items, dg.n_pairs == cuph.persistence(x.compute(), batch_dims=1, construction="T").n_pairs
    (10, True)
    """
    import dask
    import dask.array as da

    unknown = sorted(set(kwargs) - set(_ENGINE_KWARGS))
    if unknown:
        raise TypeError(f"persistence() got an unexpected keyword argument {unknown[0]!r}")
    kwargs.setdefault("n_threads", 1)
    if not isinstance(x, da.Array):
        arr = np.asarray(x)
        x = da.from_array(arr, chunks=arr.shape or ())
    batch_dims = _check_int("batch_dims", batch_dims)
    if not 1 <= batch_dims < x.ndim:
        raise ValueError(
            f"batch_dims: must be in [1, {x.ndim - 1}] for a dask array of ndim {x.ndim}, "
            f"got {batch_dims} (a single item: use cuph.persistence)"
        )
    if any(np.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError("x: unknown chunk sizes; call x.compute_chunk_sizes() first")
    split = [ax for ax in range(batch_dims, x.ndim) if len(x.chunks[ax]) > 1]
    if split:
        if not rechunk:
            raise ValueError(
                f"x: chunks split items along axis {split[0]} (chunks {x.chunks[split[0]]}); "
                f"every item axis must be one chunk: pass rechunk=True or "
                f"x.rechunk({{{split[0]}: -1}})"
            )
        x = x.rechunk({ax: -1 for ax in split})
    batch_shape = tuple(int(s) for s in x.shape[:batch_dims])
    item_shape = tuple(int(s) for s in x.shape[batch_dims:])
    if batch_dims > 1:
        x = x.reshape((int(np.prod(batch_shape, dtype=np.int64)),) + item_shape)
    blocks = x.to_delayed().reshape(-1)
    starts = np.concatenate([[0], np.cumsum(x.chunks[0])[:-1]]).astype(int)
    parts = [
        dask.delayed(_block_persistence, pure=False)(b, int(s), dict(kwargs))
        for b, s in zip(blocks, starts)
    ]
    if compute:  # gather the parts here and join them once (no hop through a worker)
        return _concat(dask.compute(*parts), batch_shape)
    return dask.delayed(_concat, pure=True)(parts, batch_shape)


# ----------------------------------------------------------------------------- clients
def connect(address: Optional[str] = None, n_workers: Optional[int] = None, timeout: float = 10.0) -> Any:
    """A ``distributed.Client``: to a running scheduler at ``address``, or to a new
    ``LocalCluster`` of ``n_workers`` processes (one thread each).

    Raises ``ConnectionError`` naming the address when no scheduler answers within
    ``timeout`` seconds.
    """
    from distributed import Client, LocalCluster

    if address is not None:
        try:
            return Client(address, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as e:
            raise ConnectionError(
                f"scheduler: no Dask scheduler answered at {address!r} within {timeout:g} s "
                f"({type(e).__name__}); start one with `dask scheduler` or check the address"
            ) from e
    n = n_workers or usable_cores()
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster)


# ----------------------------------------------------------------------------- profiling
@dataclass(frozen=True)
class ModelSpec:
    """How a worker builds a model: a torchvision name (+ a local weights file), or a
    picklable zero-argument ``factory``.  Workers build each spec once and cache it."""

    name: str = ""
    weights: Optional[str] = None
    factory: Optional[Callable[[], Any]] = None

    def build(self) -> Any:
        if self.factory is not None:
            model = self.factory()
        else:
            from .cli_nn import load_model

            model = load_model(self.name, self.weights)
        return model.eval()


@dataclass(frozen=True)
class _PickledModel:
    """A model object as plain pickle bytes.  Dask's own serializer for torch modules turns
    their hook OrderedDicts into dicts (hooks then fail), so the model travels as bytes and
    is unpickled once per worker."""

    token: str
    payload: bytes

    def build(self) -> Any:
        import pickle

        return pickle.loads(self.payload)


# One model per spec per worker process; the lock keeps two worker threads from building
# the same model twice.
_MODEL_CACHE: Dict[Any, Any] = {}
_MODEL_LOCK = threading.Lock()


def _get_model(model: Any) -> Any:
    if isinstance(model, (ModelSpec, _PickledModel)):
        key = model.token if isinstance(model, _PickledModel) else model
        with _MODEL_LOCK:
            if key not in _MODEL_CACHE:
                _MODEL_CACHE[key] = model.build()
            return _MODEL_CACHE[key]
    return model


def _profile_shard(
    model: Any, shard: np.ndarray, kwargs: Dict[str, Any]
) -> Tuple[List[str], List[Tuple[int, ...]], np.ndarray, float]:
    """Betti numbers of one shard of images: only the counts travel back."""
    import torch

    from .metrics import betti_profile

    prof = betti_profile(_get_model(model), torch.from_numpy(np.ascontiguousarray(shard)),
                         progress=False, **kwargs)
    return prof.layers, prof.layer_shapes, prof.betti, prof.timings["persistence"]


def _as_numpy_images(data: Any) -> np.ndarray:
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"data: expected a non-empty batch of images (N, ...), got shape {arr.shape}")
    return arr


def profile(
    model: Any,
    data: Any,
    client: Any,
    shard_size: int = 128,
    name: str = "",
    progress: bool = True,
    retries: int = 2,
    **profile_kwargs: Any,
) -> Any:
    """:func:`cuph.metrics.betti_profile` over the workers of a ``distributed.Client``.

    ``data`` (an array or tensor of images) is cut into shards of ``shard_size`` images;
    ``model`` is a :class:`ModelSpec` (built once per worker) or a model object (scattered
    to every worker once).  Results equal the single-process profile.
    """
    import time

    from distributed import as_completed

    from .metrics import BettiProfile

    t0 = time.perf_counter()
    images = _as_numpy_images(data)
    shard_size = _check_int("shard_size", shard_size)
    if shard_size < 1:
        raise ValueError(f"shard_size: must be >= 1, got {shard_size}")
    kwargs = dict(profile_kwargs)
    kwargs.setdefault("n_threads", 1)
    if isinstance(model, ModelSpec):
        model_ref: Any = model
    else:
        import pickle
        import uuid

        shipped = _PickledModel(uuid.uuid4().hex, pickle.dumps(model))
        model_ref = client.scatter(shipped, broadcast=True)
    bounds = [(s, min(s + shard_size, images.shape[0])) for s in range(0, images.shape[0], shard_size)]
    futures = [client.submit(_profile_shard, model_ref, images[a:b], kwargs, pure=True,
                             retries=retries, key=f"cuph-profile-{name or 'model'}-{a}-{b}-{id(images)}")
               for a, b in bounds]
    index = {f.key: i for i, f in enumerate(futures)}
    results: List[Any] = [None] * len(futures)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=images.shape[0], unit="img", desc=f"profile {name or 'model'} (dask)")
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = fut.result()
            if bar is not None:
                bar.update(bounds[i][1] - bounds[i][0])
    finally:
        if bar is not None:
            bar.close()
    layers, shapes = results[0][0], results[0][1]
    betti = np.concatenate([r[2] for r in results], axis=1)
    return BettiProfile(
        layers=list(layers), betti=betti, layer_shapes=list(shapes),
        threshold=kwargs.get("threshold", "mean"), construction=kwargs.get("construction", "V"),
        per_channel=bool(kwargs.get("per_channel", False)), name=name,
        timings={"total": time.perf_counter() - t0,
                 "persistence": float(sum(r[3] for r in results))},  # summed over workers
    )


def profile_models(
    models: Mapping[str, Any], data: Any, client: Any, **kwargs: Any
) -> Dict[str, Any]:
    """:func:`profile` for several models on the same images: ``{name: BettiProfile}``."""
    return {name: profile(m, data, client, name=name, **kwargs) for name, m in models.items()}
