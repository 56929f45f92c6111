"""Loss-landscape topology: barcodes of minima and the TO-score (Barannikov et al.).

* :func:`graph_persistence` - 0-dimensional sublevel persistence of values on a graph's
  vertices (loss samples at points of parameter space), with :func:`knn_graph` and
  :func:`grid_graph` to build graphs. Grids of losses can also go straight to the cubical
  engine, ``cuph.persistence(losses, maxdim=0)``.
* :func:`minima_barcode` - the minima segments as a table; :func:`to_score` - the TO-score.
* :func:`loss_surface`, :func:`loss_graph` - loss sampling for torch models (filter-normalised
  random directions; kNN graphs over checkpoints). torch is imported only when they are called.

>>> import numpy as np
>>> from cuph import landscape
>>> x = np.linspace(-2, 2, 201)
>>> f = (x**2 - 1) ** 2 + 0.3 * x          # a tilted double well
>>> bc = landscape.minima_barcode(f, coords=[x])
>>> [round(float(v), 2) for v in bc.min_location[:, 0]]
[-1.04, 0.96]
>>> round(float(bc.length[1]), 3)          # escape height of the shallower well
0.717
"""

from __future__ import annotations

from .barcode import MinimaBarcode, minima_barcode, to_score
from .graph import graph_persistence, grid_graph, knn_graph
from .sampling import LossGraph, LossSurface, loss_graph, loss_surface, random_directions

__all__ = [
    "graph_persistence", "grid_graph", "knn_graph",
    "MinimaBarcode", "minima_barcode", "to_score",
    "LossSurface", "LossGraph", "loss_surface", "loss_graph", "random_directions",
]
