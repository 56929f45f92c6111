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
# Optional packages some modules' examples import (all in the test extra; a machine without
# them, such as a GPU machine's image, skips those modules instead of failing them).
EXAMPLE_NEEDS = {"cuph.dask": ["dask"], "cuph.sklearn": ["sklearn", "gph"]}


@pytest.mark.parametrize("name", MODULES + TORCH_MODULES)
def test_docstring_examples(name):
    if name in TORCH_MODULES or name == "cuph.metrics":
        pytest.importorskip("torch")
        pytest.importorskip("torchvision")
    for package in EXAMPLE_NEEDS.get(name, []):
        pytest.importorskip(package)
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
