"""The examples in the docstrings of the public modules run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cuph", "cuph.engine", "cuph.diagrams", "cuph.cubical_complex", "cuph.metrics",
           "cuph.memory", "cuph.betti", "cuph.distances", "cuph.vr", "cuph.represent",
           "cuph.compare", "cuph.dask", "cuph.landscape", "cuph.landscape.graph",
           "cuph.landscape.barcode", "cuph.sklearn"]
TORCH_MODULES = ["cuph.torch", "cuph.nn"]


@pytest.mark.parametrize("name", MODULES + TORCH_MODULES)
def test_docstring_examples(name):
    if name in TORCH_MODULES or name == "cuph.metrics":
        pytest.importorskip("torch")
        pytest.importorskip("torchvision")
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
