"""cuph.torch: the same diagrams as the numpy engine, zero-copy input, autograd to the input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import cuph  # noqa: E402
import cuph.torch as ct  # noqa: E402


def _rows(dg):
    d = dg.numpy if isinstance(dg, ct.TorchDiagrams) else dg
    return sorted(zip(d.item.tolist(), d.dim.tolist(), d.birth.tolist(), d.death.tolist()))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64,
                                   torch.int16, torch.int64, torch.uint8])
@pytest.mark.parametrize("construction", ["V", "T"])
def test_values_match_numpy_engine(rng, dtype, construction):
    a = rng.integers(0, 5, size=(3, 7, 6))  # many ties
    t = torch.as_tensor(a).to(dtype)
    dg = ct.persistence(t, construction=construction, batch_dims=1)
    ref = cuph.persistence(t.to(torch.float64).numpy(), construction=construction, batch_dims=1)
    assert _rows(dg) == _rows(ref)
    # The differentiable values are the diagram's own values.
    np.testing.assert_array_equal(dg.birth.detach().double().numpy(), dg.numpy.birth)
    np.testing.assert_array_equal(dg.death.detach().double().numpy(), dg.numpy.death)


def test_strided_views_read_without_copy(rng):
    base = torch.as_tensor(rng.integers(0, 4, size=(12, 10, 3)).astype(np.float32))
    views = [base[::2, 1:, 0], base.transpose(0, 1)[..., 1], base[:, :, 2].t()]
    for v in views:
        host = ct._engine_view(v, host=True)
        assert host.__array_interface__["data"][0] == v.data_ptr()  # a view, not a copy
        assert _rows(ct.persistence(v)) == _rows(cuph.persistence(v.contiguous().numpy()))


def test_superlevel_and_essential_deaths(rng):
    t = torch.tensor(rng.random((2, 6, 6)), requires_grad=True)
    dg = ct.persistence(t, batch_dims=1, superlevel=True)
    ess = dg.death_index < 0
    assert torch.all(dg.death[ess] == float("-inf"))
    assert torch.all(dg.birth >= dg.death)
    dg.birth.sum().backward()  # gradients reach the input
    assert t.grad is not None and t.grad.sum().item() == pytest.approx(dg.n_pairs)


@pytest.mark.parametrize("construction", ["V", "T"])
@pytest.mark.parametrize("shape,batch_dims", [((7, 8), 0), ((2, 5, 6), 1), ((4, 4, 5), 0)])
def test_gradcheck(construction, shape, batch_dims):
    g = torch.Generator().manual_seed(sum(shape))
    x = torch.rand(shape, generator=g, dtype=torch.float64, requires_grad=True)

    def total_persistence(inp):
        dg = ct.persistence(inp, construction=construction, batch_dims=batch_dims)
        fin = dg.finite()
        return (fin[:, 1] - fin[:, 0]).pow(2).sum() + dg.birth.sum()

    assert torch.autograd.gradcheck(total_persistence, (x,), eps=1e-7, atol=1e-6)


def test_gradient_lands_on_birth_and_death_indices(rng):
    x = torch.tensor(rng.random((9, 9)), requires_grad=True)
    dg = ct.persistence(x)
    fin = dg.death_index >= 0
    (dg.death[fin].sum() - dg.birth.sum()).backward()
    expected = np.zeros(81)
    np.add.at(expected, dg.numpy.death_index[fin.numpy()], 1.0)
    np.add.at(expected, dg.numpy.birth_index, -1.0)
    np.testing.assert_array_equal(x.grad.numpy().ravel(), expected)


def test_topological_loss_closes_a_hole():
    """Gradient descent on total H1 persistence removes the hole of a ring (the docs' example)."""
    img = torch.ones(12, 12, dtype=torch.float64)
    img[2:10, 2:10] = 0.0
    img[4:8, 4:8] = 1.0
    initial = img.clone()
    img.requires_grad_(True)
    start = ct.persistence(img.detach(), construction="T").finite(1)
    assert start.shape[0] == 1 and float(start[0, 1] - start[0, 0]) == 1.0
    opt = torch.optim.SGD([img], lr=0.2)
    for _ in range(60):
        h1 = ct.persistence(img, construction="T").finite(1)
        loss = (h1[:, 1] - h1[:, 0]).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = ct.persistence(img.detach(), construction="T").finite(1)
    assert float((end[:, 1] - end[:, 0]).sum()) < 0.05
    # Only the critical pixels of the hole (at most two per step) were moved.
    changed = int((img.detach() != initial).sum())
    assert 2 <= changed <= 2 * 60


def test_items_and_delegated_api(rng):
    t = torch.as_tensor(rng.random((3, 6, 6)))
    dg = ct.persistence(t, batch_dims=1)
    assert len(dg) == 3
    one = dg[1]
    assert isinstance(one, ct.TorchDiagrams)
    assert _rows(one) == _rows(dg.numpy[1])
    np.testing.assert_array_equal(dg.betti_numbers(), dg.numpy.betti_numbers())
    assert dg.in_dim(0).shape == (int((dg.numpy.dim == 0).sum()), 2)
    assert [d.n_pairs for d in dg] == [d.n_pairs for d in dg.numpy]


def test_bad_tensors_raise_clear_errors():
    with pytest.raises(ValueError, match=r"NaN"):
        ct.persistence(torch.tensor([0.0, float("nan"), 1.0]))
    with pytest.raises(TypeError, match=r"complex"):
        ct.persistence(torch.zeros(3, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"device"):
        ct.persistence(torch.zeros(3), device="cuda")
    with pytest.raises(ValueError, match=r"maxdim"):
        ct.persistence(torch.zeros(3, 3), maxdim=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_cuda_tensor_round_trip(rng, dtype):  # pragma: no cover - needs a GPU
    """CUDA tensors: 2-D items on the GPU engine (float32 read in place), a 3-D item on the CPU
    engine from a host copy; the same values and gradients as the CPU tensor's."""
    for shape, batch_dims in (((3, 9, 8), 1), ((4, 5, 6), 0)):
        x = torch.as_tensor(rng.integers(0, 5, shape).astype(np.float32)).to(dtype)
        for device in ("auto", "cuda") if batch_dims else ("auto",):
            t = x.cuda().requires_grad_(True)
            c = x.clone().requires_grad_(True)
            dg, dc = ct.persistence(t, batch_dims=batch_dims, device=device), ct.persistence(
                c, batch_dims=batch_dims)
            assert dg.birth.device == t.device and _rows(dg) == _rows(dc)
            (dg.finite()[:, 1] - dg.finite()[:, 0]).sum().backward()
            (dc.finite()[:, 1] - dc.finite()[:, 0]).sum().backward()
            # ties may pair other cells, but sum(grad * x) is the total persistence either way
            total = (t.grad.double().cpu() * x.double()).sum().item()
            assert total == (c.grad.double() * x.double()).sum().item() > 0


def test_import_cuph_does_not_import_torch_and_core_does_not_link_it():
    code = ("import sys, cuph; assert 'torch' not in sys.modules, 'torch imported'; "
            "print(cuph._core.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    so = out.stdout.strip()
    with open(so, "rb") as f:
        blob = f.read()
    assert b"libtorch" not in blob and b"libc10" not in blob


def test_max_memory_chunks_and_refuses_like_the_numpy_engine(rng):
    x = torch.as_tensor(rng.integers(0, 4, size=(7, 12, 13)).astype(np.float32)).requires_grad_()
    limit = cuph.estimate_memory((2, 12, 13), np.float32, "T", batch_dims=1, n_threads=1)
    whole = ct.persistence(x, construction="T", batch_dims=1)
    chunked = ct.persistence(x, construction="T", batch_dims=1, n_threads=1, max_memory=limit)
    assert _rows(chunked) == _rows(whole)
    (chunked.death[chunked.death.isfinite()] - chunked.birth[chunked.death.isfinite()]).sum() \
        .backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(MemoryError, match="max_memory"):
        ct.persistence(torch.zeros(300, 300), max_memory=100_000)


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_narrow_float_tensors_in_the_numpy_api(rng, dtype):
    # numpy has no bfloat16 or float8: cuph.persistence, betti_numbers_at, CubicalComplex and
    # cuph.torch read such tensors through float32, which holds their values exactly.
    x = torch.from_numpy(rng.integers(-6, 7, (3, 9, 11)).astype(np.float32) / 4).to(
        getattr(torch, dtype))
    exact = x.float().numpy()
    assert (exact == x.double().numpy()).all()
    for construction in ("V", "T"):
        dg = cuph.persistence(x.requires_grad_(dtype == "bfloat16"), batch_dims=1,
                              construction=construction)
        ref = cuph.persistence(exact, batch_dims=1, construction=construction)
        assert dg.birth.dtype == np.float32
        for f in ("dim", "birth", "death", "birth_index", "death_index", "offsets"):
            np.testing.assert_array_equal(getattr(dg, f), getattr(ref, f))
        np.testing.assert_array_equal(
            cuph.betti_numbers_at(x, 0.25, batch_dims=1, construction=construction),
            cuph.betti_numbers_at(exact, 0.25, batch_dims=1, construction=construction))
    cc = cuph.CubicalComplex(top_dimensional_cells=x[0])
    assert cc.persistence() == cuph.CubicalComplex(top_dimensional_cells=exact[0]).persistence()
    tdg = ct.persistence(x, batch_dims=1)
    tref = ct.persistence(torch.from_numpy(exact), batch_dims=1)
    assert tdg.birth.dtype == torch.float32
    assert torch.equal(tdg.birth, tref.birth) and torch.equal(tdg.death, tref.death)
