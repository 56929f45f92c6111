"""The GPU engine's 2-D kernels (cuda/cubical_2d.cuh).

Without a GPU (CI) the kernels run through the CPU launcher compiled into ``cuph._core``
(``engine="portable"``): the same bodies, element by element on CPU threads, checked here against
the CPU engine and gudhi on the cases of the CPU differential tests (ties, degenerate shapes,
every dtype, strided views). Tests marked ``gpu`` run the CUDA launcher and skip without a
usable device.
"""

from __future__ import annotations

import numpy as np
import pytest

import cuph
from cuph import _core
from cuph.engine import _persistence

from reference import counter_from_arrays, gudhi_pairs

SHAPES = [(1, 1), (1, 2), (2, 1), (1, 7), (7, 1), (2, 2), (3, 5), (5, 3), (6, 6), (9, 4), (13, 17)]
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
          np.uint16, np.uint32, np.uint64, np.bool_]


def kernel(x, engine="portable", **kw):
    kw.setdefault("batch_dims", 0)
    return _persistence(x, kw.pop("maxdim", None), kw.pop("construction", "V"),
                        kw.pop("batch_dims"), kw.pop("n_threads", 1), kw.pop("superlevel", False),
                        False, None, engine)


def rows(dg):
    """Every pair as (item, dim, birth, death), sorted: the multiset the engines must agree on."""
    return sorted(zip(dg.item.tolist(), dg.dim.tolist(), dg.birth.tolist(), dg.death.tolist()))


def check_indices(dg, x, batch_dims):
    """birth_index/death_index locate the values that created/killed each class."""
    flat = np.asarray(x).reshape((-1,) + np.asarray(x).shape[batch_dims:]).reshape(
        int(np.prod(np.asarray(x).shape[:batch_dims], dtype=np.int64)), -1)
    sign = -1.0 if dg.superlevel else 1.0
    for it, b, d, bi, di in zip(dg.item, dg.birth, dg.death, dg.birth_index, dg.death_index):
        assert flat[it, bi].astype(np.float64) == b
        if di < 0:
            assert d == sign * np.inf
        else:
            assert flat[it, di].astype(np.float64) == d


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_cpu_engine_on_ties(construction, shape):
    rng = np.random.default_rng(hash(shape) % 1000)
    for levels in (2, 3, 50):
        x = rng.integers(0, levels, (5,) + shape).astype(np.float32)
        for superlevel in (False, True):
            for maxdim in (0, 1):
                got = kernel(x, construction=construction, batch_dims=1, superlevel=superlevel,
                             maxdim=maxdim)
                want = cuph.persistence(x, construction=construction, batch_dims=1,
                                        superlevel=superlevel, maxdim=maxdim, device="cpu")
                assert rows(got) == rows(want)
                assert got.offsets.tolist() == want.offsets.tolist()
                check_indices(got, x, 1)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_same_cells_as_cpu_union_find(construction):
    """Cell for cell: the kernels run the CPU engine's local programs and replay order, so their
    birth_index/death_index equal those of its union-find passes (which 2-D items take when
    zero-length pairs are kept; dropped here)."""
    rng = np.random.default_rng(23)
    for shape in SHAPES:
        x = rng.integers(0, 3, (4,) + shape).astype(np.float32)
        for superlevel in (False, True):
            got = kernel(x, construction=construction, batch_dims=1, superlevel=superlevel)
            cpu = cuph.persistence(x, construction=construction, batch_dims=1,
                                   superlevel=superlevel, keep_diagonal=True)
            keep = cpu.birth != cpu.death
            assert sorted(zip(got.item.tolist(), got.dim.tolist(), got.birth_index.tolist(),
                              got.death_index.tolist())) == \
                sorted(zip(cpu.item[keep].tolist(), cpu.dim[keep].tolist(),
                           cpu.birth_index[keep].tolist(), cpu.death_index[keep].tolist()))


@pytest.mark.parametrize("construction", ["V", "T"])
def test_matches_gudhi(construction):
    rng = np.random.default_rng(7)
    for shape in [(1, 1), (1, 6), (6, 1), (8, 8), (11, 5)]:
        x = rng.integers(0, 4, shape).astype(np.float64)
        got = kernel(x, construction=construction)
        assert counter_from_arrays(got.dim, got.birth, got.death) == gudhi_pairs(x, construction)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(dtype):
    rng = np.random.default_rng(3)
    if dtype == np.bool_:
        x = rng.integers(0, 2, (4, 7, 6)).astype(dtype)
    elif np.issubdtype(dtype, np.floating):
        x = rng.standard_normal((4, 7, 6)).astype(dtype)  # float64: ranked (range > 2^32 keys)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(max(info.min, -100), min(info.max, 100), (4, 7, 6)).astype(dtype)
    for construction in "VT":
        got = kernel(x, construction=construction, batch_dims=1)
        want = cuph.persistence(x, construction=construction, batch_dims=1, device="cpu")
        assert rows(got) == rows(want)
        assert got.birth.dtype == want.birth.dtype


def test_wide_values_are_ranked():
    """Values spanning more than 2^32 keys take ranks as words; extremes and infinities too."""
    rng = np.random.default_rng(5)
    x = rng.choice([-np.inf, -1e300, -1.0, 0.0, 1e-300, 2.5, 1e300, np.inf], (3, 9, 9))
    for construction in "VT":
        got = kernel(x, construction=construction, batch_dims=1)
        want = cuph.persistence(x, construction=construction, batch_dims=1, device="cpu")
        assert rows(got) == rows(want)
    big = rng.integers(-2**62, 2**62, (3, 8, 8), dtype=np.int64)
    assert rows(kernel(big, batch_dims=1)) == rows(cuph.persistence(big, batch_dims=1))


def test_strided_views():
    rng = np.random.default_rng(11)
    base = rng.integers(0, 5, (6, 20, 18)).astype(np.float32)
    for view in (base[:, ::-1, :], base[::2, :, ::-3], base.transpose(0, 2, 1),
                 np.asfortranarray(base), base[:, 3:4, :], base[1:2, ::-1, 5:6]):
        for construction in "VT":
            got = kernel(view, construction=construction, batch_dims=1)
            want = cuph.persistence(view, construction=construction, batch_dims=1)
            assert rows(got) == rows(want)
            check_indices(got, view, 1)


def test_threads_and_batch_shapes_agree():
    """Bodies of one launch running concurrently (atomics on shared counters) change nothing,
    nor does the batch's shape."""
    rng = np.random.default_rng(13)
    x = rng.integers(0, 6, (3, 4, 30, 30)).astype(np.float32)
    one = kernel(x, batch_dims=2, n_threads=1)
    two = kernel(x, batch_dims=2, n_threads=2)
    assert rows(one) == rows(two)
    assert one.batch_shape == (3, 4)
    flat = kernel(x.reshape(12, 30, 30), batch_dims=1)
    assert rows(flat) == rows(one)
    single = kernel(x[2, 1])
    assert rows(single) == [(0, d, b, e) for _, d, b, e in rows(one[2 * 4 + 1])]


def test_large_noise_and_smooth_items():
    """Items of a few hundred critical joins per pass: the replay's sort and forest."""
    rng = np.random.default_rng(17)
    noise = rng.random((2, 96, 80)).astype(np.float32)
    yy, xx = np.mgrid[0:96, 0:80]
    smooth = (np.sin(yy / 7.0) * np.cos(xx / 5.0))[None].astype(np.float32)
    for x in (noise, smooth):
        for construction in "VT":
            got = kernel(x, construction=construction, batch_dims=1)
            want = cuph.persistence(x, construction=construction, batch_dims=1)
            assert rows(got) == rows(want)


@pytest.fixture
def replay_switch():
    """Restores the CPU launcher's replay switch (`_core._portable_replay`) after a test."""
    before = _core._portable_replay()
    yield _core._portable_replay
    _core._portable_replay(before["blocks"], before["threads"], before["max_shared"])


def full_rows(dg):
    return sorted(zip(dg.item.tolist(), dg.dim.tolist(), dg.birth.tolist(), dg.death.tolist(),
                      dg.birth_index.tolist(), dg.death_index.tolist()))


@pytest.mark.parametrize("construction", ["V", "T"])
def test_block_replay_equals_thread_replay(construction, replay_switch):
    """The replay with a block per item and pass (criticals sorted by a bitonic network in the
    block's memory, the forest replayed there) gives every pair, index included, of the replay
    on one thread, for any number of threads per block (1, a count that divides nothing, a warp,
    more threads than criticals); without the memory it needs, the batch takes the thread
    replay. The CPU launcher runs a block's threads in opposite orders on odd and even blocks
    over patterned memory, so a phase that reads another thread's writes or unwritten memory
    would show here."""
    rng = np.random.default_rng(41)
    cases = [rng.integers(0, levels, (6,) + shape).astype(np.float32)
             for shape in [(1, 1), (1, 9), (9, 1), (2, 2), (5, 3), (13, 17), (56, 56)]
             for levels in (2, 3, 1000)]
    # one item with many more criticals than the others: the block memory is the largest's
    mixed = np.zeros((5, 40, 40), np.float32)
    mixed[2] = rng.random((40, 40))
    cases.append(mixed)

    def run(x, **kw):
        return [kernel(x, construction=construction, batch_dims=1, superlevel=sl, maxdim=md)
                for sl in (False, True) for md in (0, 1)]

    replay_switch(blocks=False)
    runs = _core._portable_replay()["block_runs"]
    want = [run(x) for x in cases]
    assert _core._portable_replay()["block_runs"] == runs
    for threads in (1, 3, 32, 128, 1024):
        replay_switch(blocks=True, threads=threads)
        for x, w in zip(cases, want):
            runs = _core._portable_replay()["block_runs"]
            got = run(x)
            assert _core._portable_replay()["block_runs"] == runs + len(got)
            for g, ww in zip(got, w):
                assert full_rows(g) == full_rows(ww)
                np.testing.assert_array_equal(g.offsets, ww.offsets)
    for g in want[-1]:  # and the CPU engine's pairs
        assert rows(g) == rows(cuph.persistence(mixed, construction=construction, batch_dims=1,
                                                superlevel=g.superlevel, maxdim=g.maxdim,
                                                device="cpu"))
    replay_switch(blocks=True, threads=64, max_shared=4096)  # too little for a 56x56 item
    x = cases[-4]
    runs = _core._portable_replay()["block_runs"]
    got = kernel(x, construction=construction, batch_dims=1)
    assert _core._portable_replay()["block_runs"] == runs
    assert full_rows(got) == full_rows(want[-4][1])
    small = cases[9]  # 5x3 items fit in 4 KiB
    kernel(small, construction=construction, batch_dims=1)
    assert _core._portable_replay()["block_runs"] == runs + 1


def raw_rows(raw):
    """Every row of a raw result (the modules' dict of columns) with its item, sorted."""
    item = np.repeat(np.arange(len(raw["offsets"]) - 1), np.diff(raw["offsets"]))
    return sorted(zip(item.tolist(), *(raw[f].tolist() for f in
                                       ("dim", "birth", "death", "birth_index", "death_index"))))


def _copied_cases(rng):
    """C-contiguous host batches as the CUDA module receives them (engine.py hands it
    np.ascontiguousarray of the view): 1-D items given a row axis of stride 0, axes of length
    1 (numpy lets them have any stride), several batch axes, a single item, wide dtypes."""
    for shape in [(40,), (1,), (1, 1), (1, 9), (7, 1), (5, 6)]:
        x = rng.integers(0, 4, (7,) + shape).astype(np.float32)
        if len(shape) == 1:  # engine.py's row axis; numpy leaves its stride 0 in the copy
            x = np.ascontiguousarray(x[..., None, :])
        yield x, 1
    yield rng.integers(0, 4, (2, 3, 4, 5)).astype(np.int64), 2
    yield rng.integers(0, 4, (1, 1, 6, 5)).astype(np.uint8), 2
    yield rng.integers(0, 4, (6, 5)).astype(np.float16), 0
    yield rng.integers(0, 3, (5, 4, 3, 6)).astype(np.float32), 1  # 3-D items
    yield rng.integers(0, 3, (3, 1, 3, 2, 4)).astype(np.float64), 1  # 4-D items


@pytest.mark.parametrize("construction", ["V", "T"])
def test_kernels_read_copied_chunks_of_a_host_batch(construction):
    """The CUDA module uploads a host batch chunk by chunk, each item's bytes counted from its
    values (not from a stride, which numpy leaves arbitrary on axes of length 1: a device run
    once read a 1-D batch's items from a 0-byte upload). The CPU launcher reads the same
    chunks from exact-size copies (gpu::for_each_chunk, gpu::HostCopy): every field equals the
    CPU engine's, for every run length; a NaN in a later chunk names its item."""
    rng = np.random.default_rng(53)
    for x, bd in _copied_cases(rng):
        d = x.ndim - bd
        kernels = _core._portable_2d if d == 2 else _core._portable_nd
        maxdim = 1 if d == 2 else 0
        want = _core.compute(x, maxdim, construction, bd, 1, False, False)
        for per_run in (0, 1, 2, 5):
            got = kernels(x, maxdim, construction, bd, 2, False, items_per_run=per_run,
                          copied=True)
            np.testing.assert_array_equal(got["offsets"], want["offsets"])
            assert raw_rows(got) == raw_rows(want), (x.shape, per_run)
        if d in (2, 3):
            eta = rng.integers(-1, 4, x.shape[:bd]).astype(np.float64)
            cpu = cuph.betti_numbers_at(x, eta, batch_dims=bd, construction=construction,
                                        device="cpu")
            for per_run in (0, 1, 3):
                got = _core._portable_betti(x, eta.ravel(), construction, bd, 2,
                                            items_per_run=per_run, copied=True)
                np.testing.assert_array_equal(got.reshape(cpu.shape), cpu)
    y = rng.random((6, 4, 5)).astype(np.float32)
    y[4, 1, 2] = np.nan
    for per_run in (1, 3, 4):
        with pytest.raises(ValueError, match=r"NaN at index \(4, 1, 2\)"):
            _core._portable_2d(y, 1, construction, 1, 1, False, items_per_run=per_run, copied=True)
        with pytest.raises(ValueError, match=r"NaN at index \(4, 1, 2\)"):
            _core._portable_betti(y, np.zeros(6), construction, 1, 1, items_per_run=per_run,
                                  copied=True)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core._portable_2d(y[:, ::2], 1, construction, 1, 1, False, copied=True)


def test_launch_profile_times_every_step_while_on():
    """The launch profile (how a device run finds its costly steps without a profiler): off by
    default; while on, every launch and allocation of a run is counted under its step's name
    with a time; taking it forgets it; off again, nothing more is counted."""
    x = np.random.default_rng(3).integers(0, 5, (4, 12, 10)).astype(np.float32)
    v = np.random.default_rng(4).integers(0, 5, (2, 6, 5, 4)).astype(np.float32)
    before = _core._portable_profile()
    assert before["on"] is False
    try:
        _core._portable_profile(True)
        _core._portable_2d(x, 1, "V", 1, 2, False)
        _core._portable_nd(v, 2, "T", 1, 2, False)
        taken = _core._portable_profile()
        assert taken["on"] is True
        steps = taken["steps"]
        assert {"alloc", "node_key", "write_pair"} <= set(steps), sorted(steps)
        for calls, seconds in steps.values():
            assert calls >= 1 and seconds >= 0.0
        assert _core._portable_profile()["steps"] == {}  # taken above
    finally:
        _core._portable_profile(False)
    _core._portable_2d(x, 1, "V", 1, 2, False)
    assert _core._portable_profile()["steps"] == {}


@pytest.mark.parametrize("construction", ["V", "T"])
def test_result_columns_written_by_the_kernels_over_several_runs(construction):
    """The kernels write the result columns themselves (write_pair), in place or into the
    launcher's arrays that are then downloaded, and each run's rows are appended to one
    result: cut into runs of 1, 2, 3 and 5 items, a batch gives every column
    of the one-run result (and of the CPU engine: float32 values where exact, float64 for wide
    dtypes, -inf deaths for superlevel); a NaN in a later run names its item."""
    rng = np.random.default_rng(47)
    for dtype in (np.float32, np.int64):
        x = rng.integers(0, 4, (7, 9, 11)).astype(dtype)
        x[3] = 0  # an item whose only pair is essential
        for superlevel in (False, True):
            for maxdim in (0, 1):
                one = _core._portable_2d(x, maxdim, construction, 1, 1, superlevel)
                cpu = _core.compute(x, maxdim, construction, 1, 1, superlevel, False)
                assert one["birth"].dtype == cpu["birth"].dtype
                np.testing.assert_array_equal(one["offsets"], cpu["offsets"])
                assert (one["dim"] == cpu["dim"]).all()
                for per_run in (1, 2, 3, 5, 7, 100):
                    for direct in (True, False):
                        got = _core._portable_2d(x, maxdim, construction, 1, 2, superlevel,
                                                 items_per_run=per_run, direct=direct)
                        for field in ("dim", "birth", "death", "birth_index", "death_index",
                                      "offsets"):
                            np.testing.assert_array_equal(got[field], one[field])
                            assert got[field].dtype == one[field].dtype
    y = rng.random((6, 4, 4)).astype(np.float32)
    y[4, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN at index \(4, 1, 2\)"):
        _core._portable_2d(y, 1, construction, 1, 1, False, items_per_run=3)
    with pytest.raises(ValueError, match="items_per_run"):
        _core._portable_2d(y, 1, construction, 1, 1, False, items_per_run=-1)


def _fake_device_results(monkeypatch, host):
    """cuda_available() says yes; the GPU engine's entry point for device arrays runs the CPU
    launcher on `host` and, asked to leave the columns on the device, returns them as numpy
    stand-ins, which the wrapper for the input's library turns into torch CPU tensors. Returns
    the list of the calls' on_device flags."""
    _cuda = pytest.importorskip("cuph._cuda")
    torch = pytest.importorskip("torch")
    import cuph.engine

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: True)
    calls = []

    def compute_device(ptr, shape, strides, code, stream, maxdim, construction, batch_dims,
                          superlevel, max_bytes, on_device):
        calls.append(on_device)
        view = np.lib.stride_tricks.as_strided(host, shape, strides)
        return _core._portable_2d(view, maxdim, construction, batch_dims, 1, superlevel)

    monkeypatch.setattr(_cuda, "compute_device", compute_device)
    monkeypatch.setattr(cuph.engine, "_device_wrapper",
                        lambda owner: lambda a: torch.from_numpy(np.asarray(a)))
    return calls


@pytest.mark.parametrize("construction", ["V", "T"])
def test_device_results_stay_on_the_device_until_read(construction, monkeypatch, tmp_path):
    """A GPU input's result keeps its columns where the GPU engine wrote them (DeviceDiagrams):
    sizes, items, offsets and repr come from the host offsets without a copy, to_torch() hands
    the tensors over as they are, and the first numpy read copies the five columns once; then
    the pairs are the CPU engine's (every field the kernels' host result's), and items,
    pickling and cpu() work as on Diagrams."""
    import pickle

    torch = pytest.importorskip("torch")
    host = np.random.default_rng(53).integers(0, 5, (4, 3, 9, 8)).astype(np.float32)
    calls = _fake_device_results(monkeypatch, host)
    dg = cuph.persistence(FakeCupyArray(host), batch_dims=2, construction=construction)
    want = cuph.persistence(host, batch_dims=2, construction=construction, device="cpu")
    assert calls == [True] and isinstance(dg, cuph.DeviceDiagrams) and not dg.on_host
    assert len(dg) == 12 and dg.n_pairs == want.n_pairs and dg.batch_shape == (4, 3)
    np.testing.assert_array_equal(dg.item, want.item)
    assert "H1:" in repr(dg) and not dg.on_host
    t = dg.to_torch()
    assert t["birth"] is dg.device_columns["birth"] and not dg.on_host
    np.testing.assert_array_equal(t["item"].numpy(), want.item)
    np.testing.assert_array_equal(t["offsets"].numpy(), want.offsets)
    assert dg.to_torch("cpu")["death"] is dg.device_columns["death"]
    from cuph.torch import _index_tensors

    dim, bi, di, item = _index_tensors(dg, "cpu")
    assert dim.dtype == torch.int64 and not dg.on_host
    np.testing.assert_array_equal(bi.numpy(), dg.device_columns["birth_index"].numpy())
    assert bi.data_ptr() != dg.device_columns["birth_index"].data_ptr()  # not shared
    import copy

    deep, shallow = copy.deepcopy(dg), copy.copy(dg)
    assert not deep.on_host and not dg.on_host and isinstance(deep, cuph.DeviceDiagrams)
    assert deep.device_columns["birth"] is not dg.device_columns["birth"]
    assert torch.equal(deep.device_columns["birth"], dg.device_columns["birth"])
    assert shallow.device_columns["birth"] is dg.device_columns["birth"]
    assert rows(dg) == rows(want) and dg.on_host  # the first numpy read
    same_kernels = kernel(host, batch_dims=2, construction=construction)
    for field in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
        np.testing.assert_array_equal(getattr(dg, field), getattr(same_kernels, field))
        assert isinstance(getattr(dg, field), np.ndarray)
    assert rows(dg[2, 1]) == rows(want[2, 1])
    back = pickle.loads(pickle.dumps(dg))
    assert rows(back) == rows(want) and back.betti_numbers().tolist() == want.betti_numbers().tolist()
    plain = dg.cpu()
    assert type(plain) is cuph.Diagrams and rows(plain) == rows(want)
    with pytest.raises(AttributeError):
        dg.no_such_attribute
    both = cuph.DeviceDiagrams.concat([dg, deep])  # host diagrams
    assert type(both) is cuph.Diagrams and len(both) == 24
    assert rows(both[13]) == rows(want[1])
    path = tmp_path / "dg.npz"
    dg.save(path)
    assert type(cuph.DeviceDiagrams.load(path)) is cuph.Diagrams
    with pytest.raises(ValueError, match="offsets"):
        cuph.DeviceDiagrams(columns=dg.device_columns, offsets=np.array([0, 1]), batch_shape=(),
                            item_shape=(9, 8), maxdim=1, construction="V", superlevel=False)
    with pytest.raises(ValueError, match="offsets"):  # not from 0
        cuph.DeviceDiagrams(columns=dg.device_columns, offsets=dg.offsets + 1,
                            batch_shape=(4, 3), item_shape=(9, 8), maxdim=1,
                            construction="V", superlevel=False)


def test_replay_switch_arguments(replay_switch):
    with pytest.raises(ValueError, match="threads"):
        replay_switch(threads=0)
    with pytest.raises(ValueError, match="threads"):
        replay_switch(threads=2048)
    before = replay_switch(threads=7, max_shared=1000)
    assert before["threads"] == 128 and before["max_shared"] == 227 * 1024  # the defaults
    after = replay_switch()
    assert after["threads"] == 7 and after["max_shared"] == 1000 and after["blocks"]


@pytest.mark.parametrize("construction", ["V", "T"])
def test_1d_items_as_rows_of_2d_items(construction):
    """1-D items run the 2-D kernels as items of one row: every field equals the CPU engine's
    1-D result (pairs, indices, offsets, shapes), on ties, degenerate lengths, every dtype
    class, reversed and strided views and a 2-D batch; gudhi agrees."""
    rng = np.random.default_rng(31)
    for n in (1, 2, 3, 7, 64, 500):
        for levels in (2, 3, 1000):
            x = rng.integers(0, levels, (5, n)).astype(np.float32)
            for superlevel in (False, True):
                got = kernel(x, construction=construction, batch_dims=1, superlevel=superlevel)
                want = cuph.persistence(x, construction=construction, batch_dims=1,
                                        superlevel=superlevel, device="cpu")
                assert got.item_shape == (n,) and got.maxdim == 0
                for field in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
                    np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
                check_indices(got, x, 1)
    base = rng.integers(-3, 4, (4, 3, 40)).astype(np.int16)
    for view in (base[:, :, ::-1], base[::-1, 1, ::3], base.transpose(1, 0, 2), base[0, 0]):
        bd = view.ndim - 1
        got = kernel(view, construction=construction, batch_dims=bd)
        assert rows(got) == rows(cuph.persistence(view, construction=construction,
                                                  batch_dims=bd, device="cpu"))
        assert got.batch_shape == view.shape[:bd]
    for dtype in (np.float16, np.float64, np.uint8, np.int64, np.bool_):
        y = rng.integers(0, 2 if dtype == np.bool_ else 9, (3, 30)).astype(dtype)
        got = kernel(y, construction=construction, batch_dims=1)
        want = cuph.persistence(y, construction=construction, batch_dims=1, device="cpu")
        assert rows(got) == rows(want) and got.birth.dtype == want.birth.dtype
    z = rng.integers(0, 4, 25).astype(np.float64)
    got = kernel(z, construction=construction)
    assert counter_from_arrays(got.dim, got.birth, got.death) == gudhi_pairs(z, construction)


def test_1d_device_arrays_take_a_row_axis(monkeypatch):
    """A 1-D item on the GPU is handed to the kernels as a (1, n) item whose extra axis has
    stride 0; the CUDA entry point is stood in for by the CPU launcher on the array's host
    data, read through the shape and byte strides the GPU path passes."""
    _cuda = pytest.importorskip("cuph._cuda")
    import cuph.engine

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: True)
    host = np.random.default_rng(37).integers(0, 4, (6, 33)).astype(np.float32)
    seen = []

    def compute_device(ptr, shape, strides, code, stream, maxdim, construction, batch_dims,
                          superlevel, max_bytes, on_device):
        assert not on_device  # a producer other than torch or cupy: numpy results
        seen.append((tuple(shape), tuple(strides)))
        view = np.lib.stride_tricks.as_strided(host, shape, strides)
        return _core._portable_2d(view, maxdim, construction, batch_dims, 1, superlevel)

    monkeypatch.setattr(_cuda, "compute_device", compute_device)
    for construction in "VT":
        got = cuph.persistence(FakeCupyArray(host), batch_dims=1, construction=construction)
        want = cuph.persistence(host, batch_dims=1, construction=construction, device="cpu")
        assert rows(got) == rows(want) and got.item_shape == (33,)
        np.testing.assert_array_equal(got.birth_index, want.birth_index)
    assert seen[-1] == ((6, 1, 33), (132, 0, 4))


def test_bad_input():
    with pytest.raises(ValueError, match="1 to 4"):
        kernel(np.zeros((2, 2, 2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="keep_diagonal"):
        _persistence(np.zeros((3, 3)), None, "V", 0, 1, False, True, None, "portable")
    y = np.zeros((2, 4, 4), np.float32)
    y[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN at index \(1, 2, 3\)"):
        kernel(y, batch_dims=1)
    with pytest.raises(ValueError, match="construction"):
        _core._portable_2d(y, 1, "X", 1, 1, False)
    with pytest.raises(ValueError, match="maxdim"):
        _core._portable_2d(np.zeros((4, 4)), 2, "V", 0, 1, False)


def test_cuda_module_without_a_device():
    """cuph._cuda (built when nvcc was found) imports without a GPU and says so."""
    try:
        from cuph import _cuda
    except ImportError:
        pytest.skip("this build has no cuph._cuda (no nvcc at build time)")
    n = _cuda.device_count()
    assert isinstance(n, int) and n >= 0
    assert cuph.cuda_available() == (n > 0)
    if n == 0:
        with pytest.raises(RuntimeError, match="no CUDA device"):
            _cuda.compute(np.zeros((2, 3, 3), np.float32), 1, "V", 1, 1, False)
        with pytest.raises(RuntimeError, match="device='cpu'"):
            cuph.persistence(np.zeros((3, 3)), device="cuda")


def betti(x, eta, engine="portable", **kw):
    from cuph.betti import _betti_numbers_at

    return _betti_numbers_at(x, eta, kw.pop("batch_dims", 0), kw.pop("maxdim", None),
                             kw.pop("construction", "V"), kw.pop("n_threads", 2), engine)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", SHAPES)
def test_betti_kernels_match_cpu(construction, shape):
    """Components by union-find with atomics (two threads: concurrent compare-and-swap) and
    beta_1 from the Euler characteristic, against the CPU kernel, per-item thresholds."""
    rng = np.random.default_rng(hash(shape) % 997)
    for levels in (2, 4, 30):
        x = rng.integers(0, levels, (6,) + shape).astype(np.float32)
        eta = rng.integers(-1, levels + 1, 6).astype(np.float64)
        eta[0], eta[1] = np.inf, -np.inf
        got = betti(x, eta, batch_dims=1, construction=construction)
        want = cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction,
                                     device="cpu")
        np.testing.assert_array_equal(got, want)
        assert got.shape == (6, 2)


@pytest.fixture
def fine_blocks():
    """Blocks of 3 elements on 2 threads: both threads work on the same item at once."""
    old = _core._portable_block(3)
    yield
    _core._portable_block(old)


def test_kernels_with_threads_in_one_item(fine_blocks):
    """The atomics under contention: compare-and-swap links, critical counts and slots,
    minima, NaN positions."""
    rng = np.random.default_rng(37)
    for trial in range(4):
        x = rng.integers(0, 3, (2, 150, 140)).astype(np.float32)
        for construction in "VT":
            np.testing.assert_array_equal(
                betti(x, 1.0, batch_dims=1, construction=construction, n_threads=2),
                cuph.betti_numbers_at(x, 1.0, batch_dims=1, construction=construction))
            got = kernel(x, construction=construction, batch_dims=1, n_threads=2)
            assert rows(got) == rows(cuph.persistence(x, construction=construction, batch_dims=1))
    v = rng.integers(0, 3, (2, 30, 28, 26)).astype(np.float32)
    for construction in "VT":
        np.testing.assert_array_equal(
            betti(v, 1.0, batch_dims=1, construction=construction, n_threads=2),
            cuph.betti_numbers_at(v, 1.0, batch_dims=1, construction=construction))
    y = np.zeros((3, 40, 40), np.float32)
    y[1, 30, 7] = y[2, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN at index \(1, 30, 7\)"):
        kernel(y, batch_dims=1, n_threads=2)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 2, 2), (1, 5, 6), (5, 1, 6), (6, 5, 1), (7, 1, 1),
                                   (3, 4, 5), (6, 6, 6), (9, 7, 8)])
def test_betti_kernels_match_cpu_3d(construction, shape):
    """3-D: beta_2 from the complement's components (padding as the outside), beta_1 from the
    Euler characteristic; degenerate axes of length 1 included."""
    rng = np.random.default_rng(sum(shape) * 7 + len(construction))
    for levels in (2, 3, 20):
        x = rng.integers(0, levels, (5,) + shape).astype(np.float32)
        eta = rng.integers(-1, levels + 1, 5).astype(np.float64)
        eta[0] = np.inf
        got = betti(x, eta, batch_dims=1, construction=construction)
        want = cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction,
                                     device="cpu")
        np.testing.assert_array_equal(got, want)
        assert got.shape == (5, 3)


def test_betti_kernels_3d_shapes_with_holes_and_voids():
    """A shell of 1s between an outer layer and a core of 0s ({x <= 0}: two components, and a
    void between them), and a flat ring of 0s in a block of 1s (one tunnel)."""
    x = np.zeros((7, 7, 7))
    x[1:6, 1:6, 1:6] = 1
    x[2:5, 2:5, 2:5] = 0
    for construction in "VT":
        for eta in (0.0, 0.5, 1.0):
            np.testing.assert_array_equal(
                betti(x, eta, construction=construction),
                cuph.betti_numbers_at(x, eta, construction=construction, device="cpu"))
    ring = np.ones((5, 9, 9))
    ring[2, 2:7, 2:7] = 0
    ring[2, 3:6, 3:6] = 1
    for construction in "VT":
        np.testing.assert_array_equal(
            betti(ring, 0.5, construction=construction),
            cuph.betti_numbers_at(ring, 0.5, construction=construction, device="cpu"))
    assert betti(ring, 0.5, construction="T").tolist() == [1, 1, 0]


def test_betti_kernels_every_dtype_views_and_large_items():
    rng = np.random.default_rng(29)
    for dtype in DTYPES:
        x = (rng.standard_normal((3, 9, 11)) * 3).astype(dtype)
        for construction in "VT":
            np.testing.assert_array_equal(
                betti(x, 0.5, batch_dims=1, construction=construction),
                cuph.betti_numbers_at(x, 0.5, batch_dims=1, construction=construction))
    base = rng.random((4, 120, 90)).astype(np.float32)
    for view in (base, base[:, ::-1, ::2], base.transpose(0, 2, 1), base[::3, 5:6, :]):
        for construction in "VT":
            for eta in (0.2, 0.5, 0.8):
                np.testing.assert_array_equal(
                    betti(view, eta, batch_dims=1, construction=construction, n_threads=2),
                    cuph.betti_numbers_at(view, eta, batch_dims=1, construction=construction))
    ring = np.ones((2, 5, 5))
    ring[:, 1:4, 1:4] = 0
    ring[:, 2, 2] = 1
    assert betti(ring, [0.5, 1.0], batch_dims=1, construction="T").tolist() == [[1, 1], [1, 0]]
    assert betti(ring, 0.5, batch_dims=1, construction="T", maxdim=0).tolist() == [[1], [1]]


@pytest.mark.parametrize("construction", ["V", "T"])
def test_betti_kernels_1d_items_as_rows(construction):
    """1-D items take the 2-D kernels as items of one row: beta_0 of every item equals the CPU
    kernel's, on ties, thresholds between and at values, lengths 1..300, views and dtypes;
    also on a GPU array (the device entry point stood in for by the CPU launcher, reading the
    shape and byte strides the GPU path passes, a stride-0 row axis)."""
    rng = np.random.default_rng(59)
    for n in (1, 2, 7, 300):
        x = rng.integers(0, 4, (9, n)).astype(np.float32)
        for eta in (-1.0, 0.5, 1.0, 2.0, rng.integers(0, 4, 9).astype(np.float64)):
            got = betti(x, eta, batch_dims=1, construction=construction)
            want = cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction,
                                         device="cpu")
            assert got.shape == (9, 1)
            np.testing.assert_array_equal(got, want)
    base = rng.integers(-2, 3, (3, 4, 50)).astype(np.int16)
    for view in (base[:, :, ::-1], base[::-1, 2, ::3], base[0, 1]):
        bd = view.ndim - 1
        np.testing.assert_array_equal(
            betti(view, 0.0, batch_dims=bd, construction=construction),
            cuph.betti_numbers_at(view, 0.0, batch_dims=bd, construction=construction,
                                  device="cpu"))


def test_betti_1d_device_arrays_take_a_row_axis(monkeypatch):
    _cuda = pytest.importorskip("cuph._cuda")
    import cuph.engine

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: True)
    host = np.random.default_rng(61).integers(0, 4, (5, 40)).astype(np.float32)
    seen = []

    def betti_device(ptr, shape, strides, code, stream, eta, construction, batch_dims):
        seen.append((tuple(shape), tuple(strides)))
        view = np.lib.stride_tricks.as_strided(host, shape, strides)
        return _core._portable_betti(view, eta, construction, batch_dims, 1)

    monkeypatch.setattr(_cuda, "betti_device", betti_device)
    for construction in "VT":
        got = cuph.betti_numbers_at(FakeCupyArray(host), 1.5, batch_dims=1,
                                    construction=construction)
        np.testing.assert_array_equal(got, cuph.betti_numbers_at(
            host, 1.5, batch_dims=1, construction=construction, device="cpu"))
    assert seen[-1] == ((5, 1, 40), (160, 0, 4))


def test_betti_kernels_bad_input():
    y = np.zeros((2, 4, 4), np.float32)
    y[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN at index \(1, 3, 0\)"):
        betti(y, 0.0, batch_dims=1)
    with pytest.raises(ValueError, match="2-D and 3-D items"):
        betti(np.zeros((2, 3, 3, 3, 3)), 0.0, batch_dims=1)
    with pytest.raises(ValueError, match="threshold"):
        betti(np.zeros((2, 3, 3)), [0.0, 1.0, 2.0], batch_dims=1)
    if not cuph.cuda_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            cuph.betti_numbers_at(np.zeros((3, 3)), 0.0, device="cuda")


class FakeDeviceArray:
    """An object with a ``__cuda_array_interface__`` (v3), as torch and cupy arrays have."""

    def __init__(self, shape, typestr, strides=None, stream=None):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (1234, False),
                                         "strides": strides, "version": 3, "stream": stream}


def test_device_array_interface_is_read_without_a_copy():
    from cuph.engine import _device_array

    dev = _device_array(FakeDeviceArray((5, 7, 3), "<f4", stream=2))
    assert dev["ptr"] == 1234 and dev["shape"] == (5, 7, 3)
    assert dev["strides"] == (84, 12, 4)  # C order when the interface gives none
    assert dev["code"] == 1 and dev["stream"] == 2
    dev = _device_array(FakeDeviceArray((4, 6), "|u1", strides=(1, 4)))
    assert dev["strides"] == (1, 4) and dev["code"] == 7 and dev["stream"] == 0
    assert _device_array(np.zeros((2, 2))) is None
    with pytest.raises(TypeError, match="complex"):
        _device_array(FakeDeviceArray((2, 2), "<c8"))
    if not cuph.cuda_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            cuph.persistence(FakeDeviceArray((3, 3), "<f4"))  # auto: on a GPU


class FakeCupyArray(FakeDeviceArray):
    """A cupy-like GPU array over host data: ``get()`` is its copy to the host."""

    def __init__(self, host):
        super().__init__(host.shape, host.dtype.str)
        self.shape, self._host = host.shape, host

    def get(self):
        return self._host.copy()


def test_auto_device_runs_on_the_cpu_what_the_gpu_engine_does_not(monkeypatch):
    """device='auto' on a GPU array: the middle dimensions of 3-D items and keep_diagonal
    (persistence), 4-D items (Betti numbers) run on the CPU engine from a host copy; 'cuda'
    still refuses keep_diagonal and 4-D Betti numbers."""
    import cuph.engine

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: True)
    rng = np.random.default_rng(29)
    x = rng.integers(0, 5, (2, 4, 5, 6)).astype(np.float32)
    got = cuph.persistence(FakeCupyArray(x), batch_dims=1)
    assert rows(got) == rows(cuph.persistence(x, batch_dims=1, device="cpu"))
    y = x[0, 0]
    got = cuph.persistence(FakeCupyArray(y), keep_diagonal=True)
    want = cuph.persistence(y, keep_diagonal=True, device="cpu")
    assert rows(got) == rows(want) and (got.birth == got.death).any()
    with pytest.raises(ValueError, match="keep_diagonal"):
        cuph.persistence(FakeCupyArray(y), keep_diagonal=True, device="cuda")
    for item in (rng.integers(0, 5, (2, 3, 3, 3, 3)).astype(np.float32),):
        got = cuph.betti_numbers_at(FakeCupyArray(item), 2.0, batch_dims=1)
        np.testing.assert_array_equal(
            got, cuph.betti_numbers_at(item, 2.0, batch_dims=1, device="cpu"))
        with pytest.raises(ValueError, match="2-D and 3-D items"):
            cuph.betti_numbers_at(FakeCupyArray(item), 2.0, batch_dims=1, device="cuda")


class FakeCupyNd(FakeCupyArray):
    """A cupy-like GPU array with the few methods the thresholds use on the GPU (reshape, mean,
    copy, sort, indexing, +, /), numpy underneath. ``hosted`` counts the elements that went to
    the host through ``get()``."""

    hosted = 0

    def __init__(self, host):
        super().__init__(np.asarray(host))
        self.ndim, self.dtype = self._host.ndim, self._host.dtype

    def get(self):
        FakeCupyNd.hosted += self._host.size
        return super().get()

    def reshape(self, *shape):
        return FakeCupyNd(self._host.reshape(*shape))

    def mean(self, axis, dtype):
        return FakeCupyNd(self._host.mean(axis=axis, dtype=dtype))

    def copy(self):
        return FakeCupyNd(self._host.copy())

    def astype(self, dtype):
        return FakeCupyNd(self._host.astype(dtype))

    def sort(self, axis):
        self._host.sort(axis=axis)

    def __getitem__(self, key):
        return FakeCupyNd(self._host[key])

    def __add__(self, other):
        return FakeCupyNd(self._host + other._host)

    def __truediv__(self, k):
        return FakeCupyNd(self._host / k)


def _fake_gpu(monkeypatch):
    """cuda_available() says yes, and the GPU engine's Betti numbers (of a FakeCupyNd: over its
    host data) run its kernels on the CPU launcher: the calls record which arrays they got."""
    import cuph.betti
    import cuph.engine

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: True)
    real = cuph.betti._betti_numbers_at
    calls = []

    def betti(x, threshold, batch_dims, maxdim, construction, n_threads, engine):
        calls.append((type(x).__name__, engine))
        if engine == "cuda":
            x, engine = x._host if isinstance(x, FakeCupyNd) else x, "portable"
        return real(x, threshold, batch_dims, maxdim, construction, n_threads, engine)

    monkeypatch.setattr(cuph.betti, "_betti_numbers_at", betti)
    FakeCupyNd.hosted = 0
    return calls


@pytest.fixture
def fake_gpu(monkeypatch):
    return _fake_gpu(monkeypatch)


@pytest.mark.parametrize("item", [(4, 6, 7), (3, 5, 6), (6, 5)], ids=str)
def test_betti_at_reads_gpu_arrays_in_place(fake_gpu, item, monkeypatch):
    """cuph.metrics.betti_at on a GPU array: the mean and median rules run on the GPU (an even
    and an odd number of values per item), the Betti numbers too, and only one threshold per item
    comes back; a callable rule gets host copies; device='cpu' copies the array, and so does
    'auto' when cuph has no usable GPU engine."""
    from cuph.metrics import betti_at

    rng = np.random.default_rng(31)
    x = rng.integers(0, 6, (5,) + item).astype(np.float32)
    for threshold in ("mean", "median", 2.0, np.arange(5) / 2.0):
        want = betti_at(x, threshold, construction="T", device="cpu")
        FakeCupyNd.hosted, fake_gpu[:] = 0, []
        got = betti_at(FakeCupyNd(x), threshold, construction="T")
        np.testing.assert_array_equal(got, want, err_msg=str(threshold))
        assert fake_gpu == [("FakeCupyNd", "cuda")]
        assert FakeCupyNd.hosted <= x.shape[0], threshold  # the thresholds alone
    # The median of two middle values as numpy takes it: int8 in float64 (no overflow),
    # float16 through float32.
    for y in (rng.integers(100, 128, (5,) + item).astype(np.int8),
              (2048 + rng.integers(0, 8, (5,) + item)).astype(np.float16)):
        y.reshape(5, -1)[:, 0] = y.reshape(5, -1)[:, 1] + 1  # distinct middles somewhere
        np.testing.assert_array_equal(betti_at(FakeCupyNd(y), "median"), betti_at(y, "median"))
    got = betti_at(FakeCupyNd(x), lambda row: float(np.quantile(row, 0.3)), maxdim=4)
    want = betti_at(x, lambda row: float(np.quantile(row, 0.3)), maxdim=4)
    np.testing.assert_array_equal(got, want)
    want = betti_at(x, "mean")
    FakeCupyNd.hosted, fake_gpu[:] = 0, []
    np.testing.assert_array_equal(betti_at(FakeCupyNd(x), "mean", device="cpu"), want)
    assert fake_gpu == [("ndarray", "cpu")] and FakeCupyNd.hosted == x.size
    import cuph.engine  # a cuph without a usable GPU engine: "auto" reads a host copy

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: False)
    FakeCupyNd.hosted, fake_gpu[:] = 0, []
    np.testing.assert_array_equal(betti_at(FakeCupyNd(x), "mean"), want)
    assert fake_gpu == [("ndarray", "cpu")] and FakeCupyNd.hosted == x.size


@pytest.mark.parametrize("per_channel", [False, True])
def test_betti_profile_device_is_honoured(per_channel, monkeypatch):
    """betti_profile's device reaches the engine (it used to run on the CPU whatever it said):
    'cuda' sends host activations to the GPU engine, and without a GPU raises before the model
    runs, as persistence does; 'cpu', 'auto' and 'cuda' give the same profile."""
    torch = pytest.importorskip("torch")
    import cuph.metrics as cm

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU()).eval()
    img = torch.from_numpy(np.random.default_rng(5).random((4, 1, 12, 12)).astype(np.float32))
    kw = dict(layers=["0", "1"], per_channel=per_channel, progress=False)
    cpu = cm.betti_profile(model, img, device="cpu", **kw)
    np.testing.assert_array_equal(cm.betti_profile(model, img, **kw).betti, cpu.betti)
    if not cuph.cuda_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            cm.betti_profile(model, img, device="cuda", **kw)
    with monkeypatch.context() as m:
        calls = _fake_gpu(m)
        gpu = cm.betti_profile(model, img, device="cuda", **kw)
    np.testing.assert_array_equal(gpu.betti, cpu.betti)
    assert calls == [("ndarray", "cuda")] * 2


requires_gpu = pytest.mark.skipif(not cuph.cuda_available(), reason="no usable CUDA device")


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("construction", ["V", "T"])
def test_cuda_launcher_matches_cpu(construction):
    rng = np.random.default_rng(19)
    for shape in SHAPES + [(56, 56), (128, 96), (1,), (9,), (777,)]:
        for levels in (3, 1000):
            x = rng.integers(0, levels, (64,) + shape).astype(np.float32)
            for superlevel in (False, True):
                got = cuph.persistence(x, construction=construction, batch_dims=1,
                                       superlevel=superlevel, device="cuda")
                want = cuph.persistence(x, construction=construction, batch_dims=1,
                                        superlevel=superlevel, device="cpu")
                assert rows(got) == rows(want)
                check_indices(got, x, 1)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("construction", ["V", "T"])
def test_cuda_block_replay_equals_thread_replay(construction):
    """On the device: the replay of a block per item and pass (shared memory, bitonic sort,
    barriers) gives every pair and index of the one-thread replay, for several block sizes;
    items too large for a block's memory take the one-thread replay."""
    from cuph import _cuda

    rng = np.random.default_rng(43)
    before = _cuda._replay()
    try:
        for shape in [(1, 1), (9, 1), (13, 17), (56, 56), (300, 300)]:
            x = rng.integers(0, 1000, (32,) + shape).astype(np.float32)
            _cuda._replay(blocks=False)
            want = full_rows(cuph.persistence(x, construction=construction, batch_dims=1,
                                              device="cuda"))
            for threads in (1, 32, 96, 256, 1024):
                _cuda._replay(blocks=True, threads=threads)
                runs = _cuda._replay()["block_runs"]
                got = cuph.persistence(x, construction=construction, batch_dims=1, device="cuda")
                assert full_rows(got) == want
                fits = shape != (300, 300)  # 300^2 noise needs more than 227 KiB
                assert _cuda._replay()["block_runs"] == runs + fits
    finally:
        _cuda._replay(blocks=before["blocks"], threads=before["threads"])


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "uint8", "bool"])
def test_cuda_launcher_from_torch_cuda_tensor(dtype):
    """Read in place through the interface (strided views too); 64-bit ones via the host."""
    torch = pytest.importorskip("torch")
    g = torch.Generator(device="cuda").manual_seed(0)
    x = (torch.rand(16, 28, 30, device="cuda", generator=g) * 5).to(getattr(torch, dtype))
    for view in (x, x.transpose(1, 2), x[::3, 2:, ::2], x[:, 3, ::2], x[2:5, 1:3, 4]):
        for construction in "VT":
            got = cuph.persistence(view, batch_dims=1, construction=construction)  # auto: GPU
            want = cuph.persistence(view.cpu().numpy(), batch_dims=1, construction=construction,
                                    device="cpu")
            assert rows(got) == rows(want)
            check_indices(got, view.cpu().numpy(), 1)


@pytest.mark.gpu
@requires_gpu
def test_cuda_device_results_are_tensors_of_the_input_library():
    """A torch CUDA tensor's result keeps its columns on the tensor's device as torch tensors
    (no host copy until numpy is read; to_torch() shares their memory, which outlives the
    result); a batch cut into many runs (max_memory) gives every column of one run; cupy
    arrays get cupy columns."""
    import gc

    torch = pytest.importorskip("torch")
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.rand(64, 40, 48, device="cuda", generator=g)
    for construction in "VT":
        dg = cuph.persistence(x, batch_dims=1, construction=construction)
        assert isinstance(dg, cuph.DeviceDiagrams) and not dg.on_host
        cols = dg.device_columns
        assert all(c.device == x.device for c in cols.values())
        assert cols["dim"].dtype == torch.int8 and cols["birth"].dtype == torch.float32
        assert cols["death_index"].dtype == torch.int64
        t = dg.to_torch()
        assert t["birth"].data_ptr() == cols["birth"].data_ptr() and not dg.on_host
        want = cuph.persistence(x.cpu().numpy(), batch_dims=1, construction=construction,
                                device="cpu")
        assert rows(dg) == rows(want)
        runs = cuph.persistence(x, batch_dims=1, construction=construction,
                                max_memory=6 * 2**20)
        for k in ("dim", "birth", "death", "birth_index", "death_index"):
            assert torch.equal(runs.device_columns[k], cols[k])
        del dg, cols, runs
        gc.collect()
        assert torch.isfinite(t["birth"]).all() and t["birth"].shape[0] == want.n_pairs
    try:
        import cupy
    except ImportError:
        return
    c = cupy.asarray(x.cpu().numpy())
    dg = cuph.persistence(c, batch_dims=1)
    assert isinstance(dg.device_columns["birth"], cupy.ndarray) and not dg.on_host
    assert rows(dg) == rows(cuph.persistence(c.get(), batch_dims=1, device="cpu"))


@pytest.mark.gpu
@requires_gpu
def test_cuda_launcher_reports_nan_and_chunks():
    torch = pytest.importorskip("torch")
    x = torch.zeros(3, 8, 8, device="cuda")
    x[2, 5, 1] = float("nan")
    with pytest.raises(ValueError, match=r"NaN at index \(2, 5, 1\)"):
        cuph.persistence(x, batch_dims=1)
    y = np.random.default_rng(0).integers(0, 9, (500, 40, 40)).astype(np.float32)
    want = rows(cuph.persistence(y, batch_dims=1, device="cpu"))
    # max_memory bounds each launch: chunks of a few items, the same pairs.
    assert rows(cuph.persistence(y, batch_dims=1, device="cuda", max_memory="4MB")) == want
    yt = torch.from_numpy(y).cuda()
    assert rows(cuph.persistence(yt, batch_dims=1, max_memory="4MB")) == want
    with pytest.raises(MemoryError, match="GPU memory"):
        cuph.persistence(yt[:1], batch_dims=1, max_memory=1000)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("shape", SHAPES + [(56, 56), (256, 200), (1, 1, 1), (1, 6, 7), (4, 5, 6),
                                   (16, 28, 28), (1,), (45,)])
def test_cuda_betti_matches_cpu(shape):
    """Host arrays, and torch tensors read in place: contiguous, with the last item axis moved
    first (strided), and float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(31 + len(shape))
    x = rng.integers(0, 5, (32,) + shape).astype(np.float32)
    eta = rng.integers(-1, 6, 32).astype(np.float64)
    for construction in "VT":
        want = cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction, device="cpu")
        np.testing.assert_array_equal(
            cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction, device="cuda"),
            want)
        xt = torch.from_numpy(x).cuda()
        for view in (xt, xt.movedim(-1, 1), xt.double()):
            np.testing.assert_array_equal(
                cuph.betti_numbers_at(view, eta, batch_dims=1, construction=construction),
                cuph.betti_numbers_at(view.cpu().numpy(), eta, batch_dims=1,
                                      construction=construction, device="cpu"))


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("per_channel", [False, True])
def test_cuda_betti_profile_of_a_model_on_the_gpu(per_channel):
    """A model on the GPU: its activations are counted where they are (device='auto'), with the
    profile of the same activations copied to the host (device='cpu') for a fixed threshold and
    the median rule (exact on both; the mean may differ in its last bits)."""
    torch = pytest.importorskip("torch")
    import cuph.metrics as cm

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    model = model.cuda().eval()
    img = torch.from_numpy(np.random.default_rng(7).random((6, 1, 20, 20)).astype(np.float32))
    for threshold in (0.1, "median"):
        kw = dict(threshold=threshold, per_channel=per_channel, progress=False)
        host = cm.betti_profile(model, img.cuda(), device="cpu", **kw)
        gpu = cm.betti_profile(model, img.cuda(), **kw)
        np.testing.assert_array_equal(gpu.betti, host.betti)
