"""cuph.landscape loss sampling on a tiny torch model, and the ``cuph landscape`` command."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cuph.landscape import (  # noqa: E402
    LossSurface, graph_persistence, loss_graph, loss_surface, minima_barcode, random_directions,
    to_score,
)


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    return model, torch.nn.CrossEntropyLoss(), x, y


def direct_loss(model, loss_fn, x, y):
    with torch.no_grad():
        return float(loss_fn(model(x), y))


def test_filter_normalised_directions(tiny):
    model = tiny[0]
    (d,) = random_directions(model, 1, "filter", seed=3)
    for p, t in zip(model.parameters(), d):
        assert t.shape == p.shape
        if p.dim() >= 2:
            assert torch.allclose(t.norm(dim=1), p.detach().norm(dim=1), rtol=1e-4)
        else:
            assert torch.count_nonzero(t) == 0  # biases ignored (Li et al.'s biasbn)
    (d2,) = random_directions(model, 1, "filter", seed=3)
    assert all(torch.equal(a, b) for a, b in zip(d, d2))
    (dl,) = random_directions(model, 1, "layer", ignore_biasbn=False, seed=3)
    for p, t in zip(model.parameters(), dl):
        if p.dim() >= 2:
            assert torch.allclose(t.norm(), p.detach().norm(), rtol=1e-4)
        else:
            assert torch.equal(t, p.detach())


def test_loss_surface_grid_matches_direct_evaluation(tiny):
    model, loss_fn, x, y = tiny
    theta = [p.detach().clone() for p in model.parameters()]
    surf = loss_surface(model, loss_fn, (x, y), directions=2, resolution=(5, 7), span=0.5,
                        batch_size=40, points_per_batch=6, device="cpu", seed=2)
    assert isinstance(surf, LossSurface) and surf.losses.shape == (5, 7)
    assert surf.losses[2, 3] == pytest.approx(surf.center_loss, rel=1e-5)
    assert surf.center_loss == pytest.approx(direct_loss(model, loss_fn, x, y), rel=1e-5)
    # one corner by hand: theta + a d1 + b d2 loaded into the model
    d1, d2 = random_directions(model, 2, "filter", seed=2)
    a, b = surf.axes[0][0], surf.axes[1][-1]
    with torch.no_grad():
        for p, t, u, v in zip(model.parameters(), theta, d1, d2):
            p.copy_(t + a * u + b * v)
        corner = direct_loss(model, loss_fn, x, y)
        for p, t in zip(model.parameters(), theta):
            p.copy_(t)
    assert surf.losses[0, -1] == pytest.approx(corner, rel=1e-5)
    # the loop fallback and a DataLoader give the same grid
    loop = loss_surface(model, loss_fn, (x, y), directions=2, resolution=(5, 7), span=0.5,
                        vectorize=False, device="cpu", seed=2)
    assert np.allclose(loop.losses, surf.losses, rtol=1e-5)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    dl = loss_surface(model, loss_fn, loader, directions=2, resolution=(5, 7), span=0.5,
                      device="cpu", seed=2)
    assert np.allclose(dl.losses, surf.losses, rtol=1e-5)
    # ready for the cubical engine and the barcode
    bc = surf.minima_barcode()
    assert len(bc) >= 1 and bc.min_location.shape == (len(bc), 2)
    assert surf.persistence().n_pairs == len(bc)
    assert to_score(bc) >= 0


def test_loss_surface_on_gpu_when_present(tiny):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model, loss_fn, x, y = tiny
    cpu = loss_surface(model, loss_fn, (x, y), resolution=9, device="cpu")
    gpu = loss_surface(model, loss_fn, (x, y), resolution=9, device="cuda")
    assert np.allclose(cpu.losses, gpu.losses, rtol=1e-4, atol=1e-6)


def test_loss_surface_bad_arguments(tiny):
    model, loss_fn, x, y = tiny
    with pytest.raises(ValueError, match="directions"):
        loss_surface(model, loss_fn, (x, y), directions=5)
    with pytest.raises(ValueError, match="resolution"):
        loss_surface(model, loss_fn, (x, y), resolution=(3, 3, 3))
    with pytest.raises(ValueError, match="normalization"):
        loss_surface(model, loss_fn, (x, y), normalization="batch")
    with pytest.raises(ValueError, match="span"):
        loss_surface(model, loss_fn, (x, y), span=(1.0, -1.0))
    with pytest.raises(ValueError, match="data: inputs and targets differ"):
        loss_surface(model, loss_fn, (x, y[:5]))
    with pytest.raises(TypeError, match="data:"):
        loss_surface(model, loss_fn, 3)


def test_loss_graph_over_checkpoints(tiny):
    pytest.importorskip("sklearn")
    model, loss_fn, x, y = tiny
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    checkpoints = []
    for _ in range(12):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        checkpoints.append({k: v.clone() for k, v in model.state_dict().items()})
    lg = loss_graph(model, loss_fn, (x, y), checkpoints, k=3, device="cpu")
    assert lg.values.shape == (12,) and lg.points.shape[0] == 12
    model.load_state_dict(checkpoints[5])
    assert lg.values[5] == pytest.approx(direct_loss(model, loss_fn, x, y), rel=1e-5)
    dg = lg.persistence()
    assert dg.in_dim(0)[:, 0].min() == pytest.approx(lg.values.min())
    assert len(lg.minima_barcode()) == dg.n_pairs
    flat = lg.points
    assert np.allclose(loss_graph(model, loss_fn, (x, y), flat, k=3).values, lg.values, rtol=1e-6)
    with pytest.raises(ValueError, match="parameters: each vector needs"):
        loss_graph(model, loss_fn, (x, y), flat[:, :-1], k=3)
    assert graph_persistence(lg.values, lg.edges).n_pairs == dg.n_pairs


def test_cli_landscape_writes_barcode_score_and_png(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from cuph.cli import main

    out = tmp_path / "out"
    rc = main(["landscape", "--model", "mlp", "--data", "digits", "--resolution", "9",
               "--span", "2", "--out", str(out), "--no-progress"])
    assert rc == 0
    for name in ("barcode.csv", "to_score.json", "surface.png", "surface.npz"):
        assert (out / name).stat().st_size > 0, name
    score = json.loads((out / "to_score.json").read_text())
    with np.load(out / "surface.npz") as z:
        losses = z["losses"]
    assert losses.shape == (9, 9)
    assert score["to_score"] == pytest.approx(to_score(minima_barcode(losses)))
    lines = (out / "barcode.csv").read_text().splitlines()
    assert len(lines) == score["n_minima"] + 1
    assert "TO-score" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated, still read
def test_cli_landscape_model_file_and_npz_data(tmp_path, tiny):
    from cuph.cli import main

    model, _, x, y = tiny
    path = str(tmp_path / "m.pt")
    torch.jit.save(torch.jit.script(model), path)
    data = str(tmp_path / "d.npz")
    np.savez(data, x=x.numpy(), y=y.numpy())
    out = tmp_path / "o"
    assert main(["landscape", "--model", path, "--data", data, "--resolution", "5",
                 "--directions", "1", "--out", str(out), "--no-progress"]) == 0
    assert (out / "surface.png").exists()
    whole = str(tmp_path / "whole.pt")
    torch.save(model, whole)
    assert main(["landscape", "--model", whole, "--data", data, "--resolution", "5",
                 "--out", str(out), "--no-progress"]) == 0
    assert main(["landscape", "--model", str(tmp_path / "missing.pt"), "--data", data,
                 "--out", str(out)]) == 2
    assert main(["landscape", "--data", "mnist", "--out", str(out)]) == 2
    assert os.path.exists(out / "barcode.csv")


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_model_is_sampled_in_place_and_restored(tiny):
    model, loss_fn, x, y = tiny
    scripted = torch.jit.script(model)
    before = [p.detach().clone() for p in scripted.parameters()]
    dirs = random_directions(model, 2, seed=4)
    eager = loss_surface(model, loss_fn, (x, y), directions=dirs, resolution=5, device="cpu")
    jit = loss_surface(scripted, loss_fn, (x, y), directions=dirs, resolution=5, device="cpu")
    assert np.allclose(jit.losses, eager.losses, rtol=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(before, scripted.parameters()))
