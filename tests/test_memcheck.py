"""The C++ core under valgrind's memcheck (``tests/cpp/memcheck_driver.cpp``).

The core leaves its large working arrays and result columns uninitialised (``UninitVector``,
the result pool) and writes every element it later reads. AddressSanitizer cannot check that
(the memory is allocated); memcheck tracks which bytes were written and reports a branch or an
address computed from bytes that were not. The driver runs random items with many ties in 1-4
dimensions, both constructions, superlevel, ``keep_diagonal``, float64/float32/int32, on one
and three threads (single items split over threads, and batches), graphs, and point clouds'
H0 (every metric, both distance paths), and checks that the thread counts agree. Skipped
where valgrind or a C++ compiler is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CXX = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
VALGRIND = shutil.which("valgrind")

pytestmark = pytest.mark.skipif(
    VALGRIND is None or CXX is None, reason="needs valgrind and a C++ compiler"
)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("memcheck") / "memcheck_driver"
    # -O1: memcheck's reports stay exact (no speculative loads of uninitialised bytes that
    # higher optimisation can introduce legitimately); asserts on (no NDEBUG).
    subprocess.run(
        [CXX, "-O1", "-g", "-std=c++17", f"-I{ROOT / 'cpp' / 'include'}",
         str(ROOT / "tests" / "cpp" / "memcheck_driver.cpp"), "-o", str(exe), "-lpthread"],
        check=True, capture_output=True, text=True, timeout=600,
    )
    return exe


@pytest.mark.parametrize(
    "seed, iterations, shared_columns, scale",
    [
        (1, 160, 1, 1),    # many small items; every reduction on the lock-free path
        (2, 12, 512, 3),   # fewer, larger items; the default threshold for shared reductions
    ],
)
def test_core_reads_only_written_memory(driver: Path, seed: int, iterations: int,
                                        shared_columns: int, scale: int) -> None:
    out = subprocess.run(
        [VALGRIND, "--error-exitcode=9", "--quiet", str(driver), str(seed), str(iterations),
         str(shared_columns), str(scale)],
        capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-4000:] + out.stdout[-1000:]
    assert out.stdout.strip().endswith("mismatches 0"), out.stdout
    assert out.stderr == "", out.stderr[-4000:]
