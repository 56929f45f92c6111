"""cuph.dask on a LocalCluster of 2 worker processes: identical results, worker loss, errors."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import cuph  # noqa: E402
import cuph.dask as cd  # noqa: E402


def _rows(dg):
    return sorted(zip(dg.item.tolist(), dg.dim.tolist(), dg.birth.tolist(), dg.death.tolist(),
                      dg.birth_index.tolist(), dg.death_index.tolist()))


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.mark.parametrize("construction", ["V", "T"])
def test_blocks_equal_single_process_engine(client, rng, construction):
    x = rng.integers(0, 4, size=(17, 9, 7)).astype(np.float32)  # ties
    dx = da.from_array(x, chunks=(5, 4, 7))  # odd batch chunks, and items split along axis 1
    dg = cd.persistence(dx, construction=construction)
    ref = cuph.persistence(x, batch_dims=1, construction=construction)
    assert dg.batch_shape == (17,) and _rows(dg) == _rows(ref)
    np.testing.assert_array_equal(dg.offsets, ref.offsets)


def test_several_batch_axes_and_lazy_result(client, rng):
    x = rng.integers(0, 3, size=(4, 5, 6, 6)).astype(np.int16)
    dx = da.from_array(x, chunks=(3, 2, 6, 6))
    lazy = cd.persistence(dx, batch_dims=2, compute=False, maxdim=0)
    assert hasattr(lazy, "dask") and not isinstance(lazy, cuph.Diagrams)
    dg = lazy.compute()
    ref = cuph.persistence(x, batch_dims=2, maxdim=0)
    assert dg.batch_shape == (4, 5) and _rows(dg) == _rows(ref)


def test_threaded_scheduler_without_a_client(rng):
    import dask

    x = rng.random((9, 5, 5, 5))
    with dask.config.set(scheduler="threads"):
        dg = cd.persistence(da.from_array(x, chunks=(2, 5, 5, 5)))
    assert _rows(dg) == _rows(cuph.persistence(x, batch_dims=1))


def test_bad_inputs(client, rng):
    x = rng.random((6, 4, 4))
    with pytest.raises(ValueError, match=r"chunks split items along axis 2"):
        cd.persistence(da.from_array(x, chunks=(2, 4, 2)), rechunk=False)
    with pytest.raises(ValueError, match=r"batch_dims"):
        cd.persistence(da.from_array(x), batch_dims=0)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'colour'"):
        cd.persistence(da.from_array(x), colour="red")
    y = x.copy()
    y[4, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"item 4 contains NaN at index \(1, 2\)"):
        cd.persistence(da.from_array(y, chunks=(3, 4, 4)))


def test_unreachable_scheduler_is_a_clear_error():
    t = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"no Dask scheduler answered at 'tcp://127.0.0.1:9'"):
        cd.connect("tcp://127.0.0.1:9", timeout=2)
    assert time.perf_counter() - t < 20


# ----------------------------------------------------------------------------- profiling
torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def spec_and_images(tmp_path_factory):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path_factory.mktemp("w") / "r18.pth"
    torch.save(model.state_dict(), path)
    images = torch.rand(24, 3, 16, 16)
    return model, cd.ModelSpec("resnet18", str(path)), images


def test_profile_on_workers_equals_local(client, spec_and_images):
    import cuph.metrics as cm

    model, spec, images = spec_and_images
    layers = ["relu", "layer1.0", "layer2.0", "layer3.0", "layer4.0"]
    local = cm.betti_profile(model, images, layers=layers, progress=False)
    remote = cm.betti_profile(spec, images, layers=layers, client=client, shard_size=5,
                              progress=False)
    np.testing.assert_array_equal(remote.betti, local.betti)
    assert remote.layers == local.layers and remote.layer_shapes == local.layer_shapes
    # A model object is scattered once to the workers; same counts.
    scattered = cd.profile_models({"r18": model}, images, client, shard_size=7, layers=layers,
                                  progress=False)
    np.testing.assert_array_equal(scattered["r18"].betti, local.betti)


def test_worker_loss_is_retried_without_losing_images(client, spec_and_images):
    import cuph.metrics as cm

    model, spec, images = spec_and_images
    big = images.repeat(6, 1, 1, 1)  # 144 images in 72 shards
    layers = ["relu", "layer1.0", "layer2.0", "layer3.0"]
    local = cm.betti_profile(model, big, layers=layers, progress=False)
    pids = list(client.run(os.getpid).values())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        job = pool.submit(cd.profile, spec, big, client, shard_size=2, layers=layers,
                          progress=False, retries=3)
        deadline = time.time() + 60
        while not any(client.processing().values()) and time.time() < deadline:
            time.sleep(0.02)  # wait until tasks run on the workers
        assert not job.done()
        os.kill(pids[0], signal.SIGKILL)  # one worker process dies mid-job
        prof = job.result(timeout=240)
    client.wait_for_workers(2, timeout=60)
    assert pids[0] not in client.run(os.getpid).values()  # the nanny started a new process
    np.testing.assert_array_equal(prof.betti, local.betti)
    assert prof.betti.shape[1] == 144


def test_cli_profile_on_a_scheduler(client, tmp_path, capsys):
    from cuph.cli import main

    out = tmp_path / "o"
    rc = main(["profile", "--scheduler", client.scheduler.address, "--images", "6", "--size", "16",
               "--batch-size", "4", "--out", str(out), "--no-progress"])
    assert rc == 0
    with np.load(out / "betti_profile.npz") as z:
        remote = z["betti"]
    rc = main(["profile", "--images", "6", "--size", "16", "--out", str(tmp_path / "l"),
               "--no-progress"])
    with np.load(tmp_path / "l" / "betti_profile.npz") as z:
        np.testing.assert_array_equal(remote, z["betti"])
    assert main(["profile", "--scheduler", "tcp://127.0.0.1:9", "--images", "2",
                 "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "no Dask scheduler answered" in capsys.readouterr().err
