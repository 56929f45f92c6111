"""The GPU engine's kernels for dimensions 0 and d-1 of 2-D to 4-D items (cuda/cubical_nd.cuh),
and the hybrid that completes 3-D and 4-D diagrams with the CPU engine's middle dimensions.

Without a GPU the kernels run through the CPU launcher in ``cuph._core`` (``_portable_nd``,
``engine="portable"``): every pair and index of dimensions 0 and d-1 must be the CPU engine's,
on ties, degenerate shapes, every dtype, views, superlevel filtrations, smooth and noise
volumes, with threads racing inside one item, and over several runs. Tests marked ``gpu`` run
the CUDA launcher and skip without a usable device.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

import cuph
from cuph import _core
from cuph.engine import _persistence

from reference import gudhi_pairs, cuph_pairs

SHAPES = [(1, 1, 1), (2, 2, 2), (1, 5, 6), (5, 1, 6), (6, 5, 1), (7, 1, 1), (3, 4, 5), (6, 6, 6),
          (9, 7, 8), (1, 1, 1, 1), (2, 2, 2, 2), (3, 1, 4, 2), (4, 3, 5, 3), (6, 5), (1, 9), (9, 1)]
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
          np.uint16, np.uint32, np.uint64, np.bool_]


def full_rows(raw, maxdim, dims):
    """The rows of a core result's groups of dimensions `dims`, every field, per (item, dim)."""
    off = np.asarray(raw["offsets"])
    groups = maxdim + 1
    out = []
    for g in range(len(off) - 1):
        item, k = divmod(g, groups)
        if k not in dims:
            continue
        s, e = off[g], off[g + 1]
        assert (np.asarray(raw["dim"][s:e]) == k).all()
        out.append(sorted(zip([item] * (e - s), np.asarray(raw["birth"][s:e]).tolist(),
                              np.asarray(raw["death"][s:e]).tolist(),
                              np.asarray(raw["birth_index"][s:e]).tolist(),
                              np.asarray(raw["death_index"][s:e]).tolist())))
    return out


def check_against_cpu(x, construction, batch_dims=1, superlevel=False, maxdim=None, **kw):
    """_portable_nd's dimensions 0 and d-1 equal the CPU engine's (every field, per group), and
    its middle groups are empty."""
    d = x.ndim - batch_dims
    maxdim = d - 1 if maxdim is None else maxdim
    got = _core._portable_nd(x, maxdim, construction, batch_dims, kw.pop("n_threads", 1),
                             superlevel, **kw)
    want = _core.compute(x, maxdim, construction, batch_dims, 1, superlevel, False)
    ends = {0, d - 1} & set(range(maxdim + 1))
    assert full_rows(got, maxdim, ends) == full_rows(want, maxdim, ends)
    middle = set(range(maxdim + 1)) - ends
    assert all(not rows for rows in full_rows(got, maxdim, middle))
    assert got["birth"].dtype == want["birth"].dtype
    return got


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_cpu_engine_on_ties(construction, shape):
    rng = np.random.default_rng(sum(shape) * 7 + len(shape))
    for levels in (2, 3, 50):
        x = rng.integers(0, levels, (4,) + shape).astype(np.float32)
        for superlevel in (False, True):
            check_against_cpu(x, construction, superlevel=superlevel)
    for maxdim in range(len(shape)):  # one pass below d-1
        check_against_cpu(rng.integers(0, 3, (2,) + shape).astype(np.float32), construction,
                          maxdim=maxdim)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_noise_and_smooth_volumes(construction):
    """float64 (ranked words), white noise and smooth volumes, where the trees are deep (long
    descents) or many (one per minimum)."""
    rng = np.random.default_rng(11)
    for shape in [(18, 20, 19), (9, 10, 8, 7), (60, 50)]:
        noise = rng.random((2,) + shape)
        smooth = ndi.gaussian_filter(noise, (0,) + (2.0,) * len(shape))
        for x in (noise, smooth):
            for superlevel in (False, True):
                check_against_cpu(x, construction, superlevel=superlevel)


@pytest.fixture
def fine_blocks():
    """Blocks of 3 elements on 2 threads: both threads work on the same item at once."""
    old = _core._portable_block(3)
    yield
    _core._portable_block(old)


def test_threads_in_one_item_and_runs(fine_blocks):
    """Concurrent flattening (path halving by several bodies), counts and slots under
    contention, and batches cut into runs, with rows written in place or downloaded."""
    rng = np.random.default_rng(5)
    for construction in "VT":
        for x in (rng.integers(0, 3, (3, 14, 13, 12)).astype(np.float32),
                  ndi.gaussian_filter(rng.random((3, 16, 15, 14)), (0, 2, 2, 2))):
            for items_per_run in (0, 1, 2):
                for direct in (True, False):
                    check_against_cpu(x, construction, n_threads=2, items_per_run=items_per_run,
                                      direct=direct)


@pytest.fixture
def sort_switch():
    before = _core._portable_replay()
    yield
    _core._portable_replay(sort_above=before["sort_above"], forest=before["forest"])


@pytest.mark.parametrize("construction", ["V", "T"])
def test_spanning_forest_keeps_every_pair(construction, sort_switch):
    """Boruvka's rounds reduce the candidate joins to their minimum spanning forest (one join
    per class left to replay, about) and the pairs are those of all the candidates; with
    threads racing in the rounds (fine launcher blocks) and batches of several items."""
    rng = np.random.default_rng(19)
    old_block = _core._portable_block(3)
    try:
        for x in (rng.integers(0, 3, (4, 9, 8, 7)).astype(np.float32),
                  ndi.gaussian_filter(rng.random((2, 16, 15, 14)), (0, 2, 2, 2)),
                  rng.random((3, 5, 4, 6, 3))):
            for superlevel in (False, True):
                got = {}
                for forest in (False, True):
                    _core._portable_replay(forest=forest)
                    before = _core._portable_replay()
                    got[forest] = check_against_cpu(x, construction, superlevel=superlevel,
                                                    n_threads=2)
                    after = _core._portable_replay()
                    candidates = after["candidates"] - before["candidates"]
                    edges = after["forest_edges"] - before["forest_edges"]
                    assert candidates > 0 and (edges == 0 if not forest else 0 < edges < candidates)
                    if forest:  # at most a join per root, at least one per finite pair
                        finite = int((np.asarray(got[forest]["death_index"]) >= 0).sum())
                        assert finite <= edges < 2 * x.size
    finally:
        _core._portable_block(old_block)


@pytest.mark.parametrize("construction", ["V", "T"])
def test_sorting_network_equals_the_replay_threads_sort(construction, sort_switch):
    """The candidates of a pass sorted over the whole batch by the bitonic network (entries
    carrying their item, padded to a power of two) give every pair of the replay thread's
    heap sort; the switch's threshold picks it per pass, and the runs that took it count."""
    rng = np.random.default_rng(13)
    batches = [rng.integers(0, 3, (5, 7, 6, 5)).astype(np.float32),
               rng.random((3, 9, 8, 7)),
               ndi.gaussian_filter(rng.random((2, 12, 11, 10)), (0, 1.5, 1.5, 1.5)),
               rng.integers(0, 4, (3, 4, 3, 5, 3)).astype(np.float32),
               rng.integers(0, 2, (1, 1, 1, 1)).astype(np.float32)]
    for x in batches:
        for superlevel in (False, True):
            for above in (0, 5, 2**40):
                _core._portable_replay(sort_above=above)
                before = _core._portable_replay()["network_sorts"]
                got = check_against_cpu(x, construction, superlevel=superlevel, n_threads=2,
                                        items_per_run=2 if above == 5 else 0)
                sorts = _core._portable_replay()["network_sorts"] - before
                if above == 0 and x[0].size > 1:  # items of one cell have no candidates
                    assert sorts > 0
                if above == 2**40:
                    assert sorts == 0
                assert len(got["dim"]) >= x.shape[0]  # an essential class per item


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(dtype):
    rng = np.random.default_rng(3)
    top = 2 if dtype == np.bool_ else 9
    x = rng.integers(0, top, (3, 5, 6, 4)).astype(dtype)
    for construction in "VT":
        check_against_cpu(x, construction)
    if np.dtype(dtype).kind in "fi":
        check_against_cpu((x.astype(np.float64) - 4).astype(dtype), "V", superlevel=True)


def test_wide_values_and_views():
    """64-bit values beyond 2^32 apart (ranked on the host), and reversed, transposed and
    strided views read in place."""
    rng = np.random.default_rng(17)
    big = rng.integers(-2**40, 2**40, (2, 7, 6, 5)).astype(np.int64)
    big[:, ::2] = big[:, 1::2].min()  # ties among the wide values too
    for construction in "VT":
        check_against_cpu(big, construction)
        base = rng.integers(0, 4, (3, 12, 10, 14)).astype(np.float32)
        for view in (base[:, ::-1, :, ::2], base.transpose(0, 3, 1, 2), base[::2, 1:, ::-3]):
            got = check_against_cpu(view, construction)
            copy = np.ascontiguousarray(view)
            assert full_rows(got, 2, {0, 2}) == full_rows(
                _core._portable_nd(copy, 2, construction, 1, 1, False), 2, {0, 2})


def test_nan_and_bad_input():
    y = np.zeros((4, 3, 3, 3), np.float32)
    y[2, 1, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN at index \(2, 1, 0, 2\)"):
        _core._portable_nd(y, 2, "V", 1, 1, False, items_per_run=1)
    with pytest.raises(ValueError, match=r"NaN at index \(2, 1, 0, 2\)"):
        _persistence(y, None, "T", 1, 1, False, False, None, "portable")
    with pytest.raises(ValueError, match="2-D to 4-D"):
        _core._portable_nd(np.zeros((3, 4)), 0, "V", 1, 1, False)
    with pytest.raises(ValueError, match="maxdim"):
        _core._portable_nd(np.zeros((3, 3, 3)), 3, "V", 0, 1, False)
    with pytest.raises(ValueError, match="construction"):
        _core._portable_nd(np.zeros((3, 3, 3)), 2, "X", 0, 1, False)
    with pytest.raises(ValueError, match="items_per_run"):
        _core._portable_nd(np.zeros((3, 3, 3)), 2, "V", 0, 1, False, items_per_run=-1)


def test_tree_labels_are_roots_under_contention(tmp_path):
    """tests/cpp/forest_labels.cpp: after every exact flattening launch (the forest's and each
    Boruvka round's) every label is its tree's root, with the bodies of neighbouring nodes
    racing (the candidates and the rounds compare labels as tree names)."""
    import shutil
    import subprocess
    from pathlib import Path

    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("needs a C++ compiler")
    root = Path(__file__).resolve().parents[1]
    exe = tmp_path / "forest_labels"
    subprocess.run([cxx, "-O2", "-std=c++17", f"-I{root}", f"-I{root / 'cpp' / 'include'}",
                    str(root / "tests" / "cpp" / "forest_labels.cpp"), "-o", str(exe),
                    "-lpthread"], check=True, capture_output=True, text=True, timeout=600)
    out = subprocess.run([str(exe), "36", "2", "8"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("stale 0"), out.stdout


def kernel(x, **kw):
    return _persistence(x, kw.pop("maxdim", None), kw.pop("construction", "V"),
                        kw.pop("batch_dims", 0), kw.pop("n_threads", 1),
                        kw.pop("superlevel", False), False, kw.pop("max_memory", None),
                        "portable")


def diagram_rows(dg):
    return sorted(zip(dg.item.tolist(), dg.dim.tolist(), dg.birth.tolist(), dg.death.tolist(),
                      dg.birth_index.tolist(), dg.death_index.tolist()))


@pytest.mark.parametrize("construction", ["V", "T"])
def test_hybrid_diagrams_equal_the_cpu_engine(construction, monkeypatch):
    """The GPU engine's result for 3-D and 4-D items (its kernels' dimensions 0 and d-1, the CPU
    engine's middle dimensions, merged group by group) is the CPU engine's, every field and in
    the same layout, for every maxdim, in chunks too; and gudhi's pairs."""
    rng = np.random.default_rng(23)
    for shape in [(2, 7, 6, 5), (2, 4, 5, 3, 4), (3, 1, 6, 1), (1, 2, 2, 2, 2)]:
        x = rng.integers(0, 4, shape).astype(np.float32)
        d = len(shape) - 1
        for maxdim in [None] + list(range(d)):
            for superlevel in (False, True):
                got = kernel(x, construction=construction, batch_dims=1, maxdim=maxdim,
                             superlevel=superlevel)
                want = cuph.persistence(x, construction=construction, batch_dims=1,
                                        maxdim=maxdim, superlevel=superlevel, device="cpu")
                assert diagram_rows(got) == diagram_rows(want)
                np.testing.assert_array_equal(got.offsets, want.offsets)
                np.testing.assert_array_equal(got.dim, want.dim)
                assert got.maxdim == want.maxdim and got.birth.dtype == want.birth.dtype
    x = rng.integers(0, 5, (5, 6, 7, 5)).astype(np.float32)
    calls = []
    portable = _core._portable_nd
    monkeypatch.setattr(_core, "_portable_nd", lambda v, *a: calls.append(len(v)) or portable(v, *a))
    limit = cuph.estimate_memory((2, 6, 7, 5), x.dtype, construction, batch_dims=1, n_threads=1)
    got = kernel(x, construction=construction, batch_dims=1, max_memory=limit)  # in chunks
    assert len(calls) > 1 and sum(calls) == 5
    want = cuph.persistence(x, construction=construction, batch_dims=1, device="cpu")
    assert diagram_rows(got) == diagram_rows(want)
    np.testing.assert_array_equal(got.offsets, want.offsets)
    monkeypatch.undo()
    for item in (rng.integers(0, 3, (6, 5, 7)).astype(np.float64),
                 ndi.gaussian_filter(rng.random((8, 9, 7)), 1.5)):
        assert cuph_pairs(kernel(item, construction=construction)) == gudhi_pairs(item, construction)


class FakeCupyArray:
    """A cupy-like GPU array over host data (``__cuda_array_interface__``; ``get()`` copies)."""

    def __init__(self, host):
        self._host = host
        self.shape = host.shape
        self.__cuda_array_interface__ = {"shape": host.shape, "typestr": host.dtype.str,
                                         "data": (1234, False), "strides": host.strides,
                                         "version": 3, "stream": None}

    def get(self):
        return self._host.copy()


def test_device_arrays_of_3d_items(monkeypatch):
    """A 3-D GPU array goes to the GPU entry point read in place (shape and byte strides); the
    middle dimension comes from a host copy, and then the results are numpy. 'auto' takes the
    GPU engine only when no middle dimension is asked for (maxdim=0). The entry point is stood
    in for by the CPU launcher on the array's host data."""
    _cuda = pytest.importorskip("cuph._cuda")
    import cuph.engine

    monkeypatch.setattr(cuph.engine, "cuda_available", lambda: True)
    host = np.random.default_rng(41).integers(0, 4, (3, 6, 5, 7)).astype(np.float32)[:, ::-1]
    seen = []

    def compute_device(ptr, shape, strides, code, stream, maxdim, construction, batch_dims,
                       superlevel, max_bytes, on_device):
        seen.append((tuple(shape), tuple(strides), maxdim, on_device))
        base = host[:, ::-1]  # the memory the reversed view starts in
        view = np.lib.stride_tricks.as_strided(base[:, -1:], shape, strides)
        return _core._portable_nd(view, maxdim, construction, batch_dims, 1, superlevel)

    monkeypatch.setattr(_cuda, "compute_device", compute_device)
    for construction in "VT":
        for device, maxdim in (("cuda", None), ("cuda", 1), ("auto", 0)):
            got = cuph.persistence(FakeCupyArray(host), batch_dims=1, construction=construction,
                                   maxdim=maxdim, device=device)
            want = cuph.persistence(host, batch_dims=1, construction=construction,
                                    maxdim=maxdim, device="cpu")
            assert type(got) is cuph.Diagrams and diagram_rows(got) == diagram_rows(want)
            assert seen[-1][:3] == (host.shape, host.strides, 2 if maxdim is None else maxdim)
            assert not seen[-1][3]  # a producer other than torch or cupy: numpy results
    # The CPU engine's part of a device batch runs in chunks within max_memory.
    limit = cuph.estimate_memory((1,) + host.shape[1:], host.dtype, batch_dims=1)
    chunks = []
    compute = _core.compute
    monkeypatch.setattr(_core, "compute", lambda v, *a: chunks.append(len(v)) or compute(v, *a))
    got = cuph.persistence(FakeCupyArray(host), batch_dims=1, device="cuda", max_memory=limit)
    monkeypatch.setattr(_core, "compute", compute)
    assert len(chunks) > 1 and sum(chunks) == len(host)
    assert diagram_rows(got) == diagram_rows(cuph.persistence(host, batch_dims=1, device="cpu"))
    calls = len(seen)
    got = cuph.persistence(FakeCupyArray(host), batch_dims=1)  # auto, maxdim 2: the CPU's
    assert len(seen) == calls and diagram_rows(got) == diagram_rows(
        cuph.persistence(host, batch_dims=1, device="cpu"))
    # A producer whose arrays wrap the device columns (torch, cupy): without the hybrid
    # (maxdim 0) the result stays on the device; with it, numpy.
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(cuph.engine, "_device_wrapper",
                        lambda owner: lambda a: torch.from_numpy(np.asarray(a)))
    for maxdim, kind in ((0, cuph.DeviceDiagrams), (1, cuph.Diagrams), (None, cuph.Diagrams)):
        got = cuph.persistence(FakeCupyArray(host), batch_dims=1, maxdim=maxdim, device="cuda")
        want = cuph.persistence(host, batch_dims=1, maxdim=maxdim, device="cpu")
        assert type(got) is kind and seen[-1][3] == (kind is cuph.DeviceDiagrams)
        if kind is cuph.DeviceDiagrams:
            assert not got.on_host and isinstance(got.device_columns["birth"], torch.Tensor)
        assert diagram_rows(got) == diagram_rows(want)


requires_gpu = pytest.mark.skipif(not cuph.cuda_available(), reason="no usable CUDA device")


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("construction", ["V", "T"])
def test_cuda_nd_kernels_match_cpu(construction):
    from cuph import _cuda

    rng = np.random.default_rng(31)
    for shape in SHAPES + [(40, 40, 40), (12, 12, 12, 12)]:
        for levels in (3, 1000):
            x = rng.integers(0, levels, (8,) + shape).astype(np.float32)
            d = len(shape)
            for superlevel in (False, True):
                got = _cuda.compute(x, d - 1, construction, 1, 1, superlevel)
                want = _core.compute(x, d - 1, construction, 1, 1, superlevel, False)
                ends = {0, d - 1}
                assert full_rows(got, d - 1, ends) == full_rows(want, d - 1, ends)
    vol = ndi.gaussian_filter(rng.random((96, 96, 96)), 3).astype(np.float32)
    got = _cuda.compute(vol[None], 2, construction, 1, 1, False)
    want = _core.compute(vol[None], 2, construction, 1, 1, False, False)
    assert full_rows(got, 2, {0, 2}) == full_rows(want, 2, {0, 2})


@pytest.mark.gpu
@requires_gpu
def test_cuda_hybrid_from_torch_cuda_tensor():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    rng = np.random.default_rng(2)
    x = rng.integers(0, 6, (4, 20, 18, 16)).astype(np.float32)
    t = torch.as_tensor(x, device="cuda")
    for maxdim, kind in ((None, cuph.Diagrams), (0, cuph.DeviceDiagrams)):
        got = cuph.persistence(t, batch_dims=1, maxdim=maxdim, device="cuda")
        want = cuph.persistence(x, batch_dims=1, maxdim=maxdim, device="cpu")
        assert type(got) is kind and diagram_rows(got) == diagram_rows(want)


def test_compare_gpu_script_checks_every_row(tmp_path):
    """bench/compare_gpu.py, small: every row of its three tables (2-D batches, Betti numbers,
    3-D volumes alone and in a batch) is checked against the CPU engine inside the script, so
    a run without a GPU exercises the rows a GPU session will time."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("gudhi")
    pytest.importorskip("cripser")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)  # the script imports the cuph this test imported (installed or not)
    paths = (str(Path(cuph.__file__).resolve().parents[1]), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "compare_gpu.py"), "--items", "6", "--size", "9",
         "--reps", "1", "--gudhi-items", "3", "--volumes", "9x8x7,2:6x5x7", "--no-write"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for case in ("2d-T-noise", "betti-V-smooth", "3d-V-noise-9x8x7", "3d-V-smooth-2:6x5x7"):
        assert case in out.stdout
    assert "GPU kernels on the CPU launcher, maxdim 0" in out.stdout


def test_compare_gpu_profile_mode(tmp_path):
    """bench/compare_gpu.py --profile, small, on the CPU launcher: both calls checked against
    the CPU engine, and a table of their steps (the device session reads it to find the costly
    launches)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    paths = (str(Path(cuph.__file__).resolve().parents[1]), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "compare_gpu.py"), "--profile", "--items", "5",
         "--size", "9", "--reps", "1", "--profile-volume", "7x6x5", "--no-write"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "### 2d-T-noise 5x9x9" in out.stdout and "### 3d-V-noise-7x6x5 1x7x6x5" in out.stdout
    for step in ("| pack_key ", "| node_key ", "| alloc "):
        assert step in out.stdout, out.stdout
