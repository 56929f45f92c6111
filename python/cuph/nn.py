"""``cuph.nn``: activations of chosen layers of a torch model, streamed batch by batch.

:class:`ActivationExtractor` registers forward hooks on named modules, feeds the data
through the model in batches (``torch.no_grad``), and hands each layer's output to the
caller as soon as the layer has run.  With :meth:`ActivationExtractor.map`, a function is
applied *inside* the hook, so at most one layer's activation of one batch is alive at a
time: this is how :func:`cuph.metrics.betti_profile` keeps memory flat.

``layers="blocks"``: which layers a model gets
-----------------------------------------------
* torchvision **ResNet** (any depth): the stem outputs ``conv1``, ``bn1``, ``relu``, then the
  output of every residual block ``layer{i}.{j}`` (Suresh et al.'s choice): 11 layers for
  ResNet-18, 19 for ResNet-34 and ResNet-50, 36 for ResNet-101, 53 for ResNet-152.
* **VGG** (a ``features`` made only of conv, BN, ReLU and pooling layers): the output of
  every conv (+BN) + ReLU stage, i.e. each ``ReLU`` that follows a convolution in
  ``features`` (13 for VGG-16, 16 for VGG-19).
* **DenseNet**: the stem ``features.conv0``, ``features.norm0``, ``features.relu0``, then
  every dense block and transition output (``features.denseblock{i}``,
  ``features.transition{i}``): 10 layers for every DenseNet.
* **MobileNet V2/V3** (and any model whose ``features`` holds ``InvertedResidual`` blocks):
  every child of ``features``: the stem conv, each inverted-residual block, the last conv
  (19 for MobileNet-V2).
* **Any other model**: its children, with ``nn.Sequential`` / ``nn.ModuleList`` containers
  expanded recursively, i.e. the "leaves" of the container tree in forward order of
  registration (an ``nn.Sequential(conv, relu, conv, relu)`` gets its four layers; an
  EfficientNet gets its stem, each MBConv block and its head).  Print
  ``ActivationExtractor(model).layer_names`` to see them.

A list of module names (``dict(model.named_modules())`` keys) or a predicate
``f(name, module) -> bool`` selects layers explicitly.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

__all__ = ["ActivationExtractor", "block_layers", "iter_batches"]

LayerSpec = Union[str, Sequence[str], Callable[[str, nn.Module], bool]]


class _StopForward(Exception):
    """Raised in the last hook: nothing after the last requested layer needs to run."""


def _kind(m: nn.Module) -> str:
    return type(m).__name__


def block_layers(model: nn.Module) -> List[str]:
    """The names of the layers ``layers="blocks"`` selects (see the module docstring)."""
    features = getattr(model, "features", None)
    kids = dict(model.named_children())
    if all(k in kids for k in ("conv1", "bn1", "relu", "layer1")):  # ResNet family
        names = ["conv1", "bn1", "relu"]
        for i in range(1, 5):
            stage = kids.get(f"layer{i}")
            if stage is not None:
                names += [f"layer{i}.{j}" for j, _ in stage.named_children()]
        return names
    if isinstance(features, nn.Module):
        fk = dict(features.named_children())
        if "denseblock1" in fk:  # DenseNet
            return [f"features.{n}" for n in ("conv0", "norm0", "relu0") if n in fk] + [
                f"features.{n}" for n in fk if n.startswith(("denseblock", "transition"))
            ]
        if any(_kind(m) == "InvertedResidual" for m in fk.values()):  # MobileNet V2/V3
            return [f"features.{n}" for n in fk]
        plain = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.MaxPool2d, nn.AvgPool2d)
        if fk and all(isinstance(m, plain) for m in fk.values()):  # VGG-style conv stages
            names, after_conv = [], False
            for n, m in fk.items():
                if isinstance(m, nn.Conv2d):
                    after_conv = True
                elif isinstance(m, (nn.ReLU, nn.ReLU6)) and after_conv:
                    names.append(f"features.{n}")
                    after_conv = False
                elif not isinstance(m, (nn.BatchNorm2d,)):
                    after_conv = False
            if names:
                return names
    return _container_leaves(model, "")


def _container_leaves(module: nn.Module, prefix: str) -> List[str]:
    names: List[str] = []
    for n, m in module.named_children():
        full = f"{prefix}{n}"
        if isinstance(m, (nn.Sequential, nn.ModuleList)) or (prefix == "" and _is_plain_wrapper(m)):
            names += _container_leaves(m, full + ".")
        else:
            names.append(full)
    return names


def _is_plain_wrapper(m: nn.Module) -> bool:
    return type(m) is nn.Module  # an untyped holder of submodules has no forward of its own


def _resolve_layers(model: nn.Module, layers: LayerSpec) -> List[str]:
    modules = dict(model.named_modules())
    if isinstance(layers, str):
        if layers != "blocks":
            raise ValueError(
                f"layers: expected 'blocks', a list of module names or a predicate, got {layers!r}"
            )
        names = block_layers(model)
    elif callable(layers):
        names = [n for n, m in model.named_modules() if n and layers(n, m)]
    else:
        names = [str(n) for n in layers]
        missing = [n for n in names if n not in modules or n == ""]
        if missing:
            valid = [n for n in modules if n]
            shown = ", ".join(valid[:40]) + (f", ... ({len(valid)} in all)" if len(valid) > 40 else "")
            raise ValueError(f"layers: no module named {missing[0]!r} in this model; valid names: {shown}")
        if len(set(names)) != len(names):
            raise ValueError("layers: a layer is listed twice")
    if not names:
        raise ValueError("layers: the selection is empty (no module matched)")
    return names


def iter_batches(data: Any, batch_size: int = 64, limit: Optional[int] = None) -> Iterator[Any]:
    """Batches of model inputs from a tensor/array (split along axis 0) or an iterable of
    batches (a DataLoader: the first element of tuple/list batches is the input).

    ``limit`` stops after that many samples (the last batch is cut)."""
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit: must be a positive number of samples, got {limit!r}")
    seen = 0
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if isinstance(data, torch.Tensor):
        if data.ndim == 0 or data.shape[0] == 0:
            raise ValueError(f"data: empty data set (shape {tuple(data.shape)})")
        n = data.shape[0] if limit is None else min(int(limit), data.shape[0])
        for s in range(0, n, batch_size):
            yield data[s : min(s + batch_size, n)]
        return
    if not isinstance(data, Iterable):
        raise TypeError(
            f"data: expected a tensor, a numpy array or an iterable of batches (DataLoader), "
            f"got {type(data).__name__}"
        )
    for batch in data:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        elif isinstance(batch, dict):
            raise TypeError("data: dict batches are not supported; yield (inputs, labels) or inputs")
        if isinstance(batch, np.ndarray):
            batch = torch.from_numpy(batch)
        if limit is not None and seen + batch.shape[0] > int(limit):
            batch = batch[: int(limit) - seen]
        if batch.shape[0] == 0:
            break
        seen += batch.shape[0]
        yield batch
        if limit is not None and seen >= int(limit):
            break
    if seen == 0:
        raise ValueError("data: empty data set (the iterable yielded no samples)")


class ActivationExtractor:
    """Outputs of selected layers of a torch model, batch by batch, via forward hooks.

    Parameters
    ----------
    model : torch.nn.Module
        Any model; nothing is downloaded (load pretrained weights yourself, e.g. from a
        local file with ``model.load_state_dict(torch.load(path))``).
    layers : "blocks", list of str, or callable
        Which modules' outputs to capture (see the module docstring for "blocks").
    eval_mode : bool, optional
        A model in train mode gives batch-dependent BatchNorm/Dropout outputs.  ``None``
        (default) warns when the model is in train mode and leaves it so; ``True`` switches
        it to eval for the duration of each pass (and restores its mode after); ``False``
        keeps the mode silently.
    device : torch.device or str, optional
        Where inputs are sent (default: the device of the model's first parameter).

    Examples
    --------
    >>> import torch, torchvision, cuph.nn
    >>> model = torchvision.models.resnet18(weights=None).eval()
    >>> ext = cuph.nn.ActivationExtractor(model, layers="blocks")
    >>> len(ext.layer_names), ext.layer_names[:4]
    (11, ['conv1', 'bn1', 'relu', 'layer1.0'])
    >>> acts = ext(torch.rand(2, 3, 32, 32))
    >>> tuple(acts["layer2.1"].shape)
    (2, 128, 4, 4)
    """

    def __init__(
        self,
        model: nn.Module,
        layers: LayerSpec = "blocks",
        eval_mode: Optional[bool] = None,
        device: Any = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.layer_names: List[str] = _resolve_layers(model, layers)
        self.eval_mode = eval_mode
        if device is None:
            p = next(iter(model.parameters()), None)
            device = p.device if p is not None else torch.device("cpu")
        self.device = torch.device(device)

    # -------------------------------------------------------------- one forward pass
    def _run(self, x: Any, on_output: Callable[[str, torch.Tensor], None]) -> None:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"data: a batch must be a tensor or numpy array, got {type(x).__name__}")
        if not (x.is_floating_point() or x.is_complex()):
            raise TypeError(
                f"data: expected floating-point inputs, got dtype {x.dtype} "
                "(convert images with x.float() / 255 and normalise as the model expects)"
            )
        modules = dict(self.model.named_modules())
        wanted = set(self.layer_names)
        seen: set = set()

        def make_hook(name: str) -> Callable[..., None]:
            def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
                if name in seen:  # a module called twice in one forward: keep its first output
                    return
                seen.add(name)
                if isinstance(out, (tuple, list)):
                    out = next((o for o in out if isinstance(o, torch.Tensor)), None)
                if not isinstance(out, torch.Tensor):
                    raise TypeError(f"layers: the output of {name!r} is not a tensor")
                on_output(name, out.detach())
                if seen >= wanted:
                    raise _StopForward

            return hook

        handles = [modules[n].register_forward_hook(make_hook(n)) for n in self.layer_names]
        was_training = self.model.training
        if was_training:
            if self.eval_mode is None:
                warnings.warn(
                    "model is in train mode: BatchNorm/Dropout make activations depend on the "
                    "batch; call model.eval() or pass eval_mode=True to switch for the extraction",
                    UserWarning,
                    stacklevel=3,
                )
            elif self.eval_mode:
                self.model.eval()
        try:
            with torch.no_grad():
                self.model(x.to(self.device))
        except _StopForward:
            pass
        except RuntimeError as err:
            raise ValueError(
                f"data: the model failed on a batch of shape {tuple(x.shape)} and dtype "
                f"{x.dtype}: {err}"
            ) from err
        finally:
            for h in handles:
                h.remove()
            if was_training and self.eval_mode:
                self.model.train()
        missing = [n for n in self.layer_names if n not in seen]
        if missing:
            raise RuntimeError(f"layers: {missing[0]!r} did not run in the forward pass")

    def __call__(self, x: Any) -> Dict[str, torch.Tensor]:
        """Activations of one batch, ``{layer name: tensor}`` in :attr:`layer_names` order."""
        acts: Dict[str, torch.Tensor] = {}
        self._run(x, acts.__setitem__)
        return {n: acts[n] for n in self.layer_names}

    # -------------------------------------------------------------- streaming
    def stream(
        self, data: Any, batch_size: int = 64, limit: Optional[int] = None
    ) -> Iterator[Tuple[int, Dict[str, torch.Tensor]]]:
        """Yield ``(first sample index, {layer: activation})`` per batch of ``data``.

        Only one batch's activations are alive at a time (drop them before the next step).
        """
        start = 0
        for batch in iter_batches(data, batch_size, limit):
            yield start, self(batch)
            start += int(batch.shape[0])

    def map(
        self,
        data: Any,
        fn: Callable[[str, torch.Tensor], Any],
        batch_size: int = 64,
        limit: Optional[int] = None,
        on_batch: Optional[Callable[[int], None]] = None,
    ) -> Dict[str, List[Any]]:
        """Apply ``fn(layer, activation)`` inside the hooks, batch by batch.

        Each activation is dropped as soon as ``fn`` returns, so the peak memory is one
        layer of one batch plus what ``fn`` keeps.  Returns ``{layer: [fn results per
        batch]}``; ``on_batch(n_samples)`` is called after each batch (progress bars).
        """
        results: Dict[str, List[Any]] = {n: [] for n in self.layer_names}
        for batch in iter_batches(data, batch_size, limit):
            self._run(batch, lambda name, out: results[name].append(fn(name, out)))
            if on_batch is not None:
                on_batch(int(batch.shape[0]))
        return results
