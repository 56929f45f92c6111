"""cuph.metrics: Betti numbers at a threshold, Betti profiles, theta and the model ranking."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

import cuph.metrics as cm

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


# ----------------------------------------------------------------------------- theta
def _ridge_reference(omega, alpha=1e-3):
    """Closed-form ridge with an unpenalised intercept: centre, solve, read c1..c3."""
    y = np.asarray(omega, float)
    y = y / np.linalg.norm(y)
    x = np.arange(1, len(y) + 1, dtype=float)
    X = np.stack([x, x**2, x**3], axis=1)
    Xc, yc = X - X.mean(0), y - y.mean()
    c = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(3), Xc.T @ yc)
    return c[0] + c[1] / 2 + c[2] / 2


@pytest.mark.parametrize("L", [4, 5, 11, 19, 53])
def test_theta_matches_closed_form_ridge(rng, L):
    omega = rng.random(L) * 100 + 1
    assert cm.topological_transferability(omega) == pytest.approx(_ridge_reference(omega), rel=1e-6)


def test_theta_of_an_exact_cubic_recovers_its_coefficients():
    x = np.arange(1, 12, dtype=float)
    c = np.array([2.0, -0.3, 0.02, -0.001])
    y = c[0] + c[1] * x + c[2] * x**2 + c[3] * x**3
    y = y / np.linalg.norm(y)  # already normalised: theta reads the fitted coefficients
    fit = cm.decay_fit(y, alpha=1e-9)
    cn = c / np.linalg.norm(c[0] + c[1] * x + c[2] * x**2 + c[3] * x**3)
    np.testing.assert_allclose(fit.coef, cn, rtol=1e-4, atol=1e-7)
    assert fit.theta == pytest.approx(cn[1] + cn[2] / 2 + cn[3] / 2, rel=1e-4)
    # Scale invariance: Omega is normalised first.
    assert cm.topological_transferability(7 * y) == pytest.approx(cm.topological_transferability(y))


@pytest.mark.parametrize("omega,pattern", [
    ([1.0, 2.0, 3.0], r"at least 4 layers"),
    ([[1.0, 2.0, 3.0, 4.0]], r"1-D"),
    ([1.0, np.nan, 2.0, 3.0], r"finite"),
    ([0.0, 0.0, 0.0, 0.0], r"all zeros"),
])
def test_theta_bad_input(omega, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.topological_transferability(omega)


def test_published_ranking_correlations():
    """The published theta/accuracy table gives the published tau, r and rho."""
    with open(os.path.join(DATA, "transferability_table.csv")) as f:
        rows = list(csv.DictReader(f))
    theta = {r["model"]: float(r["theta"]) for r in rows}
    acc = {r["model"]: float(r["finetuned_accuracy_cifar10"]) for r in rows}
    r = cm.rank_models(theta, accuracies=acc)
    assert round(r.correlations["kendall_tau"], 3) == -0.778
    assert round(r.correlations["pearson_r"], 3) == -0.815
    assert round(r.correlations["spearman_rho"], 3) == -0.900
    assert r.order[0] == "densenet169" and r.order[-1] == "vgg16"
    assert "Kendall tau = -0.778" in r.report()


def test_rank_models_bad_input():
    with pytest.raises(ValueError, match="models"):
        cm.rank_models({})
    with pytest.raises(ValueError, match="accuracies: no accuracy for model 'b'"):
        cm.rank_models({"a": 0.1, "b": 0.2, "c": 0.3}, accuracies={"a": 1, "c": 2})
    with pytest.raises(ValueError, match="at least 3"):
        cm.rank_models({"a": 0.1, "b": 0.2}, accuracies={"a": 1, "b": 2})
    with pytest.raises(ValueError, match="data: needed"):
        cm.rank_models({"a": object()})


# ----------------------------------------------------------------------------- Betti at eta
def _alive_counts_gudhi(item, eta, construction):
    gudhi = pytest.importorskip("gudhi")
    kw = {"vertices": item} if construction == "V" else {"top_dimensional_cells": item}
    cc = gudhi.CubicalComplex(**kw)
    cc.compute_persistence(homology_coeff_field=2, min_persistence=-1)
    out = []
    for k in range(item.ndim):
        iv = np.asarray(cc.persistence_intervals_in_dimension(k)).reshape(-1, 2)
        out.append(int(((iv[:, 0] <= eta) & (eta < iv[:, 1])).sum()))
    return out


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape", [(6, 5, 4), (1, 7, 7), (9, 1, 1), (8, 9)])
def test_betti_at_matches_gudhi(rng, construction, shape):
    x = rng.integers(0, 4, size=(3,) + shape).astype(np.float64)  # ties everywhere
    for rule in ("mean", 1.0, 2.5, -1.0, 10.0):
        got = cm.betti_at(x, rule, batch_dims=1, construction=construction)
        for i in range(3):
            eta = x[i].mean() if rule == "mean" else rule
            assert got[i].tolist() == _alive_counts_gudhi(x[i], eta, construction)


def test_betti_at_rules_and_caps(rng):
    x = rng.random((4, 5, 6))
    med = cm.betti_at(x, "median", batch_dims=1)
    via_fn = cm.betti_at(x, lambda v: np.median(v), batch_dims=1)
    np.testing.assert_array_equal(med, via_fn)
    # maxdim above d - 1 gives zero columns; below caps the output.
    wide = cm.betti_at(x, 0.5, batch_dims=1, maxdim=3)
    assert wide.shape == (4, 4) and not wide[:, 2:].any()
    assert cm.betti_at(x, 0.5, batch_dims=1, maxdim=0).shape == (4, 1)
    with pytest.raises(ValueError, match="threshold"):
        cm.betti_at(x, "max", batch_dims=1)
    with pytest.raises(ValueError, match="NaN"):
        cm.betti_at(x, float("nan"), batch_dims=1)
    x[2, 1, 3] = np.nan  # the data's NaN named as such, not as a NaN threshold
    for rule in ("mean", "median", lambda v: v.mean()):
        with pytest.raises(ValueError, match=r"x: item \(2,\) contains NaN"):
            cm.betti_at(x, rule, batch_dims=1)
    with pytest.raises(ValueError, match=r"x: contains NaN at index \(2, 1, 3\)"):
        cm.betti_at(x, 0.5, batch_dims=1)


# ----------------------------------------------------------------------------- profiles
torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def model_and_images():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    from sklearn.datasets import load_digits

    digits = load_digits().images[:10].astype(np.float32) / 16.0  # 8x8, shipped with sklearn
    img = torch.from_numpy(digits)[:, None].repeat(1, 3, 1, 1)
    img = torch.nn.functional.interpolate(img, size=32, mode="bilinear", align_corners=False)
    return model, img


def test_profile_shapes_and_omega(model_and_images):
    model, img = model_and_images
    prof = cm.betti_profile(model, img, batch_size=4, progress=False)
    assert prof.betti.shape == (11, 10, 3)
    assert prof.layer_shapes[0] == (64, 16, 16) and prof.layer_shapes[-1] == (512, 1, 1)
    np.testing.assert_allclose(prof.omega, prof.betti.sum(2).mean(1))
    assert np.isfinite(prof.theta())
    assert (prof.betti[:, :, 0] >= 1).all()  # the sublevel set at its mean is never empty
    table = prof.table()
    assert len(table["b0"]) == 110


def test_profile_equals_the_studys_pipeline_with_cripser(model_and_images):
    """Image by image with CubicalRipser (the study's way) gives the same Betti numbers."""
    cripser = pytest.importorskip("cripser")
    from cuph.nn import ActivationExtractor

    model, img = model_and_images
    layers = ["relu", "layer1.1", "layer3.0"]
    prof = cm.betti_profile(model, img[:4], layers=layers, batch_size=3, progress=False)
    acts = ActivationExtractor(model, layers=layers)(img[:4])
    for li, name in enumerate(layers):
        for i in range(4):
            a = acts[name][i].double().numpy()
            eta = a.mean()
            ph = cripser.computePH(np.ascontiguousarray(a), maxdim=2)
            ref = [int(((ph[:, 0] == k) & (ph[:, 1] <= eta) & (eta < ph[:, 2])).sum())
                   for k in range(3)]
            assert prof.betti[li, i].tolist() == ref, (name, i)


def test_per_channel_is_the_sum_over_channel_maps(model_and_images):
    model, img = model_and_images
    from cuph.nn import ActivationExtractor

    prof = cm.betti_profile(model, img[:3], layers=["layer1.0"], per_channel=True,
                            threshold=0.2, progress=False)
    a = ActivationExtractor(model, layers=["layer1.0"])(img[:3])["layer1.0"].numpy()
    ref = cm.betti_at(a, 0.2, batch_dims=2, maxdim=2).sum(axis=1)
    np.testing.assert_array_equal(prof.betti[0], ref)


def test_profile_save_writes_files(tmp_path, model_and_images):
    model, img = model_and_images
    prof = cm.betti_profile(model, img[:2], progress=False)
    paths = prof.save(tmp_path)
    assert set(paths) >= {"csv", "layers_csv", "npz", "png"}
    with np.load(paths["npz"]) as z:
        np.testing.assert_array_equal(z["betti"], prof.betti)
    with open(paths["csv"]) as f:
        assert f.readline().strip() == "layer,depth,image,b0,b1,b2"
        assert sum(1 for _ in f) == 11 * 2


def test_rank_models_profiles_models(model_and_images):
    _, img = model_and_images
    torch.manual_seed(1)
    models = {"r18": torchvision.models.resnet18(weights=None).eval(),
              "mnv2": torchvision.models.mobilenet_v2(weights=None).eval(),
              "fixed": 0.05}
    r = cm.rank_models(models, img[:2], accuracies={"r18": 95.4, "mnv2": 95.2, "fixed": 96.0},
                       progress=False)
    assert set(r.theta) == {"r18", "mnv2", "fixed"}
    assert r.profiles["mnv2"].betti.shape[0] == 19
    assert r.theta["r18"] == pytest.approx(r.profiles["r18"].theta())
    assert -1 <= r.correlations["kendall_tau"] <= 1


def test_profile_bad_input(model_and_images):
    model, img = model_and_images
    with pytest.raises(ValueError, match="device"):
        cm.betti_profile(model, img[:1], device="tpu", progress=False)
    with pytest.raises(ValueError, match="at least 4 layers"):
        cm.betti_profile(model, img[:1], layers=["relu", "layer1.0"], progress=False).theta()
    with pytest.raises(ValueError, match="data: empty"):
        cm.betti_profile(model, img[:0], progress=False)
