"""pytest configuration for the benchmark suite in bench/ (not collected by the normal test run:
pyproject's testpaths is ``tests``).  Run with ``pytest bench/ --benchmark-only``."""

import os
import sys
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # before numpy is imported by the benchmark module

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))


def pytest_configure(config):
    config.addinivalue_line("markers", "bench: a pytest-benchmark case of bench/ (not a test)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.bench)
