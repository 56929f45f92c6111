"""cuph.vr: Vietoris-Rips persistence (our H0 by Prim, giotto-ph for H>=1) against giotto-ph,
gudhi's RipsComplex and scipy's minimum spanning tree, on clouds with ties and duplicates."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cuph
import cuph.vr as vr
from cuph.diagrams import Diagrams

gph = pytest.importorskip("gph")
gudhi = pytest.importorskip("gudhi")
scipy_sparse = pytest.importorskip("scipy.sparse.csgraph")
from scipy.spatial.distance import pdist, squareform  # noqa: E402


def _sorted(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64).reshape(-1, 2)
    return arr[np.lexsort((arr[:, 1], arr[:, 0]))]


def _gudhi_dgm(points=None, dm=None, maxdim=1, dim=0):
    rc = gudhi.RipsComplex(points=points) if dm is None else gudhi.RipsComplex(distance_matrix=dm)
    st = rc.create_simplex_tree(max_dimension=maxdim + 1)
    st.compute_persistence(homology_coeff_field=2)
    return _sorted(st.persistence_intervals_in_dimension(dim))


def _tie_cloud(rng, n=14, d=2, high=3):
    """Integer coordinates in a small box: many equal distances and duplicate points."""
    x = rng.integers(0, high, size=(n, d)).astype(np.float64)
    x[1] = x[0]  # at least one duplicate
    return x


def _mst_lengths(dm: np.ndarray) -> np.ndarray:
    # scipy treats zeros as missing edges: lift zero off-diagonal distances to a tiny positive
    # value (smaller than every positive distance, so the tree is the same).
    d = dm.copy()
    off = ~np.eye(len(d), dtype=bool)
    eps = d[d > 0].min() * 1e-6
    d[off & (d == 0)] = eps
    t = scipy_sparse.minimum_spanning_tree(d).toarray()
    w = t[t > 0]
    w[w == eps] = 0.0
    return np.sort(w)


# ----------------------------------------------------------------------------- H0
@pytest.mark.parametrize("seed", range(6))
def test_h0_equals_scipy_mst(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((60, 7))
    x[5] = x[3]
    dg = vr.h0(x, keep_diagonal=True)
    finite = dg.death[np.isfinite(dg.death)]
    np.testing.assert_allclose(finite, _mst_lengths(squareform(pdist(x))), rtol=1e-12, atol=0)
    assert np.all(dg.birth == 0) and np.sum(~np.isfinite(dg.death)) == 1
    # Exactly on a distance matrix
    dm = squareform(pdist(x))
    dgm = vr.h0(distance_matrix=dm, keep_diagonal=True)
    np.testing.assert_array_equal(dgm.death[np.isfinite(dgm.death)], _mst_lengths(dm))


def test_h0_indices_are_mst_edges():
    rng = np.random.default_rng(1)
    x = rng.random((40, 3))
    dm = squareform(pdist(x))
    dg = vr.h0(x)
    fin = dg.death_index >= 0
    i, j = dg.unravel(dg.death_index[fin])
    np.testing.assert_allclose(dm[i, j], dg.death[fin], rtol=1e-12)
    assert np.all(i < j)
    bi, bj = dg.unravel(dg.birth_index)
    assert np.array_equal(bi, bj)  # births are vertices
    assert len(set(bi.tolist())) == len(bi)
    # The edges form a spanning tree: n - 1 edges connecting all vertices.
    edges = vr.mst_edges(dg)
    g = np.zeros((40, 40))
    g[edges[:, 1].astype(int), edges[:, 2].astype(int)] = 1
    n_comp, _ = scipy_sparse.connected_components(g, directed=False)
    assert len(edges) == 39 and n_comp == 1


@pytest.mark.parametrize("seed", range(5))
def test_ties_and_duplicates_vs_gph_and_gudhi(seed):
    rng = np.random.default_rng(100 + seed)
    x = _tie_cloud(rng)
    dg = vr.persistence(x, maxdim=1)
    ref = gph.ripser_parallel(x, maxdim=1)["dgms"]
    for k in (0, 1):
        ours = dg.in_dim(k)
        # giotto-ph works in float32; integer coordinates make its distances exact in float32
        # up to the rounding of the square root.
        np.testing.assert_array_equal(_sorted(ours.astype(np.float32)), _sorted(ref[k]))
        np.testing.assert_allclose(_sorted(ours), _gudhi_dgm(points=x, dim=k), rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_integer_distance_matrix_exact(seed):
    rng = np.random.default_rng(200 + seed)
    n = 12
    a = rng.integers(1, 5, size=(n, n)).astype(np.float64)
    dm = np.triu(a, 1)
    dm = dm + dm.T
    dm[2, 5] = dm[5, 2] = 0.0  # a duplicate-like zero distance
    dg = vr.persistence(distance_matrix=dm, maxdim=2)
    ref = gph.ripser_parallel(dm, metric="precomputed", maxdim=2)["dgms"]
    for k in (0, 1, 2):
        np.testing.assert_array_equal(_sorted(dg.in_dim(k)), _sorted(ref[k]))
        np.testing.assert_array_equal(_sorted(dg.in_dim(k)), _gudhi_dgm(dm=dm, maxdim=2, dim=k))
    # metric="precomputed" is the same as distance_matrix=
    dg2 = vr.persistence(dm, maxdim=2, metric="precomputed")
    np.testing.assert_array_equal(dg.death, dg2.death)


def test_random_float_clouds_vs_gph_and_gudhi(rng):
    x = rng.standard_normal((3, 40, 5))
    dg = vr.persistence(x, maxdim=1)
    assert dg.batch_shape == (3,) and dg.item_shape == (40, 40) and dg.construction == "VR"
    for c in range(3):
        ref = gph.ripser_parallel(x[c], maxdim=1)["dgms"]
        for k in (0, 1):
            ours = dg[c].in_dim(k)
            np.testing.assert_allclose(_sorted(ours), _sorted(ref[k]), rtol=1e-5)
            np.testing.assert_allclose(_sorted(ours), _gudhi_dgm(points=x[c], dim=k), rtol=1e-12)


def test_higher_dim_indices_give_values(rng):
    x = rng.standard_normal((50, 3))
    dm = squareform(pdist(x))
    dg = vr.persistence(x, maxdim=2)
    for k in (1, 2):
        sel = dg.dim == k
        i, j = dg.unravel(dg.birth_index[sel])
        np.testing.assert_allclose(dm[i, j], dg.birth[sel], rtol=1e-12)
        fin = sel & (dg.death_index >= 0)
        i, j = dg.unravel(dg.death_index[fin])
        np.testing.assert_allclose(dm[i, j], dg.death[fin], rtol=1e-12)


def test_higher_dims_match_gph_values_many_threads():
    # cuph on 4 threads gives giotto-ph's one-thread diagram (up to float32 rounding).
    x = np.random.default_rng(0).standard_normal((300, 256))
    dg = vr.persistence(x, maxdim=1, n_threads=4)
    ref = gph.ripser_parallel(x, maxdim=1, n_threads=1)["dgms"][1]
    assert len(dg.in_dim(1)) == len(ref)
    assert gudhi.bottleneck_distance(dg.in_dim(1), ref, e=0) <= 1e-5 * ref.max()


def test_many_threads_equal_one_thread_and_indices_give_values():
    # 500 Gaussian points in 512-d: giotto-ph 0.2.4 on several threads records stale birth
    # edges for 1-3% of these H1 pairs, and once (CI, under ASan) lost a pair. cuph's results
    # do not depend on n_threads, and every birth index is an edge of that float64 length.
    x = np.random.default_rng(0).standard_normal((500, 512))
    one = vr.persistence(x, maxdim=1, n_threads=1)
    for threads in (2, 4):
        many = vr.persistence(x, maxdim=1, n_threads=threads)
        for f in ("dim", "birth", "death", "birth_index", "death_index"):
            np.testing.assert_array_equal(getattr(many, f), getattr(one, f))
        sel = many.dim == 1
        i, j = many.unravel(many.birth_index[sel])
        np.testing.assert_allclose(np.linalg.norm(x[i] - x[j], axis=1), many.birth[sel],
                                   rtol=1e-13)


@pytest.mark.parametrize("memory_limit", [1 << 30, 0])
def test_giotto_ph_runs_on_one_thread(monkeypatch, memory_limit):
    # giotto-ph's multi-threaded reduction is not deterministic (stale generators; a lost pair
    # once): whatever n_threads says, cuph calls it with one thread, on both input paths.
    calls = []
    real = gph.ripser_parallel

    def spy(*args, **kwargs):
        calls.append(kwargs.get("n_threads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(gph, "ripser_parallel", spy)
    x = np.random.default_rng(2).standard_normal((2, 40, 6))
    dg = vr.persistence(x, maxdim=2, n_threads=3, memory_limit=memory_limit)
    assert calls == [1, 1]
    assert dg.batch_shape == (2,) and (dg.dim == 1).any()


def test_points_path_when_matrices_do_not_fit(rng):
    # memory_limit too small for the matrices: giotto-ph gets points, on one thread.
    x = rng.standard_normal((60, 5))
    ref = vr.persistence(x, maxdim=2)
    small = vr.persistence(x, maxdim=2, memory_limit=0, n_threads=2)
    for k in (0, 1, 2):
        np.testing.assert_allclose(_sorted(small.in_dim(k)), _sorted(ref.in_dim(k)), rtol=1e-12)


def test_threads_and_memory_paths_identical(rng):
    # A cloud big enough for the in-Prim thread team, and the O(n)-memory path.
    x = rng.standard_normal((700, 33))
    x[10] = x[20]
    ref = vr.h0(x, n_threads=1, keep_diagonal=True)
    for threads, mem in ((2, 1 << 30), (3, 1 << 30), (1, 0), (2, 0)):
        dg = vr.h0(x, n_threads=threads, memory_limit=mem, keep_diagonal=True)
        for f in ("death", "birth_index", "death_index"):
            np.testing.assert_array_equal(getattr(dg, f), getattr(ref, f))
    # a batch spread over threads equals cloud by cloud
    xs = rng.standard_normal((5, 80, 4))
    batch = vr.h0(xs, n_threads=2)
    for c in range(5):
        np.testing.assert_array_equal(batch[c].death, vr.h0(xs[c], n_threads=1).death)


def _adversarial_clouds():
    """Clouds that stress the float32 filter of H0: ties, duplicates, near-duplicates, a far
    offset, tiny (float32-subnormal) and huge (float32-overflowing) scales, mixed scales, and
    coordinate counts around the filter's minimum and its padding."""
    rng = np.random.default_rng(11)
    g = rng.standard_normal((150, 40))
    near = g.copy()
    near[1] = near[0]
    near[3] = near[2] + 1e-13
    near[5] = near[4] * (1 + 1e-9)
    lattice = rng.integers(0, 3, (150, 24)).astype(np.float64)  # many equal distances
    mixed = g.copy()
    mixed[:, 0] *= 1e6
    mixed[:, 1:] *= 1e-6
    clouds = {"gaussian with near-duplicates": near, "integer lattice": lattice,
              "far offset": 1e8 + 1e-3 * g, "tiny": 1e-40 * g, "huge": 1e20 * g,
              "mixed scales": mixed, "one coordinate apart": np.eye(150, 40),
              "float32-overflowing norms": 1e150 * g}
    for d in (15, 16, 17, 33):
        clouds[f"{d} coordinates"] = rng.integers(0, 4, (120, d)) * 0.25
    return clouds


@pytest.mark.parametrize("name", list(_adversarial_clouds()))
def test_float32_filter_gives_the_exact_tree(name):
    # The filtered matrix path (float32 lower bounds, exact distances only where a bound is
    # below the key) must give the very tree of the exact O(n)-memory path: same values, same
    # edges, on 1 and 2 threads, with and without a threshold.
    x = _adversarial_clouds()[name]
    for threshold in (np.inf, float(np.median(pdist(x[:40])))):
        ref = vr.h0(x, n_threads=1, memory_limit=0, keep_diagonal=True, threshold=threshold)
        for threads in (1, 2):
            dg = vr.h0(x, n_threads=threads, keep_diagonal=True, threshold=threshold)
            for f in ("death", "birth_index", "death_index"):
                np.testing.assert_array_equal(getattr(dg, f), getattr(ref, f), err_msg=f)


@pytest.mark.parametrize("name", list(_adversarial_clouds()))
def test_float32_lower_bounds_are_below_the_exact_distances(name):
    x = _adversarial_clouds()[name]
    lb = cuph._core.vr_lower_bounds(x)
    if lb is None:  # the filter does not apply: no AVX2, < 16 coordinates, or out of range
        assert (not _avx2()) or x.shape[1] < 16 or np.abs(x - x.mean(0)).max() > 1e17
        return
    exact = cuph._core.vr_distance_matrix(x, "euclidean", 1) ** 2
    off = ~np.eye(len(x), dtype=bool)
    assert lb.dtype == np.float32 and (lb[off] >= 0).all()
    assert (lb[off].astype(np.float64) <= exact[off]).all()
    if name == "gaussian with near-duplicates":
        # and tight enough to filter: within 1e-4 of the exact value for typical pairs
        pos = off & (exact > 0)
        assert np.median(lb[pos] / exact[pos]) > 1 - 1e-4


def _avx2() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx2 " in flags and " fma " in flags and not os.environ.get("CUPH_DISABLE_AVX2")


def test_portable_kernel_matches(tmp_path):
    # The scalar (non-AVX2) Euclidean kernel, in a fresh process, gives the same tree.
    import subprocess
    import sys

    x = np.random.default_rng(7).standard_normal((300, 37))
    x[3] = x[4]
    np.save(tmp_path / "x.npy", x)
    code = ("import numpy as np, cuph.vr as vr; x = np.load(%r); dg = vr.h0(x, keep_diagonal=True);"
            "np.save(%r, np.c_[dg.death, dg.death_index])") % (str(tmp_path / "x.npy"),
                                                              str(tmp_path / "out.npy"))
    env = dict(os.environ, CUPH_DISABLE_AVX2="1",
               PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    out = np.load(tmp_path / "out.npy")
    dg = vr.h0(x, keep_diagonal=True)
    np.testing.assert_allclose(out[:, 0], dg.death, rtol=1e-13)
    np.testing.assert_allclose(out[:, 0], np.r_[_mst_lengths(squareform(pdist(x))), np.inf],
                               rtol=1e-13)


def test_threshold_components(rng):
    x = np.concatenate([rng.random((20, 2)), rng.random((15, 2)) + 10, rng.random((5, 2)) - 10])
    dg = vr.persistence(x, maxdim=1, threshold=2.0)
    assert dg.betti_numbers()[0] == 3
    assert np.all(dg.death[np.isfinite(dg.death)] <= 2.0)
    ref = gph.ripser_parallel(x, maxdim=1, thresh=2.0)["dgms"]
    for k in (0, 1):
        np.testing.assert_allclose(_sorted(dg.in_dim(k)), _sorted(ref[k]), rtol=1e-5)


def test_threshold_exactly_at_an_edge_length():
    # Edges of length exactly `threshold` exist (as in giotto-ph: d <= threshold), also when
    # the threshold's square is not representable.
    t = 0.1
    x = np.array([[0.0, 0.0], [t, 0.0], [3 * t, 0.0]])
    dg = vr.h0(x, threshold=float(np.sqrt(np.sum((x[0] - x[1]) ** 2))))
    assert dg.betti_numbers()[0] == 2 and len(dg.death) == 3
    for thr in (np.sqrt(2.0), 0.3, 1e-3, 7.0):
        pts = np.array([[0.0, 0.0], [thr, 0.0]])
        d = float(np.sqrt(np.sum((pts[0] - pts[1]) ** 2)))
        assert vr.h0(pts, threshold=d).betti_numbers()[0] == 1
        assert vr.h0(pts, threshold=np.nextafter(d, 0)).betti_numbers()[0] == 2


@pytest.mark.parametrize("metric", ["manhattan", "chebyshev", "cosine"])
def test_other_metrics(rng, metric):
    x = rng.random((30, 4))
    dm = squareform(pdist(x, metric={"manhattan": "cityblock"}.get(metric, metric)))
    dg = vr.persistence(x, maxdim=1, metric=metric)
    ref = vr.persistence(distance_matrix=dm, maxdim=1)
    for k in (0, 1):
        np.testing.assert_allclose(_sorted(dg.in_dim(k)), _sorted(ref.in_dim(k)), rtol=1e-12)


def test_inputs_lists_torch_like_and_lazy_attr(rng):
    clouds = [rng.random((10, 2)) for _ in range(3)]
    a = vr.persistence(clouds, maxdim=0)
    b = cuph.vr.persistence(np.stack(clouds), maxdim=0)
    np.testing.assert_array_equal(a.death, b.death)
    assert a.batch_shape == (3,)
    one = vr.persistence(clouds[0].astype(np.float32).tolist(), maxdim=0)
    assert one.batch_shape == () and one.n_items == 1
    assert isinstance(one, Diagrams)


def test_diagrams_roundtrip(tmp_path, rng):
    dg = vr.persistence(rng.random((2, 15, 3)), maxdim=1)
    dg.save(tmp_path / "vr.npz")
    back = Diagrams.load(tmp_path / "vr.npz")
    assert back.construction == "VR"
    np.testing.assert_array_equal(back.death, dg.death)
    assert len(dg.to_gudhi()) == 2


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, kwargs, match", [
    (np.array([[0.0, np.nan], [1, 1], [2, 2]]), {}, "NaN at index"),
    (np.array([[0.0, np.inf], [1, 1], [2, 2]]), {}, "inf at index"),
    (np.zeros((1, 3)), {}, "at least 2 points"),
    ([np.zeros((4, 2)), np.zeros((5, 2))], {}, "different shapes"),
    ([[0.0, 1.0], [1.0]], {}, "ragged|cannot be read"),
    (np.zeros((3, 4)), {"metric": "precomputed"}, "must be square"),
    (np.array([[0.0, 1, 2], [1, 0, 3], [2, 4, 0]]), {"metric": "precomputed"},
     r"not symmetric: d\[1, 2\] = 3.0 but d\[2, 1\] = 4.0"),
    (np.array([[0.0, -1], [-1, 0]]), {"metric": "precomputed"}, "negative distance"),
    (np.array([[1.0, 1], [1, 0]]), {"metric": "precomputed"}, "diagonal must be zero"),
    (np.zeros((3, 2)), {"maxdim": -1}, "maxdim"),
    (np.zeros((3, 2)), {"threshold": -1.0}, "threshold"),
    (np.zeros((3, 2)), {"threshold": float("nan")}, "threshold"),
    (np.zeros((3, 2)), {"n_threads": 0}, "n_threads"),
    (np.zeros((3, 2)), {"metric": "nonsense"}, "metric"),
    (np.zeros((2, 3, 4, 5)), {}, "expected shape"),
    (np.array([[0.0, 0.0], [1e160, 0.0]]), {}, "too wide for float64 euclidean"),
    (np.array([[0.0, -1e308], [1.0, 1e308]]), {"metric": "chebyshev"}, "too wide"),
])
def test_bad_input(bad, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        vr.persistence(bad, **kwargs)


def test_points_or_matrix_not_both():
    with pytest.raises(TypeError, match="exactly one"):
        vr.persistence(np.zeros((3, 2)), distance_matrix=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="exactly one"):
        vr.persistence()
    with pytest.raises(TypeError, match="points"):
        vr.persistence("abc")


def test_distance_matrix_and_edge_length_kernels(rng):
    from cuph import _core

    x = rng.standard_normal((40, 7))
    for metric, ref in (("euclidean", "euclidean"), ("manhattan", "cityblock"),
                        ("chebyshev", "chebyshev")):
        d = _core.vr_distance_matrix(x, metric, 2)
        np.testing.assert_allclose(d, squareform(pdist(x, ref)), rtol=1e-13, atol=1e-13)
        i, j = np.triu_indices(40, 1)
        np.testing.assert_array_equal(_core.vr_edge_lengths(x, i, j, metric), d[i, j])
    with pytest.raises(ValueError, match="precomputed"):
        _core.vr_distance_matrix(squareform(pdist(x)), "precomputed", 1)
