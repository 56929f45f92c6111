"""cuph.represent and cuph.compare on randomly initialised torchvision models (no downloads)."""

from __future__ import annotations

import doctest
import importlib
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
pytest.importorskip("sklearn")
pytest.importorskip("gph")
pytest.importorskip("gudhi")

import cuph.compare as compare  # noqa: E402
import cuph.represent as rep  # noqa: E402


def _tiny_vit():
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(1)
    return VisionTransformer(image_size=32, patch_size=8, num_layers=3, num_heads=2,
                             hidden_dim=32, mlp_dim=64).eval()


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(40, 3, 32, 32, generator=g)


def test_layer_clouds_same_inputs_equal_n(resnet, images):
    clouds = rep.layer_clouds(resnet, images, n_points=25, seed=3)
    assert list(clouds) == rep.default_layers(resnet) and len(clouds) == 11
    assert {c.shape[0] for c in clouds.values()} == {25}
    assert clouds["layer1.0"].shape[1] == 64 * 8 * 8
    # the same inputs: extracting from exactly those images gives the same cloud
    idx = rep.subsample_indices(40, 25, seed=3)
    direct = rep.layer_clouds(resnet, images[idx], layers=["layer2.0"], seed=None)
    np.testing.assert_allclose(direct["layer2.0"], clouds["layer2.0"], rtol=1e-5, atol=1e-6)
    # an iterable of batches gives the same clouds as a tensor
    batches = [(images[i:i + 16], None) for i in range(0, 40, 16)]
    it = rep.layer_clouds(resnet, batches, layers=["layer2.0"], n_points=25, seed=3)
    np.testing.assert_array_equal(it["layer2.0"], clouds["layer2.0"])


def test_projection(resnet, images):
    clouds = rep.layer_clouds(resnet, images, layers=["layer3.0"], n_points=20, project_to=8)
    assert clouds["layer3.0"].shape == (20, 8)
    r = rep.layer_clouds(resnet, images, layers=["layer3.0"], n_points=20, project_to=8,
                         projection="random", seed=1)
    assert r["layer3.0"].shape == (20, 8)
    x = np.random.default_rng(0).standard_normal((30, 6))
    y = rep.project(x, 6 - 1)
    assert y.shape == (30, 5) and np.linalg.norm(y) <= np.linalg.norm(x - x.mean(0))
    assert rep.project(x, 6) is not None and rep.project(x, 10).shape == (30, 6)


def test_vit_default_layers():
    vit = _tiny_vit()
    names = rep.default_layers(vit)
    assert names[0] == "conv_proj" and names[-1] == "encoder.ln" and len(names) == 5
    clouds = rep.layer_clouds(vit, torch.rand(12, 3, 32, 32), n_points=10)
    assert clouds["encoder.layers.encoder_layer_0"].shape == (10, 17 * 32)


def test_remove_outliers_deterministic():
    rng = np.random.default_rng(0)
    cloud = rng.standard_normal((120, 4))
    cloud[7] += 25.0  # an obvious outlier
    kept1, mask1 = rep.remove_outliers(cloud, contamination=0.05)
    kept2, mask2 = rep.remove_outliers(cloud.copy(), contamination=0.05)
    np.testing.assert_array_equal(mask1, mask2)
    np.testing.assert_array_equal(kept1, kept2)
    assert not mask1[7] and mask1.sum() == 114
    with pytest.raises(ValueError, match="contamination"):
        rep.remove_outliers(cloud, contamination=0.9)
    with pytest.raises(ValueError, match="lof"):
        rep.remove_outliers(cloud, method="iforest")


def test_layer_clouds_with_lof_seeded(resnet, images):
    a = rep.layer_clouds(resnet, images, layers=["layer1.1", "layer3.1"], n_points=30, seed=5,
                         outliers="lof", contamination=0.1)
    b = rep.layer_clouds(resnet, images, layers=["layer1.1", "layer3.1"], n_points=30, seed=5,
                         outliers="lof", contamination=0.1)
    assert {v.shape[0] for v in a.values()} == {27}
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_outlier_effect_small_against_baseline():
    # Gaussian blobs plus a few far outliers: removing them changes H0 by about as much as
    # resampling does (well below the distance to a different cloud).
    rng = np.random.default_rng(3)
    cloud = rng.standard_normal((150, 5))
    t = compare.outlier_effect({"blob": cloud}, contamination=0.05, maxdim=1, seed=1)
    assert t["n_kept"] == [142, 142] and t["dim"] == [0, 1]
    assert all(np.isfinite(t["removed"])) and all(np.isfinite(t["baseline"]))
    t2 = compare.outlier_effect({"blob": cloud}, contamination=0.05, maxdim=1, seed=1)
    assert t2 == t  # deterministic with a seed


def test_equal_n_enforced():
    with pytest.raises(ValueError, match="different sizes"):
        rep.check_equal_n({"a": np.zeros((5, 2)), "b": np.zeros((6, 2))})
    with pytest.raises(ValueError, match="only 10 are available"):
        rep.subsample_indices(10, 11)
    with pytest.raises(ValueError, match="at least 2"):
        rep.subsample_indices(10, 1)


def test_compare_layers(resnet, images, tmp_path):
    res = compare.layers(resnet, images, n_points=30, maxdim=1, name="resnet18")
    L = len(res.layers)
    assert res.matrix.shape == (2, L, L)
    assert np.all(res.matrix >= 0) and np.allclose(res.matrix, np.swapaxes(res.matrix, 1, 2))
    assert np.all(np.diagonal(res.matrix, axis1=1, axis2=2) == 0)
    assert res.matrix[0].max() > 0
    # the matrix entries are the distances of the stored diagrams
    from cuph import distances as D
    a, b = res.diagrams[res.layers[0]], res.diagrams[res.layers[-1]]
    assert res.matrix[1, 0, L - 1] == pytest.approx(D.wasserstein(a, b, dim=1))
    t = res.table()
    assert len(t["distance"]) == 2 * L * L
    paths = res.save(str(tmp_path))
    for p in paths.values():
        assert os.path.getsize(p) > 0


def test_compare_models(resnet, images, tmp_path):
    res = compare.models({"resnet18": resnet, "vit": _tiny_vit()}, images, n_points=20,
                         maxdim=1, distance="bottleneck")
    assert res.cross[("resnet18", "vit")].shape == (2, 11, 5)
    al = res.alignment("resnet18", "vit", dim=1)
    assert len(al["layer_a"]) == 11 and al["layer_b"][0] == "conv_proj"
    assert al["layer_b"][-1] == "encoder.ln"
    back = res.alignment("vit", "resnet18", dim=0)
    assert len(back["distance"]) == 5
    t = res.table()
    assert len(t["distance"]) == 2 * (11 * 11 + 5 * 5 + 11 * 5)
    paths = res.save(str(tmp_path))
    assert os.path.exists(paths["alignment_H1"]) and os.path.exists(paths["csv"])


def test_compare_bad_input(resnet, images):
    with pytest.raises(ValueError, match="distance"):
        compare.layers(resnet, images, n_points=10, distance="foo")
    with pytest.raises(ValueError, match="only 40 are available"):
        compare.layers(resnet, images, n_points=50)
    with pytest.raises(TypeError, match="models"):
        compare.models([resnet], images)


@pytest.mark.parametrize("name", ["cuph.vr", "cuph.distances", "cuph.represent", "cuph.compare"])
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_cli_compare(tmp_path, capsys):
    from cuph.cli import main

    out = tmp_path / "cmp"
    rc = main(["compare", "--models", "a=resnet18", "b=resnet18", "--data", "random",
               "--points", "16", "--layers", "layer1.0,layer4.1", "--maxdim", "1",
               "--distance", "bottleneck", "--no-progress", "--out", str(out),
               "--outlier-effect", "--contamination", "0.1"])
    assert rc == 0
    files = set(os.listdir(out))
    assert {"models_distances.csv", "models_alignment.csv", "models_cross.npz",
            "a_distances.csv", "b_layers.npz", "alignment_H1.png", "outlier_effect.csv"} <= files
    assert "16 points per cloud" in capsys.readouterr().out
    rc = main(["compare", "--models", "resnet18", "--points", "20", "--images", "10",
               "--no-progress", "--out", str(out)])
    assert rc == 2
    assert "--images" in capsys.readouterr().err


def test_parse_model_spec():
    from cuph.cli_compare import parse_model_spec

    assert parse_model_spec("vit_b_16") == ("vit_b_16", "vit_b_16", None)
    assert parse_model_spec("r50:w.pth") == ("r50", "r50", "w.pth")
    assert parse_model_spec("ft=resnet50:w.pth") == ("ft", "resnet50", "w.pth")
