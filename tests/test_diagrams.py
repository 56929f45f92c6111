"""Tests of cuph.Diagrams: item access, summaries and the adapters to other formats.

Adapters are checked against the libraries whose formats they reproduce (gudhi, cripser,
a transcription of giotto-tda's post-processing) on the same inputs.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from typing import Any, Dict, List, Sequence

import numpy as np
import pytest

import cuph
from cuph.diagrams import DBL_MAX, Diagrams

gudhi = pytest.importorskip("gudhi")


# ----------------------------------------------------------------------------- helpers
def gudhi_counter(x: np.ndarray, construction: str) -> Counter:
    kw = {"vertices": x} if construction == "V" else {"top_dimensional_cells": x}
    cc = gudhi.CubicalComplex(**kw)
    return Counter((int(k), float(b), float(d)) for k, (b, d) in cc.persistence(homology_coeff_field=2))


def counter_of(pairs: Sequence[Any]) -> Counter:
    return Counter((int(k), float(b), float(d)) for k, (b, d) in pairs)


def rows(dg: Diagrams) -> List[tuple]:
    return sorted(
        zip(
            np.asarray(dg.dim).tolist(),
            np.asarray(dg.birth).tolist(),
            np.asarray(dg.death).tolist(),
            np.asarray(dg.birth_index).tolist(),
            np.asarray(dg.death_index).tolist(),
        )
    )


SHAPES = [(17,), (6, 7), (4, 5, 3)]


# ----------------------------------------------------------------------------- access
def test_constructor_checks_shapes() -> None:
    good: Dict[str, Any] = dict(
        dim=np.array([0], np.int8), birth=np.array([0.0]), death=np.array([np.inf]),
        birth_index=np.array([0]), death_index=np.array([-1]), item=np.array([0]),
        offsets=np.array([0, 1]), batch_shape=(), item_shape=(3,), maxdim=0,
        construction="V", superlevel=False,
    )
    dg = Diagrams(**good)
    assert dg.n_pairs == 1 and dg.n_items == 1 and len(dg) == 1
    with pytest.raises(ValueError, match="offsets"):
        Diagrams(**{**good, "offsets": np.array([0, 1, 1])})
    with pytest.raises(ValueError, match="birth"):
        Diagrams(**{**good, "birth": np.array([0.0, 1.0])})
    with pytest.raises(ValueError, match="construction"):
        Diagrams(**{**good, "construction": "X"})
    with pytest.raises(TypeError):
        Diagrams(good)  # type: ignore[misc]  # keyword-only


def test_getitem_int_tuple_negative(rng: np.random.Generator) -> None:
    x = rng.integers(0, 6, size=(2, 3, 7, 6)).astype(np.float64)
    dg = cuph.persistence(x, batch_dims=2)
    assert len(dg) == 6 and dg.n_items == 6 and dg.batch_shape == (2, 3)
    for flat, tup in enumerate(np.ndindex(2, 3)):
        one = dg[flat]
        assert one.batch_shape == () and one.item_shape == (7, 6)
        assert len(one) == 1
        assert np.all(one.item == 0)
        assert one.offsets[0] == 0 and one.offsets[-1] == one.n_pairs
        assert one.offsets.shape == (dg.maxdim + 2,)
        assert rows(one) == rows(dg[tup])
        neg = tuple(t - s for t, s in zip(tup, (2, 3)))
        assert rows(one) == rows(dg[neg])
        assert rows(one) == rows(dg[flat - 6])
        # the same as computing the item alone
        assert rows(one) == rows(cuph.persistence(x[tup]))
        # offsets slice the dims correctly
        for k in range(dg.maxdim + 1):
            s = slice(int(one.offsets[k]), int(one.offsets[k + 1]))
            assert np.all(np.asarray(one.dim[s]) == k)
    assert sum(d.n_pairs for d in dg) == dg.n_pairs
    assert [rows(d) for d in dg] == [rows(dg[i]) for i in range(6)]


def test_getitem_errors(rng: np.random.Generator) -> None:
    dg = cuph.persistence(rng.random((2, 3, 5, 5)), batch_dims=2)
    with pytest.raises(IndexError):
        dg[6]
    with pytest.raises(IndexError):
        dg[-7]
    with pytest.raises(IndexError):
        dg[2, 0]
    with pytest.raises(IndexError):
        dg[0, 0, 0]
    with pytest.raises(TypeError):
        dg[1.0]  # type: ignore[index]
    with pytest.raises(TypeError):
        dg["0"]  # type: ignore[index]
    single = cuph.persistence(rng.random((5, 5)))
    assert rows(single[0]) == rows(single) == rows(single[-1]) == rows(single[()])
    with pytest.raises(IndexError):
        single[1]


def test_repr_and_sizes(rng: np.random.Generator) -> None:
    dg = cuph.persistence(rng.random((3, 6, 6)), batch_dims=1)
    r = repr(dg)
    assert "n_items=3" in r and "batch_shape=(3,)" in r and "H1:" in r
    assert dg.n_pairs == dg.dim.shape[0]


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", SHAPES)
def test_indices_point_to_birth_and_death_values(rng, construction, shape) -> None:
    x = rng.integers(0, 5, size=(3,) + shape).astype(np.float64)  # many ties
    dg = cuph.persistence(x, construction=construction, batch_dims=1)
    for i, one in enumerate(dg):
        flat = x[i].reshape(-1)
        np.testing.assert_array_equal(flat[one.birth_index], one.birth)
        fin = ~one.essential
        np.testing.assert_array_equal(flat[one.death_index[fin]], one.death[fin])
        assert np.all(np.isposinf(one.death[one.essential]))
        coords = one.unravel(one.birth_index)
        np.testing.assert_array_equal(x[i][coords], one.birth)
        if one.n_pairs:
            c0 = one.unravel(int(one.birth_index[0]))
            assert isinstance(c0, tuple) and all(isinstance(c, int) for c in c0)
            assert x[i][c0] == one.birth[0]
    with pytest.raises(ValueError, match="essential"):
        dg.unravel(-1)


# ----------------------------------------------------------------------------- summaries
def test_in_dim_matches_gudhi(rng: np.random.Generator) -> None:
    x = rng.random((6, 7, 5))
    dg = cuph.persistence(x)
    ref = gudhi_counter(x, "V")
    for k in range(3):
        got = dg.in_dim(k)
        assert got.shape[1] == 2
        assert Counter((k, float(b), float(d)) for b, d in got.tolist()) == Counter(
            {key: c for key, c in ref.items() if key[0] == k}
        )
    assert dg.in_dim(5).shape == (0, 2)


def test_betti_numbers(rng: np.random.Generator) -> None:
    dg = cuph.persistence(rng.random((2, 3, 6, 6, 4)), batch_dims=2)
    b = dg.betti_numbers()
    assert b.shape == (2, 3, 3)
    assert np.all(b == np.array([1, 0, 0]))
    assert cuph.persistence(rng.random(9)).betti_numbers().tolist() == [1]


def direct_betti_curve(dg: Diagrams, eta: np.ndarray) -> np.ndarray:
    """beta_k(eta) by counting every pair, one item at a time."""
    out = np.zeros((dg.n_items, len(eta), dg.maxdim + 1), dtype=np.int64)
    end = -np.inf if dg.superlevel else np.inf  # everything is in: the essential classes
    for i, one in enumerate(dg):
        for k, b, d, di in zip(one.dim.tolist(), one.birth.tolist(), one.death.tolist(),
                               one.death_index.tolist()):
            for j, e in enumerate(eta.tolist()):
                if e == end:
                    alive = di == -1
                else:
                    alive = (b <= e < d) if not dg.superlevel else (d < e <= b)
                out[i, j, k] += alive
    return out.reshape(dg.batch_shape + (len(eta), dg.maxdim + 1))


@pytest.mark.parametrize("superlevel", [False, True])
@pytest.mark.parametrize("construction", ["V", "T"])
def test_betti_curve_against_direct_count(rng, superlevel, construction) -> None:
    x = rng.integers(0, 7, size=(2, 2, 6, 5, 4)).astype(np.float64)
    dg = cuph.persistence(x, batch_dims=2, construction=construction, superlevel=superlevel)
    # every birth/death value exactly (half-open ends), values in between, and the infinities
    eta = np.concatenate([np.arange(-1.0, 8.0, 0.5), [-np.inf, np.inf]])
    got = dg.betti_curve(eta)
    assert got.shape == (2, 2, eta.size, 3) and got.dtype == np.int64
    np.testing.assert_array_equal(got, direct_betti_curve(dg, eta))
    # scalar eta drops the eta axis
    np.testing.assert_array_equal(dg.betti_curve(3.0), got[:, :, eta.tolist().index(3.0), :])
    assert dg.betti_curve(3.0).shape == (2, 2, 3)


def test_betti_curve_is_betti_number_of_sublevel_set(rng: np.random.Generator) -> None:
    """beta_0(eta) counts connected components of {x <= eta}: 4-connectivity for V on
    vertices, 8-connectivity for T (closed pixels touching at a corner are connected)."""
    ndimage = pytest.importorskip("scipy.ndimage")
    x = rng.integers(0, 8, size=(12, 11)).astype(np.float64)
    eta = np.arange(0, 8, dtype=np.float64)
    for construction, structure in (("V", None), ("T", np.ones((3, 3)))):
        curve = cuph.persistence(x, construction=construction).betti_curve(eta)
        for j, e in enumerate(eta):
            n_comp = ndimage.label(x <= e, structure=structure)[1]
            assert curve[j, 0] == n_comp, (construction, e)


def test_betti_curve_rejects_bad_eta(rng: np.random.Generator) -> None:
    dg = cuph.persistence(rng.random((5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        dg.betti_curve([0.1, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        dg.betti_curve(np.zeros((2, 2)))


# ----------------------------------------------------------------------------- adapters
@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", SHAPES)
def test_to_gudhi_matches_gudhi(rng, construction, shape) -> None:
    x = rng.integers(0, 6, size=(3,) + shape).astype(np.float64)
    dg = cuph.persistence(x, construction=construction, batch_dims=1)
    lists = dg.to_gudhi()
    assert isinstance(lists, list) and len(lists) == 3
    for i, pairs in enumerate(lists):
        assert counter_of(pairs) == gudhi_counter(x[i], construction)
        # gudhi's order: dimension descending, then length descending
        keys = [(-k, -(d - b)) for k, (b, d) in pairs]
        assert keys == sorted(keys)
        assert all(type(k) is int and type(b) is float and type(d) is float for k, (b, d) in pairs)
    single = cuph.persistence(x[0], construction=construction).to_gudhi()
    assert isinstance(single, list) and (not single or isinstance(single[0], tuple))
    assert counter_of(single) == counter_of(lists[0])


def test_to_gudhi_of_a_batch_is_that_of_its_items(rng: np.random.Generator) -> None:
    # One sort over the batch, sliced per item (flat C order over two batch axes).
    x = rng.integers(0, 4, size=(2, 3, 6, 5)).astype(np.float32)
    dg = cuph.persistence(x, batch_dims=2, construction="T")
    lists = dg.to_gudhi()
    assert len(lists) == 6
    for i, (a, b) in enumerate(np.ndindex(2, 3)):
        assert lists[i] == dg[a, b].to_gudhi()


def test_to_persim(rng: np.random.Generator) -> None:
    x = rng.random((2, 7, 6))
    dg = cuph.persistence(x, batch_dims=1)
    out = dg.to_persim()
    assert len(out) == 2
    for i, dgms in enumerate(out):
        assert len(dgms) == 2
        ref = gudhi_counter(x[i], "V")
        for k, arr in enumerate(dgms):
            assert arr.dtype == np.float64 and arr.ndim == 2 and arr.shape[1] == 2
            assert Counter((k, float(b), float(d)) for b, d in arr.tolist()) == Counter(
                {key: c for key, c in ref.items() if key[0] == k}
            )
        assert np.isinf(dgms[0][:, 1]).sum() == 1  # essential class kept as inf
    single = cuph.persistence(x[0]).to_persim()
    assert len(single) == 2 and isinstance(single[0], np.ndarray)


def giotto_reference(
    diagrams: List[list], homology_dimensions: Sequence[int], infinity_values: float,
    reduced: bool = True,
) -> np.ndarray:
    """A transcription of giotto-tda's ``_postprocess_diagrams(Xt, "gudhi", ...)`` applied
    to gudhi ``persistence()`` outputs (what ``CubicalPersistence.transform`` does)."""
    dims = sorted(homology_dimensions)
    per = []
    for diagram in diagrams:
        dd = {}
        for dim in dims:
            sub = np.array([p[1] for p in diagram if p[0] == dim]).reshape(-1, 2)
            if dim == 0 and reduced:
                sub = sub[1:]
            sub = np.nan_to_num(sub, posinf=infinity_values)
            dd[dim] = sub[sub[:, 0] < sub[:, 1]]
        per.append(dd)
    starts = np.cumsum([0] + [max([len(d[k]) for d in per] + [1]) for k in dims])
    mins = []
    for k in dims:
        m = min([np.min(d[k][:, 0]) if d[k].size else np.inf for d in per])
        mins.append(m if m != np.inf else 0)
    out = np.empty((len(per), starts[-1], 3))
    for i, k in enumerate(dims):
        s, e = starts[i : i + 2]
        out[:, s:e, 2] = k
        for j, d in enumerate(per):
            n = len(d[k])
            out[j, s : s + n, :2] = d[k]
            out[j, s + n : e, :2] = [mins[i]] * 2
    return out


def sort_blocks(a: np.ndarray) -> np.ndarray:
    """Sort the triples of each item (ties may come in another order than gudhi's)."""
    out = a.copy()
    for j in range(a.shape[0]):
        order = np.lexsort((a[j, :, 1], a[j, :, 0], a[j, :, 2]))
        out[j] = a[j, order]
    return out


@pytest.mark.parametrize("dims", [None, [0], [1], [1, 0]])
def test_to_giotto_matches_giotto_postprocessing(rng, dims) -> None:
    x = rng.random((4, 9, 8))
    x[1, 2:6, 2:6] = 0.05  # a plateau: different numbers of pairs per item
    dg = cuph.persistence(x, construction="T", batch_dims=1)
    ref_in = [
        gudhi.CubicalComplex(top_dimensional_cells=m).persistence(homology_coeff_field=2)
        for m in x
    ]
    hd = [0, 1] if dims is None else dims
    ref = giotto_reference(ref_in, hd, float(x.max()))
    got = dg.to_giotto(homology_dimensions=dims, infinity_values=float(x.max()))
    assert got.shape == ref.shape and got.dtype == np.float64
    np.testing.assert_array_equal(sort_blocks(got), sort_blocks(ref))
    ref_nr = giotto_reference(ref_in, hd, 0.5, reduced=False)
    got_nr = dg.to_giotto(homology_dimensions=dims, infinity_values=0.5, reduced_homology=False)
    np.testing.assert_array_equal(sort_blocks(got_nr), sort_blocks(ref_nr))


def test_to_giotto_defaults_and_errors(rng: np.random.Generator) -> None:
    x = rng.random((3, 6, 6))
    dg = cuph.persistence(x, construction="T", batch_dims=1)
    got = dg.to_giotto()
    # the default infinity value is the largest finite value in the diagrams
    vals = np.concatenate([dg.birth, dg.death])
    inf_v = float(vals[np.isfinite(vals)].max())
    np.testing.assert_array_equal(got, dg.to_giotto(infinity_values=inf_v))
    assert np.isfinite(got).all()
    with pytest.raises(ValueError, match="dimension"):
        dg.to_giotto(homology_dimensions=[2])
    with pytest.raises(ValueError, match="superlevel"):
        cuph.persistence(x, superlevel=True, batch_dims=1).to_giotto()


def sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(11,), (6, 7), (4, 5, 3), (3, 4, 3, 3)])
def test_to_cripser_matches_cripser(rng, construction, shape) -> None:
    cripser = pytest.importorskip("cripser")
    x = rng.random(shape)  # continuous values: no ties, so cells are unique
    dg = cuph.persistence(x, construction=construction)
    got = dg.to_cripser()
    ref = cripser.computePH(x, maxdim=len(shape) - 1) if construction == "V" else (
        cripser.computePH_T(x, maxdim=len(shape) - 1)
    )
    ref = np.asarray(ref, dtype=np.float64)
    ref = ref[ref[:, 1] != ref[:, 2]]
    assert got.shape[1] == (11 if len(shape) == 4 else 9)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(sorted_rows(got), sorted_rows(ref))
    assert np.all(got[got[:, 2] == DBL_MAX, -1] == -1)


def test_to_cripser_batch_and_superlevel(rng: np.random.Generator) -> None:
    x = rng.random((3, 5, 6))
    dg = cuph.persistence(x, batch_dims=1)
    out = dg.to_cripser()
    assert isinstance(out, list) and len(out) == 3
    for i, a in enumerate(out):
        np.testing.assert_array_equal(a, dg[i].to_cripser())
        coords = tuple(a[:, 3 + j].astype(int) for j in range(2))
        np.testing.assert_array_equal(x[i][coords], a[:, 1])
    sup = cuph.persistence(x[0], superlevel=True).to_cripser()
    assert (sup[:, 2] == -DBL_MAX).sum() == 1


def test_to_torch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    dg = cuph.persistence(rng.random((2, 5, 5)), batch_dims=1)
    t = dg.to_torch()
    assert set(t) == {"dim", "birth", "death", "birth_index", "death_index", "item", "offsets"}
    for k, v in t.items():
        assert isinstance(v, torch.Tensor)
        np.testing.assert_array_equal(v.numpy(), np.asarray(getattr(dg, k)))


def test_to_torch_missing_torch(monkeypatch, rng: np.random.Generator) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    dg = cuph.persistence(rng.random((4, 4)))
    with pytest.raises(ImportError, match="pip install torch"):
        dg.to_torch()


def test_save_load_roundtrip(tmp_path, rng: np.random.Generator) -> None:
    x = rng.random((2, 3, 6, 5)).astype(np.float32)
    dg = cuph.persistence(x, batch_dims=2, construction="T", superlevel=True)
    p = tmp_path / "dg.npz"
    dg.save(p)
    back = Diagrams.load(p)
    for name in ("dim", "birth", "death", "birth_index", "death_index", "item", "offsets"):
        a, b = np.asarray(getattr(dg, name)), np.asarray(getattr(back, name))
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert (back.batch_shape, back.item_shape, back.maxdim, back.construction, back.superlevel) == (
        (2, 3), (6, 5), 1, "T", True
    )
    d = dg.to_numpy()
    assert d["construction"].item() == "T" and bool(d["superlevel"]) is True
    np.save(tmp_path / "other.npy", np.zeros(3))
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a cuph Diagrams"):
        Diagrams.load(tmp_path / "other.npz")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_to_csv(tmp_path, rng, dtype) -> None:
    x = rng.random((2, 5, 6)).astype(dtype)
    dg = cuph.persistence(x, batch_dims=1)
    p = tmp_path / "dg.csv"
    dg.to_csv(p)
    with open(p) as f:
        reader = csv.reader(f)
        header = next(reader)
        body = list(reader)
    assert header == ["item", "dim", "birth", "death", "birth_index", "death_index"]
    assert len(body) == dg.n_pairs
    arr = np.array([[float(v) for v in r] for r in body])
    np.testing.assert_array_equal(arr[:, 0], dg.item)
    np.testing.assert_array_equal(arr[:, 1], dg.dim)
    np.testing.assert_array_equal(arr[:, 2].astype(dtype), dg.birth)  # round-trips exactly
    np.testing.assert_array_equal(arr[:, 3].astype(dtype), dg.death)
    np.testing.assert_array_equal(arr[:, 4], dg.birth_index)
    np.testing.assert_array_equal(arr[:, 5], dg.death_index)
    assert sum(r[3] == "inf" for r in body) == 2


def test_plot(rng: np.random.Generator) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dg = cuph.persistence(rng.random((2, 6, 6, 5)), batch_dims=1)
    ax = dg.plot(item=1)
    assert ax.get_xlabel() == "birth"
    assert len(ax.collections) == 3  # one scatter per dimension
    assert "inf" in [t.get_text() for t in ax.get_yticklabels()]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["H0", "H1", "H2"]
    fig, ax2 = plt.subplots()
    assert dg.plot(ax=ax2, dims=[1]) is ax2
    assert len(ax2.collections) == 1
    sup = cuph.persistence(rng.random((6, 6)), superlevel=True).plot()
    assert "-inf" in [t.get_text() for t in sup.get_yticklabels()]
    plt.close("all")


def test_concat_equals_one_call(rng: np.random.Generator) -> None:
    x = rng.integers(0, 5, size=(7, 6, 5)).astype(np.float64)
    whole = cuph.persistence(x, batch_dims=1)
    parts = [cuph.persistence(x[a:b], batch_dims=1) for a, b in ((0, 3), (3, 4), (4, 7))]
    cat = Diagrams.concat(parts)
    for name in ("dim", "birth", "death", "birth_index", "death_index", "item", "offsets"):
        np.testing.assert_array_equal(np.asarray(getattr(cat, name)), np.asarray(getattr(whole, name)))
    assert cat.batch_shape == (7,)
    with pytest.raises(ValueError):
        Diagrams.concat(parts, batch_shape=(2, 3))
    with pytest.raises(ValueError):
        Diagrams.concat([parts[0], cuph.persistence(x[:2], batch_dims=1, construction="T")])


@pytest.mark.parametrize("batch", [(5,), (2, 3), (), (0,)])
def test_pickle_roundtrip_rebuilds_items(rng: np.random.Generator, batch) -> None:
    import pickle

    x = rng.integers(0, 4, size=batch + (6, 5)).astype(np.float32)
    dg = cuph.persistence(x, batch_dims=len(batch), maxdim=1, construction="T")
    blob = pickle.dumps(dg, protocol=5)
    back = pickle.loads(blob)
    for name in ("dim", "birth", "death", "birth_index", "death_index", "item", "offsets"):
        a, b = np.asarray(getattr(back, name)), np.asarray(getattr(dg, name))
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert (back.batch_shape, back.item_shape, back.maxdim, back.construction, back.superlevel) == (
        dg.batch_shape, dg.item_shape, dg.maxdim, dg.construction, dg.superlevel)
    # the item column is not sent: 8 bytes per pair fewer than all the columns
    assert len(blob) < sum(np.asarray(getattr(dg, n)).nbytes for n in (
        "dim", "birth", "death", "birth_index", "death_index", "item", "offsets")) - 8 * dg.n_pairs + 4096


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("superlevel", [False, True])
def test_betti_curve_at_infinity_is_the_essential_classes(rng, construction, superlevel):
    x = rng.integers(0, 4, size=(3, 6, 7)).astype(float)
    x[0, 2, 3] = np.inf  # a class killed by an infinite cell stays dead at eta = inf
    x[1, 0, 0] = -np.inf
    dg = cuph.persistence(x, batch_dims=1, construction=construction, superlevel=superlevel)
    end = -np.inf if superlevel else np.inf
    np.testing.assert_array_equal(dg.betti_curve(end), dg.betti_numbers())
    if not superlevel:
        np.testing.assert_array_equal(
            dg.betti_curve([1.5, np.inf]),
            np.stack([cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction)
                      for eta in (1.5, np.inf)], axis=1))


@pytest.mark.parametrize("n_eta", [1, 2, 8, 9, 33, 60])  # up to 8: pair by pair
@pytest.mark.parametrize("superlevel", [False, True])
def test_betti_curve_any_thresholds(rng, superlevel, n_eta) -> None:
    """Unsorted thresholds, repeated ones, ties with birth/death values and the infinities:
    the count equals the direct one."""
    x = rng.integers(0, 6, size=(3, 7, 6)).astype(np.float32)
    dg = cuph.persistence(x, batch_dims=1, construction="T", superlevel=superlevel)
    pool = np.concatenate([np.arange(-1.0, 7.0, 0.5), [-np.inf, np.inf]])
    eta = rng.choice(pool, size=n_eta, replace=n_eta > pool.size)
    np.testing.assert_array_equal(dg.betti_curve(eta), direct_betti_curve(dg, eta))


def test_item_column_rebuilt_from_offsets(rng: np.random.Generator) -> None:
    # The engine leaves `item` to Diagrams (built from the offsets when first read).
    x = rng.integers(0, 4, size=(4, 3, 6, 5)).astype(np.float32)
    dg = cuph.persistence(x, batch_dims=2, maxdim=1)
    expected = np.concatenate([np.full(dg[i].n_pairs, i) for i in range(dg.n_items)])
    np.testing.assert_array_equal(dg.item, expected)
    assert dg.item.dtype == np.int64
    lazy = Diagrams(dim=dg.dim, birth=dg.birth, death=dg.death, birth_index=dg.birth_index,
                    death_index=dg.death_index, item=None, offsets=dg.offsets,
                    batch_shape=dg.batch_shape, item_shape=dg.item_shape, maxdim=dg.maxdim,
                    construction=dg.construction, superlevel=dg.superlevel)
    np.testing.assert_array_equal(lazy.item, expected)
    with pytest.raises(ValueError, match="item must be a 1-D array"):
        Diagrams(dim=dg.dim, birth=dg.birth, death=dg.death, birth_index=dg.birth_index,
                 death_index=dg.death_index, item=expected[:-1], offsets=dg.offsets,
                 batch_shape=dg.batch_shape, item_shape=dg.item_shape, maxdim=dg.maxdim,
                 construction=dg.construction, superlevel=dg.superlevel)


def test_an_item_is_a_complete_diagrams(rng: np.random.Generator) -> None:
    # dg[i] is assembled without __init__: it must have every attribute a constructed one has,
    # with the same values, and its columns must be views (no copy per item).
    dg = cuph.persistence(rng.integers(0, 5, size=(3, 6, 7)).astype(np.float32), batch_dims=1)
    one = dg[1]
    s = slice(int(dg.offsets[2]), int(dg.offsets[4]))
    built = Diagrams(dim=dg.dim[s], birth=dg.birth[s], death=dg.death[s],
                     birth_index=dg.birth_index[s], death_index=dg.death_index[s], item=None,
                     offsets=dg.offsets[2:5] - dg.offsets[2], batch_shape=(),
                     item_shape=dg.item_shape, maxdim=dg.maxdim, construction=dg.construction,
                     superlevel=dg.superlevel)
    assert vars(one).keys() == vars(built).keys()
    for name, value in vars(built).items():
        got = getattr(one, name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got, value)
        else:
            assert got == value, name
    np.testing.assert_array_equal(one.item, np.zeros(one.n_pairs, dtype=np.int64))
    assert np.shares_memory(one.birth, dg.birth)
    assert one.to_gudhi() == built.to_gudhi() and repr(one) == repr(built)


def test_gudhi_formats_leave_the_garbage_collector_as_they_found_it(rng) -> None:
    # to_gudhi and CubicalComplex.persistence pause the cyclic collector while they build
    # their tuples; whatever its state was, it is the same afterwards.
    import gc

    x = rng.random((2, 6, 6))
    dg = cuph.persistence(x, batch_dims=1)
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            assert dg.to_gudhi() == [dg[0].to_gudhi(), dg[1].to_gudhi()]
            assert cuph.CubicalComplex(vertices=x[0]).persistence()
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
