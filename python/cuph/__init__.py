"""cuph: exact persistent homology of cubical complexes, batched, on CPU threads.

>>> import numpy as np, cuph
>>> dg = cuph.persistence(np.random.default_rng(0).random((8, 32, 32)), batch_dims=1)
>>> dg.betti_numbers().shape
(8, 2)
"""

from __future__ import annotations

from .betti import betti_numbers_at
from .cubical_complex import CubicalComplex
from .diagrams import DeviceDiagrams, Diagrams
from .memory import estimate_memory
from . import memory
from .engine import cuda_available, output_dtype, persistence
from . import landscape  # noqa: E402  (submodule; torch is imported only by its samplers)

memory._result_cache_from_environment()

__version__ = "0.1.0"

# Submodules with heavy optional dependencies (torch, torchvision, scikit-learn) load on
# first use, so that ``import cuph`` stays fast and needs numpy only.
_LAZY_SUBMODULES = ("torch", "nn", "metrics", "dask", "vr", "distances", "represent", "compare",
                    "sklearn")


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cuph' has no attribute {name!r}")


__all__ = ["persistence", "betti_numbers_at", "estimate_memory", "Diagrams", "DeviceDiagrams", "CubicalComplex", "cuda_available", "output_dtype", "landscape", "__version__"]
