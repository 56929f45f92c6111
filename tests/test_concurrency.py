"""Ctrl-C during a long call, and concurrent calls from Python threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cuph

_LONG_CALL = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import cuph
    x = np.random.default_rng(0).random((112, 112, 112))   # white noise: several seconds
    print("ready", flush=True)
    t0 = time.perf_counter()
    try:
        cuph.persistence(x, maxdim=2, n_threads=1)
    except KeyboardInterrupt:
        print(f"interrupted {time.perf_counter() - t0:.3f}", flush=True)
        sys.exit(0)
    print(f"finished {time.perf_counter() - t0:.3f}", flush=True)
    sys.exit(3)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_sigint_interrupts_a_long_call() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _LONG_CALL], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # well inside the computation
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert proc.returncode == 0, (out, err)
    assert out.startswith("interrupted"), out
    assert waited < 2.0, f"took {waited:.2f} s to stop after SIGINT"


def test_python_threads_get_the_serial_results() -> None:
    rng = np.random.default_rng(5)
    inputs = [rng.integers(0, 6, size=(24, 24, 24)).astype(np.float32) for _ in range(8)]
    serial = [cuph.persistence(x, n_threads=1) for x in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda x: cuph.persistence(x, n_threads=2), inputs))
    for a, b in zip(serial, parallel):
        for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
            ka = np.lexsort((a.death_index, a.birth_index, a.death, a.birth, a.dim))
            kb = np.lexsort((b.death_index, b.birth_index, b.death, b.birth, b.dim))
            if name == "offsets":
                np.testing.assert_array_equal(a.offsets, b.offsets)
            else:
                np.testing.assert_array_equal(getattr(a, name)[ka], getattr(b, name)[kb])


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(120, 90), (24, 20, 22), (10, 11, 9, 10), (30000,)])
def test_one_item_split_over_threads_is_identical(shape, construction) -> None:
    # More threads than items: the item's sweeps are split into ranges of generators; the
    # result must be the same arrays in the same order, ties and zero-length pairs included.
    rng = np.random.default_rng(len(shape))
    for x in (rng.integers(0, 4, size=shape).astype(np.int16), rng.random(shape)):
        for keep in (False, True):
            a = cuph.persistence(x, construction=construction, n_threads=1, keep_diagonal=keep)
            b = cuph.persistence(x, construction=construction, n_threads=3, keep_diagonal=keep)
            for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
