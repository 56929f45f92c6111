"""cuph: exact persistent homology of cubical complexes, batched, on CPU threads.

>>> import numpy as np, cuph
>>> dg = cuph.persistence(np.random.default_rng(0).random((8, 32, 32)), batch_dims=1)
>>> dg.betti_numbers().shape
(8, 2)
"""

from __future__ import annotations

from .cubical_complex import CubicalComplex
from .diagrams import Diagrams
from .memory import estimate_memory  # noqa: F401  (public API)
from .engine import cuda_available, output_dtype, persistence

__version__ = "0.1.0"

__all__ = ["persistence", "Diagrams", "CubicalComplex", "cuda_available", "output_dtype", "__version__"]
