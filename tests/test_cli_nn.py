"""``cuph profile`` and ``cuph rank`` end to end (random-init models, packaged or made data)."""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from cuph.cli import main  # noqa: E402
from cuph.cli_nn import load_images, load_model  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def test_profile_default_job_writes_outputs(tmp_path, capsys):
    out = tmp_path / "prof"
    rc = main(["profile", "--images", "6", "--batch-size", "4", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "theta (topological transferability) =" in text and "layer4.1" in text
    for f in ("betti_profile.csv", "betti_profile_layers.csv", "betti_profile.npz", "betti_profile.png"):
        assert (out / f).stat().st_size > 0
    with np.load(out / "betti_profile.npz") as z:
        assert z["betti"].shape == (11, 6, 3)


def test_profile_with_local_weights_and_an_image_folder(tmp_path, capsys):
    from PIL import Image

    torch.manual_seed(3)
    ref = torchvision.models.resnet18(weights=None)
    wpath = tmp_path / "r18.pth"
    torch.save(ref.state_dict(), wpath)
    loaded = load_model("resnet18", str(wpath))
    for a, b in zip(ref.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    assert tuple(load_images(str(folder), 10, size=16).shape) == (3, 3, 16, 16)
    rc = main(["profile", "--weights", str(wpath), "--data", str(folder), "--size", "16",
               "--layers", "relu,layer1.0,layer2.0,layer3.0", "--out", str(tmp_path / "o"),
               "--no-progress"])
    assert rc == 0
    with np.load(tmp_path / "o" / "betti_profile.npz") as z:
        assert z["betti"].shape == (4, 3, 3)


@pytest.mark.parametrize("argv,pattern", [
    (["profile", "--model", "resnet9000"], "unknown torchvision model"),
    (["profile", "--weights", "/nonexistent/w.pth"], "not a file"),
    (["profile", "--data", "/nonexistent/folder"], "--data"),
    (["profile", "--images", "5000"], "digits data set has 1797"),
    (["rank"], "give MODEL names"),
    (["rank", "--accuracies", "/nonexistent.csv"], "does not exist"),
])
def test_cli_errors_are_clear(tmp_path, capsys, argv, pattern):
    rc = main(argv + ["--out", str(tmp_path / "x"), "--no-progress"])
    assert rc == 2
    assert pattern in capsys.readouterr().err


def test_bad_weights_file(tmp_path, capsys):
    bad = tmp_path / "bad.pth"
    torch.save({"conv1.weight": torch.zeros(3)}, bad)
    assert main(["profile", "--weights", str(bad), "--out", str(tmp_path), "--no-progress"]) == 2
    assert "does not fit resnet18" in capsys.readouterr().err


def test_rank_published_table(capsys):
    assert main(["rank", "--accuracies", os.path.join(DATA, "transferability_table.csv")]) == 0
    out = capsys.readouterr().out
    assert "Kendall tau = -0.778, Pearson r = -0.815, Spearman rho = -0.900" in out


def test_rank_profiles_models(tmp_path, capsys):
    acc = tmp_path / "acc.csv"
    acc.write_text("model,accuracy\nresnet18,95.4\nmobilenet_v2,95.2\nsqueezenet1_0,90.0\n")
    rc = main(["rank", "resnet18", "mobilenet_v2", "squeezenet1_0", "--accuracies", str(acc),
               "--images", "2", "--out", str(tmp_path / "r"), "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Kendall tau" in out
    assert (tmp_path / "r" / "ranking.csv").read_text().startswith("model,theta,accuracy")
    assert (tmp_path / "r" / "betti_profile_mobilenet_v2.npz").exists()
