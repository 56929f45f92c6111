"""cuph.landscape: graph persistence against Kruskal and gudhi, the cubical engine on grids,
analytic landscapes with known minima and saddles, barcode table and TO-score, bad input."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import cuph
from cuph.landscape import (
    MinimaBarcode, graph_persistence, grid_graph, knn_graph, minima_barcode, to_score,
)


# ----------------------------------------------------------------------------- references
def kruskal_reference(values, edges):
    """Plain Kruskal with the elder rule: (finite pairs, essential births, cycle births)."""
    n = len(values)
    parent = list(range(n))
    key = lambda v: (values[v], v)  # noqa: E731  the total order of vertices

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    order = sorted(((max(key(u), key(v)), u, v) for u, v in edges if u != v))
    pairs, cycles = [], []
    for (_, hi), u, v in order:
        a, b = find(u), find(v)
        if a == b:
            cycles.append(values[hi])
            continue
        young, old = (a, b) if key(a) > key(b) else (b, a)
        parent[young] = old
        if values[young] != values[hi]:
            pairs.append((values[young], values[hi]))
    essential = [values[v] for v in range(n) if find(v) == v]
    return Counter(pairs), Counter(essential), Counter(cycles)


def split(dg, dim=0):
    rows = dg.in_dim(dim)
    fin = np.isfinite(rows[:, 1])
    return (Counter(map(tuple, rows[fin].tolist())), Counter(rows[~fin, 0].tolist()))


def random_graph(rng, n, m, levels):
    values = rng.integers(0, levels, n).astype(np.float64)  # many ties
    edges = rng.integers(0, n, (m, 2))
    return values, edges


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("n,m,levels", [(1, 0, 1), (2, 1, 1), (8, 12, 3), (40, 60, 5),
                                        (200, 500, 7), (300, 250, 1000)])
def test_graph_matches_kruskal(rng, n, m, levels):
    for _ in range(5):
        values, edges = random_graph(rng, n, m, levels)
        ref_pairs, ref_ess, ref_cyc = kruskal_reference(values.tolist(), edges.tolist())
        dg = graph_persistence(values, edges, maxdim=1)
        pairs, ess = split(dg, 0)
        assert pairs == ref_pairs
        assert ess == ref_ess
        # dimension 1 sees the simple graph (repeated edges merged)
        simple = sorted({tuple(sorted(e)) for e in edges.tolist() if e[0] != e[1]})
        assert split(dg, 1)[1] == kruskal_reference(values.tolist(), simple)[2]
        assert sum(ref_cyc.values()) >= sum(split(dg, 1)[1].values())
        # indices point at the values they report
        assert np.array_equal(values[dg.birth_index], dg.birth)
        fin = dg.death_index >= 0
        assert np.array_equal(values[dg.death_index[fin]], dg.death[fin])
        assert np.all(dg.death_index[(dg.dim == 0) & ~fin] == -1)


def test_graph_matches_gudhi_simplex_tree(rng):
    gudhi = pytest.importorskip("gudhi")
    for trial in range(10):
        n = int(rng.integers(5, 120))
        values, edges = random_graph(rng, n, int(rng.integers(0, 3 * n)), int(rng.integers(1, 9)))
        values = values + (0.5 * rng.random(n) if trial % 2 else 0.0)
        st = gudhi.SimplexTree()
        for v in range(n):
            st.insert([v], filtration=float(values[v]))
        for u, v in edges.tolist():
            if u != v:
                st.insert([u, v], filtration=float(max(values[u], values[v])))
        ref = st.persistence(persistence_dim_max=True)
        dg = graph_persistence(values, edges, maxdim=1)
        for dim in (0, 1):
            want = Counter((b, d) for k, (b, d) in ref if k == dim)
            got = Counter(map(tuple, dg.in_dim(dim).tolist()))
            assert got == want, f"dim {dim}"


@pytest.mark.parametrize("shape", [(1,), (17,), (9, 13), (1, 7), (5, 6, 7)])
def test_grid_graph_equals_cubical_dim0(rng, shape):
    x = rng.integers(0, 6, shape).astype(np.float32)
    dg = graph_persistence(x, grid_graph(shape))
    ref = cuph.persistence(x, maxdim=0)
    assert Counter(map(tuple, dg.in_dim(0).tolist())) == Counter(map(tuple, ref.in_dim(0).tolist()))
    assert dg.item_shape == shape and dg.birth.dtype == np.float32


def test_threads_do_not_change_the_result(rng):
    # large enough for the multi-threaded load, rank and radix sort paths
    values, edges = random_graph(rng, 30000, 120000, 50)
    a = graph_persistence(values, edges, maxdim=1, n_threads=1)
    b = graph_persistence(values, edges, maxdim=1, n_threads=2)
    c = graph_persistence(values, edges, maxdim=1, n_threads=7)
    for name in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert np.array_equal(getattr(a, name), getattr(c, name)), name


def test_int64_edges_int32_edges_and_views_agree(rng):
    values, edges = random_graph(rng, 500, 2000, 20)
    ref = graph_persistence(values, edges)
    for e in (edges.astype(np.int32), np.asfortranarray(edges), edges[::-1],
              edges.astype(np.uint16), edges.astype(np.int8) if edges.max() < 128 else edges):
        got = graph_persistence(values, e)
        assert split(got) == split(ref)
    assert split(graph_persistence(values[::-1].copy()[::-1], edges)) == split(ref)


def test_sparse_adjacency_matches_edge_list(rng):
    sparse = pytest.importorskip("scipy.sparse")
    values, edges = random_graph(rng, 200, 600, 10)
    adj = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(200, 200))
    sym = (adj + adj.T).tocsr()
    for mat in (adj.tocsr(), sym):
        for maxdim in (0, 1):
            got, ref = graph_persistence(values, mat, maxdim), graph_persistence(values, edges, maxdim)
            assert Counter(map(tuple, got.in_dim(maxdim).tolist())) == \
                Counter(map(tuple, ref.in_dim(maxdim).tolist()))


def test_self_loops_are_ignored_and_isolated_vertices_are_essential():
    values = np.array([2.0, 1.0, 3.0])
    dg = graph_persistence(values, [[0, 0], [1, 1], [2, 2]], maxdim=1)
    assert dg.in_dim(0).tolist() == [[1.0, np.inf], [2.0, np.inf], [3.0, np.inf]]
    assert dg.in_dim(1).shape == (0, 2)


def test_dtypes_keep_diagonal_superlevel():
    values = np.array([3, 0, 2, 1, 4], dtype=np.int16)
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    dg = graph_persistence(values, edges)
    assert dg.birth.dtype == np.float32 and dg.in_dim(0).tolist() == [[1.0, 2.0], [0.0, np.inf]]
    assert graph_persistence(values.astype(np.int64), edges).birth.dtype == np.float64
    full = graph_persistence(values, edges, keep_diagonal=True)
    assert len(full.in_dim(0)) == 5  # one row per vertex: 3 zero-length
    sup = graph_persistence(values, edges, superlevel=True)
    # superlevel: maxima 3 (vertex 0) dies at 0 (vertex 1)... against the global max 4
    assert Counter(map(tuple, sup.in_dim(0).tolist())) == Counter({(3.0, 0.0): 1, (2.0, 1.0): 1,
                                                                  (4.0, -np.inf): 1})


def test_infinite_values_are_allowed():
    dg = graph_persistence(np.array([0.0, np.inf, -1.0]), [[0, 1], [1, 2]])
    assert dg.in_dim(0).tolist() == [[0.0, np.inf], [-1.0, np.inf]]
    assert dg.death_index.tolist() == [1, -1]  # killed at the +inf vertex: a real pair


def test_empty_graph():
    dg = graph_persistence(np.zeros(0), np.zeros((0, 2), dtype=np.int64))
    assert dg.n_pairs == 0


# ----------------------------------------------------------------------------- builders
def test_grid_graph_counts_and_bounds():
    for shape in [(4,), (3, 5), (2, 3, 4)]:
        e = grid_graph(shape)
        n = int(np.prod(shape))
        axis_edges = sum(n // s * (s - 1) for s in shape)
        assert len(e) == axis_edges and e.min() >= 0 and e.max() < n
        coords = np.stack(np.unravel_index(e, shape), axis=-1)  # (m, 2, d)
        assert np.all(np.abs(coords[:, 0] - coords[:, 1]).sum(axis=1) == 1)
        d = grid_graph(shape, diagonal=True)
        cd = np.stack(np.unravel_index(d, shape), axis=-1)
        assert np.all(np.abs(cd[:, 0] - cd[:, 1]).max(axis=1) == 1)
        assert len(np.unique(d, axis=0)) == len(d)
    assert len(grid_graph((3, 3), diagonal=True)) == 20


def test_knn_graph_matches_brute_force(rng):
    pytest.importorskip("sklearn")
    pts = rng.random((60, 3))
    k = 4
    dist = ((pts[:, None] - pts[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    nbr = np.argsort(dist, axis=1)[:, :k]
    want = {tuple(sorted((i, int(j)))) for i in range(60) for j in nbr[i]}
    got = knn_graph(pts, k)
    assert {tuple(e) for e in got.tolist()} == want
    assert np.all(got[:, 0] < got[:, 1])


# ----------------------------------------------------------------------------- analytic landscapes
def _grid(fn, lo, hi, res):
    axes = [np.linspace(a, b, r) for a, b, r in zip(lo, hi, res)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return fn(*mesh), axes


def _critical_values(fn_grad, fn, guesses):
    from scipy.optimize import root

    out = []
    for g in guesses:
        sol = root(lambda p: fn_grad(*p), g, tol=1e-12)
        assert sol.success
        out.append(float(fn(*sol.x)))
    return out


def test_himmelblau_four_minima_and_three_saddles():
    pytest.importorskip("scipy")
    f = lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2  # noqa: E731
    grad = lambda x, y: np.array([4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),  # noqa: E731
                                  2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7)])
    vals, axes = _grid(f, (-5, -5), (5, 5), (801, 801))
    bc = minima_barcode(vals, coords=axes)
    # the four minima (all f = 0) join over the three lowest of the four saddles
    saddles = sorted(_critical_values(grad, f, [(3.4, 0.07), (0.09, 2.9), (-3.1, -0.08),
                                                 (-0.13, -1.95)]))[:3]
    h = axes[0][1] - axes[0][0]
    tol = 0.5 * 200 * 2 * h**2 + 1e-9  # |Hessian| <= ~200 on the box: grid error of a sample
    assert len(bc) == 4 and bc.essential.sum() == 1
    assert np.all(np.abs(bc.minimum) < tol)
    assert np.allclose(np.sort(bc.saddle[~bc.essential]), saddles, atol=tol)
    true_minima = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186],
                            [3.584428, -1.848126]])
    for loc in bc.min_location:
        assert np.min(np.abs(true_minima - loc).max(axis=1)) <= h


def test_three_hump_camel():
    pytest.importorskip("scipy")
    f = lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2  # noqa: E731
    grad = lambda x, y: np.array([4 * x - 4.2 * x**3 + x**5 + y, x + 2 * y])  # noqa: E731
    vals, axes = _grid(f, (-2.2, -2.2), (2.2, 2.2), (881, 881))
    bc = minima_barcode(vals, coords=axes)
    m_side = _critical_values(grad, f, [(1.75, -0.87)])[0]
    s_side = _critical_values(grad, f, [(1.07, -0.54)])[0]
    h = axes[0][1] - axes[0][0]
    tol = 0.5 * 60 * 2 * h**2
    # the side minima lie in slanted valleys, where the 4-neighbour grid also has a few
    # neighbouring samples that are local minima by a margin below the sampling error: bars
    # shorter than the grid precision are sampling noise
    keep = bc.length > tol
    assert keep.sum() == 3 and np.all(bc.length[~keep] < tol)
    minimum, saddle, loc = bc.minimum[keep], bc.saddle[keep], bc.min_location[keep]
    assert abs(minimum[0]) < tol and np.isinf(saddle[0])
    assert np.allclose(minimum[1:], m_side, atol=tol)
    assert np.allclose(saddle[1:], s_side, atol=tol)
    assert np.allclose(np.sort(loc[1:, 0]), [-1.7476, 1.7476], atol=2 * h)


def test_rastrigin_2d_follows_the_kunneth_formula():
    """f(x) + f(y): 0-dim bars are [b + b', min(d + b', b + d')) over pairs of 1-D bars."""
    pytest.importorskip("scipy")
    from scipy.optimize import minimize_scalar

    g = lambda x: 10 + x**2 - 10 * np.cos(2 * np.pi * x)  # noqa: E731
    # 1-D bars on [-2.5, 2.5]: minima near integers, killed by the inner neighbouring maximum
    mins = {k: minimize_scalar(g, bracket=(k - 0.3, k, k + 0.3)).fun for k in range(-2, 3)}
    maxs = {s: -minimize_scalar(lambda x: -g(x), bracket=(s - 0.3, s, s + 0.3)).fun
            for s in (-1.5, -0.5, 0.5, 1.5)}
    bars1 = [(mins[0], np.inf)] + [(mins[k], maxs[np.sign(k) * (abs(k) - 0.5)]) for k in (-2, -1, 1, 2)]
    want = sorted((b1 + b2, min(d1 + b2, b1 + d2)) for b1, d1 in bars1 for b2, d2 in bars1)
    vals, axes = _grid(lambda x, y: g(x) + g(y), (-2.5, -2.5), (2.5, 2.5), (1001, 1001))
    bc = minima_barcode(vals)
    h = axes[0][1] - axes[0][0]
    tol = 0.5 * (2 + 40 * np.pi**2) * 2 * h**2
    got = sorted(zip(bc.minimum.tolist(), bc.saddle.tolist()))
    assert len(got) == 25
    w, gt = np.array(want), np.array(got)
    assert np.all(np.isinf(gt[:, 1]) == np.isinf(w[:, 1]))
    fin = np.isfinite(w[:, 1])
    assert np.allclose(gt[:, 0], w[:, 0], atol=tol)
    assert np.allclose(np.sort(gt[fin, 1]), np.sort(w[fin, 1]), atol=tol)
    # the same grid as a graph gives the same barcode
    dg = graph_persistence(vals, grid_graph(vals.shape))
    assert Counter(map(tuple, dg.in_dim(0).tolist())) == \
        Counter(map(tuple, cuph.persistence(vals, maxdim=0).in_dim(0).tolist()))


# ----------------------------------------------------------------------------- barcode, TO-score
def test_minima_barcode_table_and_to_score(tmp_path):
    f = np.array([3.0, 0.0, 2.0, 1.0, 4.0])
    bc = minima_barcode(f)
    assert isinstance(bc, MinimaBarcode) and len(bc) == 2
    assert bc.length.tolist() == [np.inf, 1.0]
    assert bc.saddle_index.tolist() == [-1, 2] and bc.min_location[:, 0].tolist() == [1.0, 3.0]
    assert np.isnan(bc.saddle_location[0]).all()
    assert to_score(bc) == pytest.approx(1.0 / 4.0)
    assert to_score(bc, normalization="none") == 1.0
    assert to_score(bc, normalization=2.0) == 0.5
    assert to_score(bc, reduce="max", normalization="none") == 1.0
    # graph input with point coordinates
    pts = np.arange(5.0)[:, None] * 10
    gb = minima_barcode(f, [[0, 1], [1, 2], [2, 3], [3, 4]], coords=pts)
    assert gb.min_location[:, 0].tolist() == [10.0, 30.0] and gb.saddle_location[1, 0] == 20.0
    # a Diagrams input needs the loss range
    dg = graph_persistence(f, [[0, 1], [1, 2], [2, 3], [3, 4]])
    assert to_score(dg, value_range=(0, 4)) == 0.25
    with pytest.raises(ValueError, match="value_range"):
        to_score(dg)
    path = tmp_path / "bars.csv"
    bc.to_csv(str(path))
    lines = path.read_text().splitlines()
    assert lines[0].startswith("minimum,saddle,length,min_index,saddle_index,min_x0")
    assert len(lines) == 3


def test_to_score_is_invariant_under_affine_rescaling(rng):
    vals = rng.random((30, 30))
    a = to_score(minima_barcode(vals))
    b = to_score(minima_barcode(5.0 * vals - 3.0))
    assert a > 0 and b == pytest.approx(a)
    assert to_score(minima_barcode(np.arange(10.0))) == 0.0  # one basin


def test_to_score_rejects_bad_options():
    bc = minima_barcode(np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="reduce"):
        to_score(bc, reduce="mean")
    with pytest.raises(ValueError, match="normalization"):
        to_score(bc, normalization="minmax")
    with pytest.raises(TypeError, match="barcode"):
        to_score([1, 2])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("values,edges,exc,match", [
    (np.array([0.0, np.nan, 1.0]), [[0, 1]], ValueError, r"values: contains NaN at vertex 1"),
    (np.zeros(3), [[0, 1], [1, 3]], ValueError, r"edges: row 1 holds vertex 3, outside \[0, 3\)"),
    (np.zeros(3), [[0, -1]], ValueError, r"edges: row 0 holds vertex -1"),
    (np.zeros(3), [[0, 1, 2]], ValueError, r"edges: expected shape \(m, 2\)"),
    (np.zeros(3), [[0.0, 1.0]], TypeError, r"edges: expected integer vertex indices"),
    (np.zeros(3), [[True, False]], TypeError, r"edges: expected integer"),
    (np.zeros(3), "0-1", TypeError, r"edges:"),
    (np.zeros(3), None, TypeError, r"edges:"),
    ("abc", [[0, 1]], TypeError, r"values:"),
    (np.array(["a", "b"]), [[0, 1]], TypeError, r"values: unsupported dtype"),
    (np.float64(1.0), [[0, 0]], TypeError, r"values: expected an array"),
    (np.array(1.0), [[0, 0]], ValueError, r"values: a scalar"),
    (np.zeros(2), np.array([[0, 2**63]], dtype=np.uint64), ValueError, r"edges:.*outside"),
])
def test_bad_input(values, edges, exc, match):
    with pytest.raises(exc, match=match):
        graph_persistence(values, edges)


def test_first_nan_of_values_read_on_several_threads():
    # Many vertices are read in slabs on the threads (load_item_keys): the NaN reported is the
    # first, and one in a later slab is named by its own vertex number.
    values = np.zeros(30000)
    edges = np.stack([np.arange(29999), np.arange(1, 30000)], axis=1)
    values[[21000, 25000]] = np.nan
    for threads in (1, 2, 3):
        with pytest.raises(ValueError, match=r"NaN at vertex 21000\b"):
            graph_persistence(values, edges, n_threads=threads)


def test_bad_options():
    v, e = np.zeros(3), [[0, 1]]
    with pytest.raises(ValueError, match="maxdim"):
        graph_persistence(v, e, maxdim=2)
    with pytest.raises(ValueError, match=r"edges: row 0 holds vertex 5"):
        graph_persistence(v, [[0, 5]], maxdim=1)
    with pytest.raises(ValueError, match="n_threads"):
        graph_persistence(v, e, n_threads=0)
    with pytest.raises(TypeError, match="keep_diagonal"):
        graph_persistence(v, e, keep_diagonal="yes")
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match=r"edges: a sparse adjacency matrix must be n x n = 3 x 3"):
        graph_persistence(v, sparse.eye(4, format="csr"))
    with pytest.raises(ValueError, match="k: must be in"):
        knn_graph(np.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match="points: contains NaN"):
        knn_graph(np.array([[0.0], [np.nan]]), 1)
    with pytest.raises(ValueError, match="shape"):
        grid_graph((3, 0))
    with pytest.raises(ValueError, match="coords: axis 0 needs 3 values"):
        minima_barcode(np.zeros((3, 3)), coords=[np.arange(4), np.arange(3)])


def test_import_cuph_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, cuph; cuph.landscape.graph_persistence; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_minima_barcode_reuses_given_diagrams(rng):
    vals = rng.random((12, 9))
    dg = cuph.persistence(vals, maxdim=1)
    a, b = minima_barcode(vals, diagrams=dg), minima_barcode(vals)
    assert np.array_equal(a.minimum, b.minimum) and np.array_equal(a.saddle_index, b.saddle_index)
    with pytest.raises(ValueError, match="diagrams: item_shape"):
        minima_barcode(vals[:5], diagrams=dg)
    with pytest.raises(TypeError, match="diagrams: expected a cuph.Diagrams"):
        minima_barcode(vals, diagrams=[(0, 1)])


_LONG_GRAPH_CALL = """
# Started with SIGINT ignored (a background job), Python would keep ignoring it.
import signal; signal.signal(signal.SIGINT, signal.default_int_handler)
import sys, time
import numpy as np
from cuph.landscape import graph_persistence
rng = np.random.default_rng(0)
n = 5_000_000
values, edges = rng.random(n), rng.integers(0, n, (5 * n, 2))   # a few seconds on one thread
print("ready", flush=True)
t0 = time.perf_counter()
try:
    graph_persistence(values, edges, n_threads=1)
except KeyboardInterrupt:
    print(f"interrupted {time.perf_counter() - t0:.3f}", flush=True)
    sys.exit(0)
print(f"finished {time.perf_counter() - t0:.3f}", flush=True)
sys.exit(3)
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
def test_sigint_interrupts_graph_persistence():
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", _LONG_GRAPH_CALL], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    waited = time.perf_counter() - sent
    assert proc.returncode == 0 and out.startswith("interrupted"), (out, err)
    assert waited < 2.0, f"took {waited:.2f} s to stop after SIGINT"
