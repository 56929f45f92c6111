"""cuph.betti_numbers_at: the dedicated kernel against the classes of cuph.persistence alive at
eta (``_betti_from_diagrams``, also the 4-D fallback), on inputs full of ties, every dtype,
odd shapes and strides, infinities and thresholds at, below and above the values; known
complexes; bad input."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cuph
from cuph import _core
from cuph.betti import _betti_from_diagrams

CONSTRUCTIONS = ("V", "T")


def reference(x: np.ndarray, eta, batch_dims: int, construction: str) -> np.ndarray:
    """Betti numbers from the persistence diagrams, shape batch_shape + (d,)."""
    x = np.asarray(x)
    batch_shape = x.shape[:batch_dims]
    e = np.ascontiguousarray(np.broadcast_to(np.asarray(eta, dtype=np.float64), batch_shape).reshape(-1))
    d = x.ndim - batch_dims
    out = _betti_from_diagrams(x, e, construction, batch_dims, d - 1, 2)
    return out.reshape(batch_shape + (d,))


def check(x, eta, batch_dims: int = 0, construction: str = "V") -> np.ndarray:
    got = cuph.betti_numbers_at(x, eta, batch_dims=batch_dims, construction=construction)
    want = reference(x, eta, batch_dims, construction)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want, err_msg=f"{construction} eta={eta!r} x={np.asarray(x)!r}")
    return got


def ties(rng: np.random.Generator, shape, dtype=np.float64) -> np.ndarray:
    return rng.integers(0, 4, size=shape).astype(dtype)


ITEM_SHAPES = [(1,), (2,), (9,), (1, 1), (1, 7), (7, 1), (5, 6), (8, 8), (1, 1, 1), (6, 1, 1),
               (1, 5, 1), (1, 1, 6), (1, 4, 5), (3, 1, 4), (4, 5, 1), (3, 4, 5), (6, 6, 6)]


# ----------------------------------------------------------------------------- differential
@pytest.mark.parametrize("construction", CONSTRUCTIONS)
@pytest.mark.parametrize("item_shape", ITEM_SHAPES, ids=str)
def test_ties_every_threshold(rng, construction, item_shape):
    # Every integer eta from below the minimum to above the maximum: at, between and beyond.
    x = ties(rng, (12,) + item_shape)
    for eta in (-1, 0, 0.5, 1, 2, 3, 4):
        check(x, eta, batch_dims=1, construction=construction)


@pytest.mark.parametrize("construction", CONSTRUCTIONS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_per_item_thresholds(rng, construction, d):
    x = ties(rng, (4, 5) + (5,) * d)
    eta = rng.integers(-1, 5, size=(4, 5)).astype(np.float64)
    check(x, eta, batch_dims=2, construction=construction)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                                   np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_])
@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_dtypes(rng, dtype, construction):
    x = rng.integers(0, 2 if dtype == np.bool_ else 4, size=(6, 4, 5, 3)).astype(dtype)
    got = check(x, 1, batch_dims=1, construction=construction)
    # The same numbers as from float64 values: only the order matters.
    np.testing.assert_array_equal(
        got, cuph.betti_numbers_at(x.astype(np.float64), 1.0, batch_dims=1, construction=construction))


def test_fractional_values_and_thresholds(rng):
    x = rng.normal(size=(20, 6, 7)).astype(np.float32)
    eta = rng.normal(size=20)
    for c in CONSTRUCTIONS:
        check(x, eta, batch_dims=1, construction=c)
        # eta exactly at an item's value (float32 -> float64 is exact): ties with the threshold.
        check(x, x[:, 2, 3].astype(np.float64), batch_dims=1, construction=c)


@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_views(rng, construction):
    base = ties(rng, (5, 9, 8, 7))
    views = {
        "step": base[:, ::2, 1::3, ::2],
        "reversed": base[::-1, ::-1, :, ::-1],
        "transposed": base.transpose(0, 3, 1, 2),
        "fortran": np.asfortranarray(base),
        "broadcast": np.broadcast_to(base[:, :1], base.shape),  # zero strides
        "batch_inner": np.moveaxis(base, 0, -1),  # batch axis with the smallest stride
    }
    for name, v in views.items():
        got = check(v, 1.5, batch_dims=1, construction=construction)
        np.testing.assert_array_equal(
            got, cuph.betti_numbers_at(np.ascontiguousarray(v), 1.5, batch_dims=1,
                                       construction=construction), err_msg=name)


def test_non_native_byte_order(rng):
    x = ties(rng, (3, 6, 6))
    swapped = x.astype(x.dtype.newbyteorder(">" if np.little_endian else "<"))
    np.testing.assert_array_equal(cuph.betti_numbers_at(swapped, 1, batch_dims=1),
                                  cuph.betti_numbers_at(x, 1, batch_dims=1))


@pytest.mark.parametrize("construction", CONSTRUCTIONS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_infinities(rng, construction, d):
    x = rng.choice(np.array([-np.inf, 0.0, 1.0, 2.0, np.inf]), size=(10,) + (4,) * d)
    for eta in (-np.inf, -1.0, 0.0, 1.0, 2.0, 3.0, np.inf):
        check(x, eta, batch_dims=1, construction=construction)


@pytest.mark.parametrize("construction", CONSTRUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (3, 4, 5), (2, 3, 2, 3)], ids=str)
def test_below_and_above_all_values(rng, construction, shape):
    x = rng.normal(size=shape)
    d = len(shape)
    below = cuph.betti_numbers_at(x, x.min() - 1, construction=construction)
    above = cuph.betti_numbers_at(x, x.max(), construction=construction)
    np.testing.assert_array_equal(below, np.zeros(d, dtype=np.int64))
    np.testing.assert_array_equal(above, [1] + [0] * (d - 1))
    # +inf cells are in the complex only at eta = +inf, where it is the whole (contractible) box.
    x[(0,) * d] = np.inf
    np.testing.assert_array_equal(cuph.betti_numbers_at(x, np.inf, construction=construction),
                                  [1] + [0] * (d - 1))
    check(x, x[np.isfinite(x)].max(), construction=construction)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_thread_counts_agree(rng, n_threads):
    x = ties(rng, (37, 5, 6, 4))
    got = cuph.betti_numbers_at(x, 1, batch_dims=1, n_threads=n_threads)
    np.testing.assert_array_equal(got, reference(x, 1, 1, "V"))


def test_maxdim_truncates(rng):
    x = ties(rng, (5, 4, 4, 4))
    full = cuph.betti_numbers_at(x, 1, batch_dims=1)
    for k in range(3):
        np.testing.assert_array_equal(cuph.betti_numbers_at(x, 1, batch_dims=1, maxdim=k),
                                      full[:, : k + 1])


def test_empty_batch():
    out = cuph.betti_numbers_at(np.zeros((0, 3, 3)), 0.0, batch_dims=1)
    assert out.shape == (0, 2) and out.dtype == np.int64


def test_python_threads_get_the_serial_results(rng):
    inputs = [ties(rng, (20, 8, 9, 7)) for _ in range(6)]
    serial = [cuph.betti_numbers_at(x, 1.5, batch_dims=1, n_threads=1) for x in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda x: cuph.betti_numbers_at(x, 1.5, batch_dims=1, n_threads=2),
                                 inputs))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


_LONG_CALL = textwrap.dedent(
    """
    # Started with SIGINT ignored (a background job), Python would keep ignoring it.
    import signal; signal.signal(signal.SIGINT, signal.default_int_handler)
    import sys, time
    import numpy as np
    import cuph
    item = np.random.default_rng(0).random((16, 16, 16))
    x = np.broadcast_to(item, (200_000,) + item.shape)   # 8e8 voxels, no memory: ~10 s
    print("ready", flush=True)
    t0 = time.perf_counter()
    try:
        cuph.betti_numbers_at(x, 0.5, batch_dims=1, n_threads=1)
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


# ----------------------------------------------------------------------------- known complexes
def test_ring_2d():
    ring = np.ones((5, 5))
    ring[1:4, 1:4] = 0
    ring[2, 2] = 1
    assert cuph.betti_numbers_at(ring, 0, construction="T").tolist() == [1, 1]
    assert cuph.betti_numbers_at(ring, 0, construction="V").tolist() == [1, 1]
    assert cuph.betti_numbers_at(ring, 1, construction="V").tolist() == [1, 0]


def test_sphere_and_loop_3d():
    # A hollow cube: one void (V: the centre vertex is out, so its open star is missing).
    cube = np.zeros((3, 3, 3))
    cube[1, 1, 1] = 1
    assert cuph.betti_numbers_at(cube, 0, construction="V").tolist() == [1, 0, 1]
    assert cuph.betti_numbers_at(cube, 0, construction="T").tolist() == [1, 0, 1]
    # A square loop in one plane of a 3-D item, and two separate loops.
    loop = np.ones((3, 5, 5))
    loop[1, 1:4, 1:4] = 0
    loop[1, 2, 2] = 1
    assert cuph.betti_numbers_at(loop, 0).tolist() == [1, 1, 0]
    two = np.concatenate([loop, np.ones((3, 5, 5)), loop], axis=2)
    assert cuph.betti_numbers_at(two, 0).tolist() == [2, 2, 0]


def test_diagonal_contact_depends_on_construction():
    # Two cells touching at a corner: one component for T (closed squares meet), two for V.
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert cuph.betti_numbers_at(x, 0, construction="V").tolist() == [2, 0]
    assert cuph.betti_numbers_at(x, 0, construction="T").tolist() == [1, 0]
    # The complement: four T cells around an excluded centre ring of 8 touch diagonally only.
    y = np.zeros((3, 3))
    y[1, 1] = 1
    assert cuph.betti_numbers_at(y, 0, construction="T").tolist() == [1, 1]


def test_4d_falls_back_to_diagrams(rng):
    shell = np.zeros((3, 3, 3, 3))
    shell[1, 1, 1, 1] = 1
    assert cuph.betti_numbers_at(shell, 0).tolist() == [1, 0, 0, 1]
    x = ties(rng, (3, 3, 2, 3, 2))
    check(x, 1, batch_dims=1, construction="T")


def test_kernel_rejects_4d_items():
    with pytest.raises(ValueError, match="batch_dims"):
        _core.betti_at(np.zeros((2, 2, 2, 2)), np.zeros(1), "V", 0, 1)


# ----------------------------------------------------------------------------- hypothesis
try:
    from hypothesis import given, strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:

    @given(
        x=hnp.arrays(
            dtype=st.sampled_from([np.float64, np.float32, np.int16]),
            shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=5),
            elements=st.integers(0, 3),
        ),
        eta=st.sampled_from([-0.5, 0.0, 1.0, 1.5, 2.0, 3.0]),
        construction=st.sampled_from(CONSTRUCTIONS),
    )
    def test_hypothesis_matches_diagrams(x, eta, construction):
        # The first axis is a batch axis, so items are 1- to 3-D.
        check(x, eta, batch_dims=1, construction=construction)


# ----------------------------------------------------------------------------- bad input
BAD = {
    "nan_x": (lambda: np.where(np.arange(12).reshape(3, 4) == 6, np.nan, 0.0), 0.0, {},
              ValueError, [r"\bx\b", r"nan", r"1,\s*2"]),
    "nan_x_batched": (lambda: np.where(np.arange(24).reshape(2, 3, 4) == 17, np.nan, 0.0), 0.0,
                      {"batch_dims": 1}, ValueError, [r"\bx\b", r"nan", r"1,\s*1,\s*1"]),
    "nan_x_float16": (lambda: np.where(np.eye(3) > 0, np.nan, 0).astype(np.float16), 0.0, {},
                      ValueError, [r"\bx\b", r"nan", r"0,\s*0"]),
    "nan_x_unit_axes": (lambda: np.where(np.arange(8).reshape(2, 1, 4, 1) == 6, np.nan, 0.0), 0.0,
                        {"batch_dims": 1}, ValueError, [r"\bx\b", r"nan", r"1,\s*0,\s*2,\s*0"]),
    "nan_threshold": (lambda: np.zeros((3, 4, 4)), [0.0, np.nan, 1.0], {"batch_dims": 1},
                      ValueError, [r"threshold", r"nan", r"\b1\b"]),
    "nan_threshold_scalar": (lambda: np.zeros((4, 4)), float("nan"), {}, ValueError,
                             [r"threshold", r"nan"]),
    "threshold_shape": (lambda: np.zeros((3, 4, 4)), [0.0, 1.0], {"batch_dims": 1}, ValueError,
                        [r"threshold", r"shape"]),
    "threshold_string": (lambda: np.zeros((4, 4)), "mean", {}, TypeError, [r"threshold"]),
    "threshold_none": (lambda: np.zeros((4, 4)), None, {}, TypeError, [r"threshold"]),
    "threshold_complex": (lambda: np.zeros((4, 4)), 1j, {}, TypeError, [r"threshold"]),
    "construction": (lambda: np.zeros((4, 4)), 0.0, {"construction": "X"}, ValueError,
                     [r"construction"]),
    "batch_dims_range": (lambda: np.zeros((4, 4)), 0.0, {"batch_dims": 2}, ValueError,
                         [r"batch_dims"]),
    "batch_dims_float": (lambda: np.zeros((4, 4)), 0.0, {"batch_dims": 1.0}, TypeError,
                         [r"batch_dims"]),
    "maxdim_range": (lambda: np.zeros((4, 4)), 0.0, {"maxdim": 2}, ValueError, [r"maxdim"]),
    "maxdim_negative": (lambda: np.zeros((4, 4)), 0.0, {"maxdim": -1}, ValueError, [r"maxdim"]),
    "n_threads_zero": (lambda: np.zeros((4, 4)), 0.0, {"n_threads": 0}, ValueError, [r"n_threads"]),
    "n_threads_bool": (lambda: np.zeros((4, 4)), 0.0, {"n_threads": True}, TypeError,
                       [r"n_threads"]),
    "empty_axis": (lambda: np.zeros((3, 0)), 0.0, {}, ValueError, [r"\bx\b", r"empty"]),
    "zero_d": (lambda: np.array(1.0), 0.0, {}, ValueError, [r"\bx\b", r"0-d|scalar"]),
    "ndim5": (lambda: np.zeros((2,) * 5), 0.0, {}, ValueError, [r"\bx\b", r"batch_dims|4"]),
    "complex_x": (lambda: np.zeros((3, 3), complex), 0.0, {}, TypeError, [r"\bx\b", r"complex"]),
    "string_x": (lambda: "abc", 0.0, {}, TypeError, [r"\bx\b"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input(case):
    make_x, eta, kwargs, exc, patterns = BAD[case]
    with pytest.raises(exc) as info:
        cuph.betti_numbers_at(make_x(), eta, **kwargs)
    for pattern in patterns:
        assert re.search(pattern, str(info.value), re.IGNORECASE), (pattern, str(info.value))


def test_core_checks_threshold_count():
    with pytest.raises(ValueError, match="thresholds"):
        _core.betti_at(np.zeros((3, 4, 4)), np.zeros(2), "V", 1, 1)
    with pytest.raises(ValueError, match="thresholds"):
        _core.betti_at(np.zeros((3, 4, 4)), np.array([0.0, np.nan, 0.0]), "V", 1, 1)
