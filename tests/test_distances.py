"""cuph.distances: distances equal gudhi's and persim's on the same diagrams; vectorisations."""

from __future__ import annotations

import numpy as np
import pytest

from cuph import distances as D

gudhi = pytest.importorskip("gudhi")
persim = pytest.importorskip("persim")
pytest.importorskip("sklearn")  # gudhi.representations needs it


def _random_dgm(rng, n):
    b = rng.random(n)
    return np.c_[b, b + rng.random(n) * 2]


@pytest.mark.parametrize("seed", range(8))
def test_bottleneck_equals_gudhi_and_persim(seed):
    rng = np.random.default_rng(seed)
    a, b = _random_dgm(rng, 15), _random_dgm(rng, 9)
    ours = D.bottleneck(a, b)
    assert ours == pytest.approx(gudhi.bottleneck_distance(a, b, e=0), rel=1e-12)
    assert ours == pytest.approx(persim.bottleneck(a, b), rel=1e-9)
    assert D.bottleneck(a, b, delta=1e-6) == pytest.approx(ours, rel=1e-5)


@pytest.mark.parametrize("seed", range(8))
def test_wasserstein_equals_persim_and_hera(seed):
    rng = np.random.default_rng(50 + seed)
    a, b = _random_dgm(rng, 12), _random_dgm(rng, 7)
    exact = D.wasserstein(a, b, internal_p=2, delta=0)
    assert exact == pytest.approx(persim.wasserstein(a, b), rel=1e-12)
    approx = D.wasserstein(a, b, internal_p=2, delta=1e-6)
    assert approx == pytest.approx(exact, rel=1e-5)
    from gudhi import hera
    assert D.wasserstein(a, b, order=2, internal_p=2) == pytest.approx(
        hera.wasserstein_distance(a, b, order=2, internal_p=2, delta=0.01), rel=1e-12)


def test_distances_on_vr_diagrams(rng):
    import cuph.vr
    dg = cuph.vr.persistence(rng.random((3, 25, 2)), maxdim=1)
    m = D.distance_matrix(dg, dim=1, metric="bottleneck")
    for i in range(3):
        for j in range(3):
            assert m[i, j] == pytest.approx(persim.bottleneck(dg[i].in_dim(1), dg[j].in_dim(1)), abs=1e-12)
    w = D.distance_matrix(dg, dim=0, metric="wasserstein", internal_p=2, delta=0)
    assert w[0, 1] == pytest.approx(persim.wasserstein(dg[0].in_dim(0)[:-1], dg[1].in_dim(0)[:-1]))
    # essential pairs: one each in H0, matched at distance 0
    assert D.bottleneck(dg[0], dg[0], dim=0, essential=True) == 0.0


def test_vectorisations(rng):
    a = _random_dgm(rng, 20)
    from gudhi.representations import Entropy, Landscape
    ent = Entropy(mode="scalar", normalized=False).fit_transform([a])[0, 0]
    assert D.persistent_entropy(a) == pytest.approx(ent, rel=1e-12)
    lam = D.landscape(a, num_landscapes=3, resolution=50, sample_range=(0, 3))
    assert lam.shape == (3, 50)
    assert np.all(lam[0] >= lam[1]) and np.all(lam[1] >= lam[2])
    ref = Landscape(num_landscapes=3, resolution=50, sample_range=[0, 3]).fit_transform([a])[0]
    np.testing.assert_allclose(lam.ravel() * np.sqrt(2), ref, rtol=1e-12)
    t = np.linspace(0, 3, 50)  # Bubenik's definition, brute force
    tent = np.maximum(0, np.minimum(t[None] - a[:, :1], a[:, 1:] - t[None]))
    np.testing.assert_allclose(lam, -np.sort(-tent, axis=0)[:3], atol=1e-12)
    img = D.persistence_image(a, bandwidth=0.1, resolution=(10, 12), im_range=(0, 1, 0, 2))
    assert img.shape == (10, 12) and img.sum() > 0
    grid = np.linspace(0, 3, 31)
    beta = D.betti_curve(a, grid)
    brute = [(np.sum((a[:, 0] <= t) & (t < a[:, 1]))) for t in grid]
    np.testing.assert_array_equal(beta, brute)
    assert D.total_persistence(a, p=1) == pytest.approx(np.sum(a[:, 1] - a[:, 0]))
    assert D.total_persistence(np.zeros((0, 2))) == 0.0
    assert D.landscape(np.zeros((0, 2)), resolution=7).shape == (5, 7)


def test_betti_curve_matches_diagrams(rng):
    import cuph.vr
    dg = cuph.vr.persistence(rng.random((30, 2)), maxdim=1)
    grid = np.linspace(0, 1, 40)
    for k in (0, 1):
        np.testing.assert_array_equal(D.betti_curve(dg, grid, dim=k), dg.betti_curve(grid)[:, k])


def test_bad_input():
    with pytest.raises(ValueError, match="expected an"):
        D.bottleneck(np.zeros((3, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        D.wasserstein([[0, np.nan]], [[0, 1]])
    with pytest.raises(ValueError, match="metric"):
        D.distance_matrix([np.zeros((1, 2))], metric="foo")
    with pytest.raises(ValueError, match="delta=0"):
        D.wasserstein([[0, 1]], [[0, 2]], order=2, internal_p=2, delta=0)
