"""cuph.sklearn.CubicalPersistence against gudhi.sklearn.CubicalPersistence."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
gudhi_sklearn = pytest.importorskip("gudhi.sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from cuph.sklearn import CubicalPersistence  # noqa: E402


def _rows(a: np.ndarray) -> list:
    return sorted(map(tuple, np.asarray(a, np.float64).reshape(-1, 2).tolist()))


def _same(ours: list, theirs: list, unwrap: bool, rtol: float = 0.0) -> None:
    """Per input and dimension, the same rows (sorted); equal values unless ``rtol``."""
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        if unwrap:
            o, t = [o], [t]
        assert len(o) == len(t)
        for a, b in zip(o, t):
            assert isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape[1:] == (2,)
            if rtol == 0.0:
                assert _rows(a) == _rows(b)
            else:
                ra, rb = np.asarray(_rows(a)).reshape(-1, 2), np.asarray(_rows(b)).reshape(-1, 2)
                assert ra.shape == rb.shape
                np.testing.assert_allclose(ra, rb, rtol=rtol)


CASES = [
    ((6, 40), 3),              # 1-D inputs
    ((5, 17, 23), 4),          # gudhi's rectangle fast path for top cells
    ((4, 2, 9), 3),            # a 2-row image: gudhi reduces it to a line
    ((3, 1, 12), 3),
    ((3, 9, 8, 7), 4),         # 3-D
]


@pytest.mark.parametrize("shape, levels", CASES)
@pytest.mark.parametrize("input_type", ["top_dimensional_cells", "vertices"])
@pytest.mark.parametrize("dims", [0, 1, [0, 1, 2], [2, 0], [5]])
@pytest.mark.parametrize("min_persistence", [0.0, 1.0, -1.0])  # 1: lengths of exactly 1 go
def test_matches_gudhi(rng, shape, levels, input_type, dims, min_persistence):
    x = rng.integers(0, levels, shape).astype(np.float64)  # many ties
    kw = dict(homology_dimensions=dims, input_type=input_type, homology_coeff_field=2,
              min_persistence=min_persistence)
    ours = CubicalPersistence(**kw, n_jobs=2).fit_transform(x)
    theirs = gudhi_sklearn.CubicalPersistence(**kw, n_jobs=1).fit_transform(x)
    if min_persistence > 0:
        # gudhi 3.13 skips the filter on 2-D top-cell images with a side of 1 or 2 (it computes
        # them as a line and returns all of its pairs); the documented rule, death - birth >
        # min_persistence, is applied here, where it changes nothing for gudhi's other paths.
        def rule(d: np.ndarray) -> np.ndarray:
            return d[(d[:, 1] - d[:, 0] > min_persistence) | np.isinf(d[:, 1])]

        theirs = [rule(t) if np.ndim(dims) == 0 else [rule(a) for a in t] for t in theirs]
    _same(ours, theirs, np.ndim(dims) == 0)


def test_inputs_as_lists_of_any_shapes_and_types(rng):
    import torch

    arrays = [rng.integers(0, 4, s).astype(np.float32) for s in
              [(7, 9), (7, 9), (5,), (4, 5, 6), (7, 9), (3, 3)]]
    mixed = [arrays[0], arrays[1].tolist(), arrays[2], torch.from_numpy(arrays[3]), arrays[4],
             arrays[5][::-1, ::-1]]
    kw = dict(homology_dimensions=[0, 1, 2], homology_coeff_field=2)
    ours = CubicalPersistence(**kw).fit_transform(mixed)
    theirs = gudhi_sklearn.CubicalPersistence(**kw).fit_transform(
        [np.asarray(a) for a in arrays[:5]] + [np.ascontiguousarray(arrays[5][::-1, ::-1])])
    _same(ours, theirs, False)
    # a single batch array gives the same as its items in a list
    batch = np.stack([arrays[0], arrays[1], arrays[4]])
    est = CubicalPersistence(homology_dimensions=1)
    _same(est.fit_transform(batch), est.transform(list(batch)), True)


def test_empty_inputs_give_empty_diagrams():
    out = CubicalPersistence(homology_dimensions=[0, 1]).fit_transform([np.zeros((0, 4)),
                                                                       np.ones((2, 2))])
    assert [a.shape for a in out[0]] == [(0, 2), (0, 2)]
    assert out[1][0].tolist() == [[1.0, np.inf]]


def test_is_a_scikit_learn_estimator(rng):
    est = CubicalPersistence(homology_dimensions=[1], input_type="vertices", n_jobs=-1)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.transform([np.ones((3, 3))])
    x = rng.random((4, 10, 10))
    _same(est.fit_transform(x), est.fit(x).transform(x), False)
    est.set_params(homology_dimensions=0)
    assert len(est.fit_transform(x)[0]) >= 1


def test_field_checks_and_warnings(rng):
    x = rng.random((2, 5, 5, 5))
    with pytest.warns(UserWarning, match="Z/2"):
        CubicalPersistence(homology_dimensions=1).fit_transform(x)  # default field 11, 3-D
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CubicalPersistence(homology_dimensions=1).fit_transform(rng.random((2, 6, 6)))  # 2-D
        CubicalPersistence(homology_dimensions=1, homology_coeff_field=2).fit_transform(x)
    with pytest.raises(ValueError, match="prime"):
        CubicalPersistence(homology_dimensions=1, homology_coeff_field=4).fit(x)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="homology_dimensions"):
        CubicalPersistence(homology_dimensions=[[0, 1]])
    with pytest.raises(ValueError, match="homology_dimensions"):
        CubicalPersistence(homology_dimensions=[0.5])
    with pytest.raises(ValueError, match="input_type"):
        CubicalPersistence(homology_dimensions=0, input_type="pixels").fit([np.ones((2, 2))])
    with pytest.raises(ValueError, match="n_jobs"):
        CubicalPersistence(homology_dimensions=0, n_jobs=0).fit([np.ones((2, 2))])
    with pytest.raises(ValueError, match="min_persistence"):
        CubicalPersistence(homology_dimensions=0, min_persistence=float("nan")).fit([])
    est = CubicalPersistence(homology_dimensions=0).fit([])
    with pytest.raises(ValueError, match="NaN"):
        est.transform([np.array([[0.0, np.nan]])])
    with pytest.raises(ValueError, match="X"):
        est.transform(np.ones(3))
    with pytest.raises(ValueError, match=r"X\[1\]"):
        est.transform([np.ones((2, 2)), np.ones((2,) * 5)])
    with pytest.raises(TypeError, match="X"):
        est.transform(3.0)


# ------------------------------------------------------------------------- Rips
gph = pytest.importorskip("gph")
from cuph.sklearn import RipsPersistence  # noqa: E402


@pytest.mark.parametrize("dims", [0, 1, [0, 1, 2], [2, 0], [4]])
@pytest.mark.parametrize("threshold", [np.inf, 2.5])
@pytest.mark.parametrize("integer", [True, False])
def test_rips_matches_gudhi_on_point_clouds(rng, dims, threshold, integer):
    sizes = [12, 30, 12, 7]
    clouds = [rng.integers(0, 4, (n, 3)).astype(np.float64) if integer  # duplicates, ties
              else rng.standard_normal((n, 3)) for n in sizes]
    kw = dict(homology_dimensions=dims, threshold=threshold, homology_coeff_field=2)
    ours = RipsPersistence(**kw, n_jobs=2).fit_transform(clouds)
    theirs = gudhi_sklearn.RipsPersistence(**kw, n_jobs=1).fit_transform(clouds)
    # integer coordinates: every length is a correctly rounded sqrt, equal to gudhi's;
    # otherwise gudhi's scipy distances may differ in the last bit
    _same(ours, theirs, np.ndim(dims) == 0, rtol=0.0 if integer else 1e-12)


@pytest.mark.parametrize("input_type", ["full distance matrix", "lower distance matrix"])
def test_rips_matrices(rng, input_type):
    from scipy.spatial.distance import pdist, squareform

    clouds = [rng.integers(0, 5, (n, 2)).astype(np.float64) for n in (9, 15, 9)]
    full = [squareform(pdist(c)) for c in clouds]
    given = full
    if input_type == "lower distance matrix":  # a square one with junk above, ragged rows
        given = [np.tril(full[0]) + np.triu(np.full_like(full[0], 99.0), 1),
                 [list(r[:i]) for i, r in enumerate(full[1])], full[2]]
    kw = dict(homology_dimensions=[0, 1], homology_coeff_field=3)
    ours = RipsPersistence(**kw, input_type=input_type).fit_transform(given)
    theirs = gudhi_sklearn.RipsPersistence(**kw, input_type="full distance matrix").fit_transform(full)
    _same(ours, theirs, False)
    points = RipsPersistence(**kw).fit_transform(clouds)
    _same(ours, points, False)


def test_rips_tiny_clouds_and_errors():
    out = RipsPersistence(homology_dimensions=[0, 1]).fit_transform(
        [np.zeros((1, 3)), np.zeros((0, 3)), np.array([[0.0], [2.0]])])
    assert out[0][0].tolist() == [[0.0, np.inf]] and out[0][1].shape == (0, 2)
    assert out[1][0].shape == (0, 2)
    assert out[2][0].tolist() == [[0.0, 2.0], [0.0, np.inf]]
    with pytest.raises(ValueError, match="input_type"):
        RipsPersistence(0, input_type="graph").fit([])
    with pytest.raises(NotImplementedError, match="coo_matrix"):
        RipsPersistence(0, input_type="distance coo_matrix").fit([])
    with pytest.raises(ValueError, match="num_collapses"):
        RipsPersistence(0, num_collapses=-1).fit([])
    with pytest.raises(ValueError, match="prime"):
        RipsPersistence(0, homology_coeff_field=6).fit([])
    with pytest.raises(ValueError, match=r"X\[0\]"):
        RipsPersistence(0).fit_transform([np.zeros(4)])
    with pytest.raises(ValueError, match="symmetric|diagonal"):
        RipsPersistence(0, input_type="full distance matrix").fit_transform([np.ones((3, 3))])
    assert clone(RipsPersistence([0, 1], threshold=1.0)).get_params()["threshold"] == 1.0
