"""Ctrl-C during a long call, and concurrent calls from Python threads."""

from __future__ import annotations

import json
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
from forking import check_in_forked_child

_LONG_CALL = textwrap.dedent(
    """
    # Started with SIGINT ignored (a background job), Python would keep ignoring it.
    import signal; signal.signal(signal.SIGINT, signal.default_int_handler)
    import ctypes, json, os, sys, time
    import numpy as np
    import cuph

    def rss():
        libc.malloc_trim(0)  # hand freed heap pages back, so only live memory is counted
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

    libc = ctypes.CDLL("libc.so.6")
    x = np.random.default_rng(0).random((160, 160, 160))   # white noise: seconds on 2 threads
    small = np.random.default_rng(1).random((20, 20, 20))
    expected = cuph.persistence(small)
    # Small calls run on the calling thread; this one starts the pool's threads, as the long
    # calls will (their released job and its helper).
    cuph.persistence(np.random.default_rng(2).random((48, 48, 48)), maxdim=2, n_threads=2)
    threads, before = len(os.listdir("/proc/self/task")), rss()
    caught, after = [], []
    for _ in range(3):  # interrupted three times: what they leave must not add up
        print("ready", flush=True)
        try:
            cuph.persistence(x, maxdim=2, n_threads=2)
        except KeyboardInterrupt:
            caught.append(time.monotonic())
        else:
            sys.exit(3)
        after.append(rss())
    again = cuph.persistence(small)  # the process is not poisoned
    print(json.dumps({
        "caught": caught,
        "threads_before": threads, "threads_after": len(os.listdir("/proc/self/task")),
        "rss_before": before, "rss_after": after,
        "same_result": bool((again.birth == expected.birth).all()
                            and (again.death == expected.death).all()),
    }), flush=True)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and libc")
def test_sigint_interrupts_a_long_call() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _LONG_CALL], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    sent = []
    for _ in range(3):
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # well inside the computation
        sent.append(time.monotonic())  # CLOCK_MONOTONIC: the same clock in both processes
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    report = json.loads(out)
    for s, c in zip(sent, report["caught"]):
        assert c - s < 1.0, f"KeyboardInterrupt {c - s:.2f} s after SIGINT"
    # No thread leaked: the call ran on parked threads of cuph's pool, which the first call
    # started and every later call reuses.
    assert report["threads_after"] == report["threads_before"], report
    # The call's working set must be freed. The arenas of cuph's parked threads keep some
    # freed pages that malloc_trim does not hand back (the top of a thread's heap stays below
    # glibc's dynamic trim threshold): 1-23 MiB measured after one interruption, varying with
    # where the call stopped, and reused by the next call. So what stays after each of three
    # interruptions must be under three quarters of the working set; a leak of what an
    # interrupted call holds would add up past that by the third.
    working_set = cuph.estimate_memory((160, 160, 160), np.float64, maxdim=2, n_threads=2)
    for after in report["rss_after"]:
        assert after - report["rss_before"] < working_set * 0.75, report
    assert report["same_result"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_computes() -> None:
    # The parent's parked threads do not exist in a forked child (Dask's and multiprocessing's
    # fork start method): the child must start its own instead of waiting for them.
    x = np.random.default_rng(2).random((4, 30, 30))
    expected = cuph.persistence(x, batch_dims=1, n_threads=2)  # the pool has parked threads now

    def child() -> int:
        got = cuph.persistence(x, batch_dims=1, n_threads=2)
        return 0 if np.array_equal(got.death, expected.death) else 2

    check_in_forked_child(child, "cuph.persistence")


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
@pytest.mark.parametrize("shape", [(180, 150), (24, 20, 22), (40, 40, 40), (10, 11, 9, 10),
                                   (30000,)])
def test_one_item_split_over_threads_is_identical(shape, construction) -> None:
    # More threads than items: the item's sweeps are split into ranges of generators; the
    # result must be the same arrays in the same order, ties and zero-length pairs included.
    # (180, 150): 2-D items take a thread per 2^13 values at most (batch.hpp), so 3 here.
    # (40, 40, 40): each range holds more critical joins than one chunk of chunked_list.hpp,
    # so the ranges after the first are appended across chunk boundaries.
    rng = np.random.default_rng(len(shape))
    for x in (rng.integers(0, 4, size=shape).astype(np.int16), rng.random(shape)):
        for keep in (False, True):
            a = cuph.persistence(x, construction=construction, n_threads=1, keep_diagonal=keep)
            b = cuph.persistence(x, construction=construction, n_threads=3, keep_diagonal=keep)
            for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.fixture
def shared_reduction_always():
    """Every 3-D/4-D reduction with n_threads > 1 runs on several threads, whatever its size."""
    from cuph import _core

    old = _core._shared_reduction_columns(1)
    try:
        yield
    finally:
        _core._shared_reduction_columns(old)


def _shared_reduction_cases(rng: np.random.Generator):
    for levels in (2, 3, 7, None):  # None: floats without ties
        for _ in range(6):
            shape = tuple(int(s) for s in rng.integers(1, 16, size=3))
            yield shape, levels
        for _ in range(3):
            shape = tuple(int(s) for s in rng.integers(1, 7, size=4))
            yield shape, levels
    yield from [((1, 1, 1), 2), ((1, 9, 1), 3), ((2, 2, 2, 2), 2), ((30, 1, 30), 3),
                ((28, 28, 28), 4), ((28, 28, 28), None), ((9, 9, 9, 9), 3)]


@pytest.mark.parametrize("construction", ["V", "T"])
def test_reduction_on_several_threads_is_identical(shared_reduction_always, construction) -> None:
    # The middle dimensions' reduction without locks (CoboundaryReducer::reduce_shared): the
    # threads race for pivots, and the pairs and their order must still be those of one thread,
    # with ties, degenerate shapes and zero-length pairs, and CubicalRipser's.
    from reference import cripser_is_reliable, cripser_pairs, cuph_pairs

    rng = np.random.default_rng(11)
    for shape, levels in _shared_reduction_cases(rng):
        x = rng.random(shape) if levels is None else rng.integers(0, levels, size=shape)
        x = x.astype(np.float64)
        for keep in (False, True):
            one = cuph.persistence(x, construction=construction, n_threads=1, keep_diagonal=keep)
            for threads in (2, 4):
                many = cuph.persistence(x, construction=construction, n_threads=threads,
                                        keep_diagonal=keep)
                for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
                    np.testing.assert_array_equal(getattr(one, name), getattr(many, name),
                                                  err_msg=f"{shape} {levels} {threads} {name}")
        if cripser_is_reliable(shape, construction) and x.size <= 4096:
            two = cuph.persistence(x, construction=construction, n_threads=2)
            assert cuph_pairs(two) == cripser_pairs(x, construction), (shape, levels)


def test_large_item_ranked_on_several_threads_is_identical() -> None:
    # From 2^20 generators the ranking (radix sort of float64 keys spanning more than 2^32
    # values, runs of equal top bits, the rank scatter) is split over threads too.
    from scipy import ndimage

    rng = np.random.default_rng(8)
    x = ndimage.gaussian_filter(rng.random((104, 104, 104)), 2.0)
    x[::7, ::5, 3] = x[0, 0, 0]  # exact ties among distinct values
    one = cuph.persistence(x, n_threads=1, keep_diagonal=True)
    two = cuph.persistence(x, n_threads=2, keep_diagonal=True)
    assert len(one.dim) > 1000
    for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity")
def test_default_threads_follow_the_affinity_mask() -> None:
    # n_threads=None means the CPUs the process may run on: a job pinned to one core (taskset,
    # cpusets, SLURM) must not start a thread per core of the machine.
    code = textwrap.dedent(
        """
        import os, numpy as np
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        import cuph
        from cuph._threads import usable_cores
        from cuph.engine import _check_options
        assert usable_cores() == 1, usable_cores()
        assert _check_options(3, (8, 8, 8), 0, None, None)[2] == 1
        shape = (64, 64, 64)
        assert cuph.estimate_memory(shape) == cuph.estimate_memory(shape, n_threads=1)
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs os.sched_setaffinity and two CPUs")
def test_pool_threads_keep_the_process_affinity() -> None:
    # A helper woken onto its leader's CPU moves away by narrowing its own affinity for a moment
    # (thread_pool.hpp, leave_cpu); afterwards every thread of the process must again be
    # allowed every CPU the process may use, and results must not change.
    code = textwrap.dedent(
        """
        import gc, os, numpy as np
        import cuph
        allowed = os.sched_getaffinity(0)
        x = np.random.default_rng(3).random((40, 36, 36))
        ref = cuph.persistence(x, n_threads=1)
        junk = [[i] for i in range(300000)]  # a long single-threaded stretch between calls
        for _ in range(6):
            gc.collect()
            d = cuph.persistence(x, n_threads=2)
            assert np.array_equal(d.birth_index, ref.birth_index)
            cuph.persistence(x[:2], batch_dims=1, n_threads=2)
        masks = {int(t): os.sched_getaffinity(int(t)) for t in os.listdir("/proc/self/task")}
        assert len(masks) >= 3, masks  # the caller, the released job, a helper
        assert all(m == allowed for m in masks.values()), (allowed, masks)
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_small_calls_run_on_the_calling_thread() -> None:
    # Calls of at most 2^16 values in all skip the handoff to a parked thread (about 45 us of
    # a 56x56 map's 90 us): on one thread they start no pool thread (a batch on several still
    # takes helpers), and they give what a large call gives on the same items.
    code = textwrap.dedent(
        """
        import os, numpy as np
        import cuph
        rng = np.random.default_rng(0)
        count = lambda: len(os.listdir("/proc/self/task"))
        before = count()
        small = [rng.random((28, 28)), rng.integers(0, 3, (12, 10, 9)), rng.random((16, 64, 64))]
        results = [cuph.persistence(x, batch_dims=b, n_threads=1)
                   for x, b in zip(small, (0, 0, 1))]
        # 2-D work below 2^13 values per thread takes no helper either (batch.hpp)
        cuph.persistence(rng.random((100, 100)), n_threads=2)
        cuph.persistence(rng.random((8, 32, 32)), batch_dims=1, n_threads=2)
        assert count() == before, (before, count())
        batch = np.concatenate([small[2]] * 40)  # 40 x 16 maps: a released call
        big = cuph.persistence(batch, batch_dims=1)
        assert count() > before
        n = len(results[2].dim)
        for name in ("dim", "birth", "death", "birth_index", "death_index"):
            assert np.array_equal(getattr(big, name)[:n], getattr(results[2], name)), name
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
