"""The pool that recycles result columns (result_pool.hpp, cuph.memory.result_cache).

Large columns of a result (64 KiB and more) are pool blocks; dropped results give them back and
the next call reuses them. These tests check that reuse never changes or aliases a result, that
the byte limit holds, and that the pool is safe across threads and fork().
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np
import pytest

import cuph
from cuph import _core
from forking import check_in_forked_child


def _batch(seed: int, n: int = 256) -> np.ndarray:
    # ~940 pairs per 56x56 white-noise item: int64 index columns of ~1.9 MB, pooled
    return np.random.default_rng(seed).random((n, 56, 56), dtype=np.float32)


def _ptr(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def _copy(dg: cuph.Diagrams) -> dict:
    # References are copies, not live results: a block wrongly handed out again would change
    # a live reference together with the new result, and comparing the two would not see it.
    return {k: np.array(getattr(dg, k), copy=True)
            for k in ("dim", "birth", "death", "birth_index", "death_index", "offsets")}


def _same(dg: cuph.Diagrams, ref: dict) -> bool:
    return all(np.array_equal(getattr(dg, k), v) for k, v in ref.items())


@pytest.fixture(autouse=True)
def _default_limit() -> Iterator[None]:
    old = cuph.memory.result_cache()["limit"]
    gc.collect()
    yield
    gc.collect()
    cuph.memory.result_cache(old)


def test_a_dropped_result_s_blocks_are_reused_and_the_next_result_is_exact() -> None:
    x, y = _batch(1), _batch(2)
    cuph.memory.result_cache(0)  # a reference computed on fresh memory only
    ref_y = _copy(cuph.persistence(y, batch_dims=1, construction="T"))
    cuph.memory.result_cache("256MiB")
    a = cuph.persistence(x, batch_dims=1, construction="T")
    assert a.birth_index.nbytes >= 2**20
    held = _ptr(a.birth_index)
    before = cuph.memory.result_cache()
    assert before["live_blocks"] >= 2  # birth_index, death_index at least
    del a
    gc.collect()
    after_drop = cuph.memory.result_cache()
    assert after_drop["cached_blocks"] >= before["live_blocks"]
    b = cuph.persistence(y, batch_dims=1, construction="T")
    stats = cuph.memory.result_cache()
    assert stats["reused"] >= before["reused"] + 2
    assert held in {_ptr(b.birth_index), _ptr(b.death_index), _ptr(b.birth), _ptr(b.death)}
    assert _same(b, ref_y)  # nothing of x's pairs left in y's result


def test_live_results_are_never_handed_out_again() -> None:
    x, y = _batch(3), _batch(4)
    a = cuph.persistence(x, batch_dims=1, construction="T")
    ref_a = _copy(a)
    view = a.death_index[5:-5:3]  # a view keeps its block alive after the Diagrams goes
    ref_view = view.copy()
    viewed_block = _ptr(a.death_index)
    del a
    gc.collect()
    b = cuph.persistence(y, batch_dims=1, construction="T")
    c = cuph.persistence(x, batch_dims=1, construction="T")
    assert np.array_equal(view, ref_view)
    assert _same(c, ref_a)
    live = {_ptr(b.birth_index), _ptr(b.death_index), _ptr(c.birth_index), _ptr(c.death_index)}
    assert len(live) == 4
    assert viewed_block not in live  # still held by the view, so neither b nor c got it


def test_the_limit_bounds_what_is_kept() -> None:
    x = _batch(5)
    cuph.memory.result_cache(0)
    a = cuph.persistence(x, batch_dims=1, construction="T")
    del a
    gc.collect()
    assert cuph.memory.result_cache()["cached_bytes"] == 0
    cuph.memory.result_cache(4 * 2**20)  # two 2 MiB blocks at most
    for seed in range(3):
        cuph.persistence(_batch(10 + seed), batch_dims=1, construction="T")
        gc.collect()
        s = cuph.memory.result_cache()
        assert s["cached_bytes"] <= 4 * 2**20
        assert s["cached_blocks"] <= 2
    cuph.memory.result_cache("1GiB")
    kept = [cuph.persistence(_batch(20 + s), batch_dims=1, construction="T") for s in range(3)]
    refs = [_copy(k) for k in kept]
    del kept
    gc.collect()
    assert cuph.memory.result_cache()["cached_bytes"] > 4 * 2**20
    cuph.memory.result_cache(2**20)  # lowering the limit frees the surplus at once
    assert cuph.memory.result_cache()["cached_bytes"] <= 2**20
    again = [cuph.persistence(_batch(20 + s), batch_dims=1, construction="T") for s in range(3)]
    assert all(_same(g, r) for g, r in zip(again, refs))


def test_small_results_do_not_use_the_pool() -> None:
    before = cuph.memory.result_cache()
    dg = cuph.persistence(np.random.default_rng(0).random((4, 20, 20)), batch_dims=1)
    after = cuph.memory.result_cache()
    assert dg.n_pairs > 0
    assert after["mapped"] == before["mapped"] and after["reused"] == before["reused"]


def test_mid_sized_columns_are_pooled_and_reused() -> None:
    # 64 white-noise maps: ~60 k pairs, float32 values of ~240 kB and index columns of ~480 kB:
    # below 2 MiB, pool blocks of 64 KiB multiples (glibc trimmed them off the heap between
    # calls, and every call faulted them back in).
    x = _batch(70, n=64)
    cuph.memory.result_cache(0)
    ref = _copy(cuph.persistence(x, batch_dims=1, construction="T"))
    cuph.memory.result_cache("256MiB")
    before = cuph.memory.result_cache()
    a = cuph.persistence(x, batch_dims=1, construction="T")
    assert 2**16 <= a.birth.nbytes < 2**20 and a.birth_index.nbytes < 2**21
    grown = cuph.memory.result_cache()
    assert grown["live_blocks"] >= before["live_blocks"] + 4  # values and indices
    held = {_ptr(a.birth), _ptr(a.birth_index)}
    del a
    gc.collect()
    b = cuph.persistence(x, batch_dims=1, construction="T")
    assert cuph.memory.result_cache()["reused"] >= grown["reused"] + 4
    assert held & {_ptr(b.birth), _ptr(b.death), _ptr(b.birth_index), _ptr(b.death_index)}
    assert _same(b, ref)


def test_values_kept_with_the_pairs_or_read_at_assembly_agree() -> None:
    # Batches of up to 2^24 values keep each pair's values from the item's computation
    # (batch.hpp, kKeepValues); larger ones read them from the input when they are assembled.
    # One batch just over the bound equals its two halves, each under it, for both precisions.
    rng = np.random.default_rng(71)
    cases = (rng.integers(0, 40, (1030, 128, 128)).astype(np.int16),  # float32 values
             rng.integers(0, 40, (257, 256, 256)) * 0.37)  # float64; both 16.8-16.9 M values
    for xs in cases:
        n = len(xs)
        whole = cuph.persistence(xs, batch_dims=1, construction="T", superlevel=True)
        halves = cuph.Diagrams.concat([
            cuph.persistence(xs[: n // 2], batch_dims=1, construction="T", superlevel=True),
            cuph.persistence(xs[n // 2:], batch_dims=1, construction="T", superlevel=True)])
        assert whole.n_pairs > 0 and whole.birth.dtype == halves.birth.dtype
        for k in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
            assert np.array_equal(getattr(whole, k), getattr(halves, k)), k


def test_python_threads_share_the_pool_safely() -> None:
    inputs = [_batch(30 + s, n=64 + 48 * (s % 4)) for s in range(8)]
    refs = [_copy(cuph.persistence(x, batch_dims=1, construction="T", n_threads=1)) for x in inputs]

    def job(i: int) -> bool:
        ok = True
        for _ in range(3):
            dg = cuph.persistence(inputs[i], batch_dims=1, construction="T", n_threads=1)
            ok &= _same(dg, refs[i])
            del dg
        return ok

    with ThreadPoolExecutor(max_workers=6) as ex:
        assert all(ex.map(job, range(len(inputs))))
    s = cuph.memory.result_cache()
    assert s["cached_bytes"] <= s["limit"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_uses_its_copy_of_the_pool() -> None:
    x, y = _batch(40), _batch(41)
    ref_y = cuph.persistence(y, batch_dims=1, construction="T")
    a = cuph.persistence(x, batch_dims=1, construction="T")
    del a
    gc.collect()
    assert cuph.memory.result_cache()["cached_blocks"] > 0
    def child() -> int:
        code = 1
        for _ in range(2):
            got = cuph.persistence(y, batch_dims=1, construction="T")
            code = 0 if np.array_equal(got.death_index, ref_y.death_index) else 2
            del got
        return 3 if code == 0 and cuph.memory.result_cache()["reused"] == 0 else code

    check_in_forked_child(child, "cuph.persistence")


def test_concat_joins_into_pool_blocks_and_equals_numpy() -> None:
    parts = [cuph.persistence(_batch(50 + s), batch_dims=1, construction="T") for s in range(2)]
    before = cuph.memory.result_cache()
    joined = cuph.Diagrams.concat(parts)
    after = cuph.memory.result_cache()
    assert after["live_blocks"] >= before["live_blocks"] + 2  # the two index columns at least
    for k in ("dim", "birth", "death", "birth_index", "death_index"):
        want = np.concatenate([getattr(p, k) for p in parts])
        got = getattr(joined, k)
        assert got.dtype == want.dtype and np.array_equal(got, want), k
    small = cuph.Diagrams.concat([cuph.persistence(np.eye(5), construction="T")] * 2)
    assert small.n_pairs == 2 * cuph.persistence(np.eye(5), construction="T").n_pairs


def test_pooled_empty_rejects_a_negative_size() -> None:
    with pytest.raises(ValueError, match="n: must be >= 0"):
        _core.pooled_empty(-1, np.dtype(np.int64))
    assert _core.pooled_empty(0, np.dtype(np.float32)).shape == (0,)


def _batches() -> list:
    rng = np.random.default_rng(60)
    return [  # (input, kwargs): items of changing size, dimension and pair count
        (rng.random((300, 56, 56), dtype=np.float32), dict(batch_dims=1, construction="T")),
        (rng.integers(0, 5, (40, 9, 11, 7)).astype(np.float64), dict(batch_dims=1)),
        (rng.random((700, 24, 24)), dict(batch_dims=1, construction="V")),
        (rng.integers(0, 3, (5, 64, 64)).astype(np.int16), dict(batch_dims=1, maxdim=0)),
        (rng.random((64, 40, 40, 40)), dict(batch_dims=1, n_threads=2)),
        (rng.random((90, 300)), dict(batch_dims=1, keep_diagonal=True)),
        (rng.random((300, 56, 56), dtype=np.float32), dict(batch_dims=1, construction="T")),
    ]


def test_kept_item_lists_never_change_a_result() -> None:
    cases = _batches()
    cuph.memory.result_cache(0)  # nothing kept: every list and column fresh
    refs = [_copy(cuph.persistence(x, **kw)) for x, kw in cases]
    assert cuph.memory.result_cache()["item_lists_bytes"] == 0
    cuph.memory.result_cache("256MiB")
    for rnd in range(2):
        for (x, kw), ref in zip(cases, refs):
            assert _same(cuph.persistence(x, **kw), ref), (rnd, x.shape, kw)
    kept = cuph.memory.result_cache()["item_lists_bytes"]
    assert 0 < kept <= 64 * 2**20
    cuph.memory.result_cache(kept // 2)  # a limit below what is kept drops it
    assert cuph.memory.result_cache()["item_lists_bytes"] == 0
    cuph.persistence(*cases[0][:1], **cases[0][1])
    assert cuph.memory.result_cache()["item_lists_bytes"] <= kept // 2


def test_a_large_item_s_lists_are_not_kept() -> None:
    cuph.memory.result_cache(0)
    cuph.memory.result_cache("256MiB")
    cuph.persistence(np.random.default_rng(61).random((300, 300)))  # ~30 k pairs: kept
    small = cuph.memory.result_cache()["item_lists_bytes"]
    assert small > 0
    cuph.persistence(np.random.default_rng(62).random((64, 64, 64)))  # > 2^16 pairs
    assert cuph.memory.result_cache()["item_lists_bytes"] == 0


def test_a_large_item_s_columns_come_from_the_heap() -> None:
    # A large item's result may reuse the heap its working set just freed (its memory peak);
    # only batches of small items take pool blocks.
    before = cuph.memory.result_cache()
    dg = cuph.persistence(np.random.default_rng(63).random((80, 80, 80)))  # > 2^16 values
    assert dg.birth_index.nbytes >= 2**20
    after = cuph.memory.result_cache()
    assert (after["mapped"], after["reused"], after["live_blocks"]) == \
        (before["mapped"], before["reused"], before["live_blocks"])
    ref = _copy(dg)
    del dg
    gc.collect()
    assert cuph.memory.result_cache()["cached_blocks"] == before["cached_blocks"]
    assert _same(cuph.persistence(np.random.default_rng(63).random((80, 80, 80))), ref)


@pytest.mark.parametrize("bad, err", [(-1, ValueError), ("lots", ValueError), ("-3MB", ValueError),
                                      (True, TypeError), (1.5, TypeError), ([1], TypeError)])
def test_bad_limits_are_clear_errors(bad: object, err: type) -> None:
    with pytest.raises(err, match="limit"):
        cuph.memory.result_cache(bad)


def test_the_environment_sets_the_limit_at_import() -> None:
    code = "import cuph; print(cuph.memory.result_cache()['limit'])"
    env = dict(os.environ, CUPH_RESULT_CACHE="96MiB")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert int(out.stdout.strip()) == 96 * 2**20
    env["CUPH_RESULT_CACHE"] = "plenty"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "CUPH_RESULT_CACHE" in bad.stderr


@pytest.mark.skipif("libasan" not in os.environ.get("LD_PRELOAD", ""),
                    reason="only the AddressSanitizer build poisons pooled blocks")
def test_asan_reports_a_write_into_a_dropped_result() -> None:
    # A block in the pool is poisoned: a stale pointer into a dropped result is reported
    # instead of silently corrupting the next call's result.
    code = (
        "import ctypes, gc, numpy as np, cuph\n"
        "x = np.random.default_rng(0).random((256, 56, 56), dtype=np.float32)\n"
        "d = cuph.persistence(x, batch_dims=1, construction='T')\n"
        "p = d.birth_index.__array_interface__['data'][0]\n"
        "del d; gc.collect()\n"
        "ctypes.memset(p + 64, 0, 8)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "use-after-poison" in out.stderr, out.stderr[-2000:]
