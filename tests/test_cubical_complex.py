"""cuph.CubicalComplex against gudhi.CubicalComplex (gudhi 3.13 conventions).

Random small integer arrays (many ties), 1-D/2-D/3-D, both constructions; gudhi's own
documentation and test-suite examples with ``import cuph`` in place of ``import gudhi``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any, Dict, List

import numpy as np
import pytest

import cuph

gudhi = pytest.importorskip("gudhi")

SHAPES = [(1,), (2,), (13,), (1, 5), (4, 1), (5, 6), (7, 4), (3, 4, 5), (2, 3, 2), (1, 3, 4)]


def kw(construction: str, x: Any) -> Dict[str, Any]:
    return {"vertices": x} if construction == "V" else {"top_dimensional_cells": x}


def as_counter(pairs: List[Any]) -> Counter:
    return Counter((int(k), float(b), float(d)) for k, (b, d) in pairs)


def check_gudhi_order(pairs: List[Any]) -> None:
    keys = [(-k, -(d - b) if d != b or np.isfinite(b) else 0.0) for k, (b, d) in pairs]
    assert keys == sorted(keys), pairs


def index_value_pairs(out: List[List[np.ndarray]], flat_f: np.ndarray) -> Counter:
    """(dim, birth value, death value) of the index lists, via Fortran-order indices."""
    c: Counter = Counter()
    for k, arr in enumerate(out[0]):
        assert arr.ndim == 2 and arr.shape[1] == 2
        for b, d in arr.tolist():
            c[(k, float(flat_f[b]), float(flat_f[d]))] += 1
    for k, arr in enumerate(out[1]):
        assert arr.ndim == 1
        for b in arr.tolist():
            c[(k, float(flat_f[b]), np.inf)] += 1
    return c


def structure(out: List[List[np.ndarray]]) -> List[List[tuple]]:
    return [[a.shape for a in out[0]], [a.shape for a in out[1]]]


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", SHAPES)
def test_random_integer_arrays_match_gudhi(rng, construction, shape) -> None:
    for trial in range(4):
        x = rng.integers(0, 4 if trial % 2 else 9, size=shape).astype(np.float64)
        ours = cuph.CubicalComplex(**kw(construction, x))
        ref = gudhi.CubicalComplex(**kw(construction, x))
        assert ours.dimension() == ref.dimension()
        assert ours.num_simplices() == ref.num_simplices()
        assert not ours._is_persistence_defined()
        p, q = ours.persistence(), ref.persistence()
        assert ours._is_persistence_defined()
        assert as_counter(p) == as_counter(q), (x.tolist(), p, q)
        check_gudhi_order(p)
        assert ours.betti_numbers() == ref.betti_numbers()
        vals = np.unique(x)
        for a in vals:
            for b in vals[vals >= a]:
                assert ours.persistent_betti_numbers(a, b) == ref.persistent_betti_numbers(a, b)
        for k in range(len(shape) + 1):
            ia = ours.persistence_intervals_in_dimension(k)
            ib = ref.persistence_intervals_in_dimension(k)
            assert ia.shape == ib.shape
            np.testing.assert_array_equal(ia[np.lexsort(ia.T[::-1])], ib[np.lexsort(ib.T[::-1])])
            fin = ia[np.isfinite(ia[:, 1])]
            assert np.all(np.diff(fin[:, 1]) >= 0)  # finite pairs by increasing death
        flat_f = x.ravel(order="F")
        get = "vertices_of_persistence_pairs" if construction == "V" else "cofaces_of_persistence_pairs"
        other = "cofaces_of_persistence_pairs" if construction == "V" else "vertices_of_persistence_pairs"
        oa, ob = getattr(ours, get)(), getattr(ref, get)()
        assert structure(oa) == structure(ob)
        # the cells may differ where values tie, the values may not
        assert index_value_pairs(oa, flat_f) == index_value_pairs(ob, flat_f)
        assert index_value_pairs(oa, flat_f) == as_counter(p)
        with pytest.raises(RuntimeError):
            getattr(ours, other)()


@pytest.mark.parametrize("construction", ["V", "T"])
def test_min_persistence_matches_gudhi(rng, construction) -> None:
    x = rng.integers(0, 6, size=(5, 6)).astype(np.float64)
    for m in (-1, 0, 0.5, 1, 2.5, 10):
        ours = cuph.CubicalComplex(**kw(construction, x))
        ref = gudhi.CubicalComplex(**kw(construction, x))
        p = ours.persistence(homology_coeff_field=2, min_persistence=m)
        q = ref.persistence(homology_coeff_field=2, min_persistence=m)
        assert as_counter(p) == as_counter(q), m
        assert ours.betti_numbers() == ref.betti_numbers()
        oa = getattr(ours, "vertices_of_persistence_pairs" if construction == "V" else "cofaces_of_persistence_pairs")()
        ob = getattr(ref, "vertices_of_persistence_pairs" if construction == "V" else "cofaces_of_persistence_pairs")()
        assert structure(oa) == structure(ob)


def test_full_pairing_with_negative_min_persistence(rng) -> None:
    x = rng.random((4, 5))
    cc = cuph.CubicalComplex(top_dimensional_cells=x)
    p = cc.persistence(min_persistence=-1)
    # every cell is in exactly one pair (the essential class has one cell)
    assert 2 * len(p) - 1 == cc.num_simplices()
    assert as_counter(p) == as_counter(
        gudhi.CubicalComplex(top_dimensional_cells=x).persistence(min_persistence=-1)
    )


@pytest.mark.parametrize("construction", ["V", "T"])
def test_3d_continuous_matches_gudhi_exactly(rng, construction) -> None:
    x = rng.random((6, 5, 7))
    ours = cuph.CubicalComplex(**kw(construction, x))
    ref = gudhi.CubicalComplex(**kw(construction, x))
    p, q = ours.persistence(), ref.persistence()
    assert p == q  # no ties: the same list in the same order
    get = "vertices_of_persistence_pairs" if construction == "V" else "cofaces_of_persistence_pairs"
    oa, ob = getattr(ours, get)(), getattr(ref, get)()
    # distinct input values: the same cells (several pairs can share a death cell, so the
    # order among those may differ from gudhi's)
    assert structure(oa) == structure(ob)
    for a, b in zip(oa[0], ob[0]):
        np.testing.assert_array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])
    for a, b in zip(oa[1], ob[1]):
        np.testing.assert_array_equal(np.sort(a), np.sort(b))
    for k in range(4):
        ia = ours.persistence_intervals_in_dimension(k)
        ib = ref.persistence_intervals_in_dimension(k)
        np.testing.assert_array_equal(ia[:, 1], ib[:, 1])  # same death order
        np.testing.assert_array_equal(np.sort(ia[:, 0]), np.sort(ib[:, 0]))


# ----------------------------------------------------------------------------- input layouts
@pytest.mark.parametrize("construction", ["V", "T"])
def test_flat_input_with_dimensions_is_fortran_order(rng, construction) -> None:
    values = rng.integers(0, 10, size=24).astype(float).tolist()
    for dims in ([24], [4, 6], [6, 4], [2, 3, 4]):
        ours = cuph.CubicalComplex(dimensions=dims, **kw(construction, values))
        ref = gudhi.CubicalComplex(dimensions=dims, **kw(construction, values))
        np.testing.assert_array_equal(ours.top_dimensional_cells(), ref.top_dimensional_cells())
        np.testing.assert_array_equal(ours.vertices(), ref.vertices())
        np.testing.assert_array_equal(ours.all_cells(), ref.all_cells())
        assert as_counter(ours.persistence()) == as_counter(ref.persistence())
        get = "vertices_of_persistence_pairs" if construction == "V" else "cofaces_of_persistence_pairs"
        fl = np.asarray(values)  # flat input is already in Fortran order
        assert index_value_pairs(getattr(ours, get)(), fl) == index_value_pairs(getattr(ref, get)(), fl)


def test_cell_arrays_match_gudhi(rng) -> None:
    for shape in [(5,), (3, 2), (1, 4), (3, 4, 2)]:
        x = rng.integers(0, 9, size=shape).astype(float)
        for c in "VT":
            ours, ref = cuph.CubicalComplex(**kw(c, x)), gudhi.CubicalComplex(**kw(c, x))
            np.testing.assert_array_equal(ours.all_cells(), ref.all_cells())
            np.testing.assert_array_equal(ours.top_dimensional_cells(), ref.top_dimensional_cells())
            np.testing.assert_array_equal(ours.vertices(), ref.vertices())


def test_modifying_input_view_changes_complex() -> None:
    a = np.arange(6, dtype=float).reshape(3, 2)
    cc = cuph.CubicalComplex(top_dimensional_cells=a)
    np.testing.assert_array_equal(cc.top_dimensional_cells(), a)
    cc.top_dimensional_cells()[0, 0] = 42
    assert cc.all_cells()[1, 1] == 42  # as in gudhi's test_array_access


def test_list_and_integer_inputs() -> None:
    cc = cuph.CubicalComplex(top_dimensional_cells=[[3, 3], [2, 2], [4, 4]])
    assert cc.persistence() == [(0, (2.0, float("inf")))]
    cc = cuph.CubicalComplex(vertices=np.array([[1, 2], [3, 0]], dtype=np.uint8))
    assert cc.persistence() == [(0, (0.0, float("inf"))), (0, (1.0, 2.0))]


# ----------------------------------------------------------------------------- gudhi's examples
def test_gudhi_test_suite_examples() -> None:
    """gudhi's src/python/test/test_cubical_complex.py, with cuph in place of gudhi."""
    CubicalComplex = cuph.CubicalComplex
    inf = float("inf")
    for cub in (
        CubicalComplex(dimensions=[3, 3], top_dimensional_cells=[1, 2, 3, 4, 5, 6, 7, 8, 9]),
        CubicalComplex(top_dimensional_cells=np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])),
        CubicalComplex(dimensions=[4, 4], vertices=[1, 1, 2, 3, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9]),
    ):
        assert cub._is_persistence_defined() is False
        assert cub.persistence() == [(0, (1.0, inf))]
        assert cub._is_persistence_defined() is True
        assert cub.betti_numbers() == [1, 0, 0]
        assert cub.persistent_betti_numbers(0, 1000) == [0, 0, 0]
    for cub in (
        CubicalComplex(dimensions=[3, 3],
                       top_dimensional_cells=[inf, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
        CubicalComplex(top_dimensional_cells=np.array([[inf, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])),
        CubicalComplex(dimensions=[3, 3],
                       top_dimensional_cells=[1000.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    ):
        assert cub.persistence() == [(1, (0.0, 1.0)), (0, (0.0, inf))]
    # connected sublevel sets
    for cub in (
        CubicalComplex(top_dimensional_cells=np.array([[3, 3], [2, 2], [4, 4]])),
        CubicalComplex(dimensions=[2, 3], top_dimensional_cells=[3, 3, 2, 2, 4, 4]),
    ):
        assert cub.persistence() == [(0, (2.0, inf))]
        assert cub.betti_numbers() == [1, 0, 0]
    # generators: same layout; the cells may differ from gudhi's where values tie
    cub = CubicalComplex(top_dimensional_cells=[[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    cub.persistence()
    g = cub.cofaces_of_persistence_pairs()
    assert len(g[0]) == 2 and len(g[1]) == 1
    assert np.array_equal(g[0][0], np.empty(shape=[0, 2]))
    assert g[0][1].shape == (1, 2) and g[0][1][0, 1] == 4  # gudhi: [[7, 4]]
    assert g[1][0].shape == (1,)  # gudhi: [8]; any 0-valued cell is right
    cub = CubicalComplex(vertices=[[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    cub.persistence()
    g = cub.vertices_of_persistence_pairs()
    assert len(g[0]) == 2 and len(g[1]) == 1
    assert np.array_equal(g[0][0], np.empty(shape=[0, 2]))
    v = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]).ravel(order="F")
    assert v[g[0][1][0]].tolist() == [0, 1] and v[g[1][0]].tolist() == [0]  # gudhi: [[14, 10]], [14]
    cub = CubicalComplex(vertices=[[2, 1, 6, 8], [5, 9, 4, 7], [4, 7, 3, 9]])
    assert set(cub.persistence()) == {(1, (7.0, 9.0)), (0, (1.0, np.inf)), (0, (3.0, 6.0)), (0, (4.0, 5.0))}
    g = cub.vertices_of_persistence_pairs()
    assert [a.tolist() for a in g[1]] == [[3]]
    assert len(g[0]) == 2 and np.array_equal(g[0][0], [[2, 1], [8, 6]]) and np.array_equal(g[0][1], [[5, 4]])
    # no finite pair
    cub = CubicalComplex(dimensions=[1, 2], top_dimensional_cells=[0.0, 1.0])
    cub.persistence(homology_coeff_field=2, min_persistence=0)
    pairs = cub.cofaces_of_persistence_pairs()
    assert pairs[0] == [] and np.array_equal(pairs[1][0], np.array([0]))
    # persistence_intervals_in_dimension
    cub = CubicalComplex(dimensions=[3, 3], top_dimensional_cells=[1, 2, 3, 4, 5, 6, 7, 8, 9])
    cub.compute_persistence()
    assert np.array_equal(cub.persistence_intervals_in_dimension(0), np.array([[1.0, inf]]))
    assert cub.persistence_intervals_in_dimension(1).shape == (0, 2)
    # array access
    a = np.arange(6, dtype=float).reshape(3, 2)
    cplx = CubicalComplex(top_dimensional_cells=a)
    assert np.array_equal(cplx.vertices(), np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [2.0, 2.0, 3.0], [4.0, 4.0, 5.0]]))


def test_constructor_errors_like_gudhi(tmp_path) -> None:
    f = tmp_path / "CubicalOneSphere.txt"
    f.write_text("2\n3\n3\n0\n0\n0\n0\n100\n0\n0\n0\n0\n")
    CubicalComplex = cuph.CubicalComplex
    with pytest.raises(ValueError):
        CubicalComplex()
    with pytest.raises(OSError):
        CubicalComplex(perseus_file=str(tmp_path / "pouetpouettralala.toubiloubabdou"))
    bad = [
        dict(dimensions=[3, 3], top_dimensional_cells=[1, 2, 3, 4, 5, 6, 7, 8, 9], perseus_file=str(f)),
        dict(top_dimensional_cells=[1, 2, 3, 4], perseus_file=str(f)),
        dict(dimensions=[3, 3], perseus_file=str(f)),
        dict(dimensions=[3, 3], top_dimensional_cells=[1, 2, 3, 4], vertices=[1, 2, 3, 4, 5, 6, 7, 8, 9]),
        dict(top_dimensional_cells=[1, 2, 3, 4], vertices=[1, 2, 3, 4, 5, 6, 7, 8, 9]),
        dict(vertices=[1, 2, 3, 4, 5, 6, 7, 8, 9], perseus_file=str(f)),
        dict(dimensions=[2, 2], top_dimensional_cells=[1, 2, 3]),
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            CubicalComplex(**kwargs)
    with pytest.raises(TypeError):
        CubicalComplex(dimensions=[3, 2], top_dimensional_cells=np.zeros((2, 3)))
    cub = CubicalComplex(perseus_file=str(f))
    assert cub.persistence() == [(1, (0.0, 100.0)), (0, (0.0, float("inf")))]
    assert cub.betti_numbers() == [1, 0, 0]
    assert cub.persistent_betti_numbers(0, 1000) == [1, 0, 0]


def test_perseus_file_doc_example(tmp_path) -> None:
    """gudhi's cubical_complex_user.rst example, on gudhi's data/bitmap/cubicalcomplexdoc.txt."""
    path = tmp_path / "cubicalcomplexdoc.txt"
    path.write_text("2\n3\n3\n1\n4\n6\n8\n20\n4\n7\n6\n5\n")
    cubical_complex = cuph.CubicalComplex(perseus_file=str(path))
    result_str = "Cubical complex is of dimension " + repr(cubical_complex.dimension()) + " - " + \
        repr(cubical_complex.num_simplices()) + " simplices."
    assert result_str == "Cubical complex is of dimension 2 - 49 simplices."
    ref = gudhi.CubicalComplex(perseus_file=str(path))
    np.testing.assert_array_equal(cubical_complex.top_dimensional_cells(), ref.top_dimensional_cells())
    assert cubical_complex.persistence() == ref.persistence()
    # non-square and with inf: Fortran order like gudhi
    path2 = tmp_path / "p.txt"
    path2.write_text("2\n3\n2\n1\n2\n3\n4\n5\ninf\n")
    a, b = cuph.CubicalComplex(perseus_file=str(path2)), gudhi.CubicalComplex(perseus_file=str(path2))
    np.testing.assert_array_equal(a.top_dimensional_cells(), b.top_dimensional_cells())
    assert as_counter(a.persistence()) == as_counter(b.persistence())
    periodic = tmp_path / "periodic.txt"
    periodic.write_text("2\n-3\n3\n0\n0\n0\n0\n1\n0\n0\n0\n0\n")
    with pytest.raises(NotImplementedError, match="periodic"):
        cuph.CubicalComplex(perseus_file=str(periodic))


def test_random_cubical_complex_example(rng) -> None:
    """gudhi's python/example/random_cubical_complex_persistence_example.py, dims 10 10 10."""
    dimension = [10, 10, 10]
    cells = rng.random(1000)
    cubical_complex = cuph.CubicalComplex(dimensions=dimension, top_dimensional_cells=cells)
    ref = gudhi.CubicalComplex(dimensions=dimension, top_dimensional_cells=cells)
    p = cubical_complex.persistence(homology_coeff_field=2, min_persistence=0)
    assert p == ref.persistence(homology_coeff_field=2, min_persistence=0)
    assert cubical_complex.betti_numbers() == ref.betti_numbers() == [1, 0, 0, 0]


def test_requires_compute_persistence_first() -> None:
    cc = cuph.CubicalComplex(top_dimensional_cells=np.zeros((3, 3)))
    for name, args in (("betti_numbers", ()), ("persistent_betti_numbers", (0, 1)),
                       ("persistence_intervals_in_dimension", (0,)),
                       ("cofaces_of_persistence_pairs", ()), ("vertices_of_persistence_pairs", ())):
        with pytest.raises(RuntimeError, match="compute_persistence"):
            getattr(cc, name)(*args)
    assert cc.compute_persistence() is None
    assert cc.betti_numbers() == [1, 0, 0]


def test_homology_coeff_field(rng) -> None:
    cc = cuph.CubicalComplex(top_dimensional_cells=rng.random((3, 3)))
    for bad in (1, 4, 12):
        with pytest.raises(ValueError, match="prime"):
            cc.persistence(homology_coeff_field=bad)
    with pytest.raises(ValueError, match="46337"):
        cc.persistence(homology_coeff_field=46349)
    x = rng.random((6, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 2-D: union-find only, the same over every field
        for p in (2, 3, 11, 46337):
            assert cuph.CubicalComplex(vertices=x).persistence(homology_coeff_field=p) == \
                gudhi.CubicalComplex(vertices=x).persistence(homology_coeff_field=p)
    # 3-D and 4-D: the middle dimensions can depend on the field, so any field but 2 warns.
    for shape in ((3, 4, 5), (3, 3, 3, 3)):
        x3 = rng.random(shape)
        with pytest.warns(UserWarning, match="Z/2"):
            cuph.CubicalComplex(vertices=x3).persistence()
    x4 = rng.random((3, 3, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p4 = cuph.CubicalComplex(vertices=x4).persistence(homology_coeff_field=2)
    assert as_counter(p4) == as_counter(gudhi.CubicalComplex(vertices=x4).persistence(homology_coeff_field=2))


def test_swap_import_in_user_code(rng) -> None:
    """Typical gudhi user code runs unchanged with ``import cuph as gudhi``."""
    import cuph as gd

    img = rng.integers(0, 255, size=(16, 16)).astype(np.uint8)
    cc = gd.CubicalComplex(top_dimensional_cells=img)
    diag = cc.persistence(homology_coeff_field=2, min_persistence=0)
    ref = gudhi.CubicalComplex(top_dimensional_cells=img)
    assert as_counter(diag) == as_counter(ref.persistence(homology_coeff_field=2, min_persistence=0))
    h1 = cc.persistence_intervals_in_dimension(1)
    h1_ref = ref.persistence_intervals_in_dimension(1)
    np.testing.assert_array_equal(np.sort(h1, axis=0), np.sort(h1_ref, axis=0))
    pairs = cc.cofaces_of_persistence_pairs()
    flat = img.ravel(order="F").astype(float)
    finite = [(b, d) for k, (b, d) in diag if np.isfinite(d)]
    got = [(float(flat[i]), float(flat[j])) for arr in pairs[0] for i, j in arr]
    assert Counter(got) == Counter(finite)
    assert "CubicalComplex" in repr(cc)


def test_outputs_feed_gudhi_tools(rng) -> None:
    """persistence() and intervals plug into gudhi's plotting and distance functions."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = rng.random((10, 10))
    cc = cuph.CubicalComplex(top_dimensional_cells=x)
    diag = cc.persistence()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gudhi warns when TeX is missing
        assert gudhi.plot_persistence_diagram(diag) is not None
        assert gudhi.plot_persistence_barcode(diag) is not None
    plt.close("all")
    ref = gudhi.CubicalComplex(top_dimensional_cells=x)
    ref.compute_persistence()
    d = gudhi.bottleneck_distance(cc.persistence_intervals_in_dimension(1),
                                  ref.persistence_intervals_in_dimension(1))
    assert d < 1e-12
