"""cuph.nn.ActivationExtractor: layer selection, streaming, hooks removed, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
from torch import nn  # noqa: E402

from cuph.nn import ActivationExtractor, block_layers, iter_batches  # noqa: E402

M = torchvision.models


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return M.resnet18(weights=None).eval()


@pytest.mark.parametrize("name,count,first,last", [
    ("resnet18", 11, "conv1", "layer4.1"),
    ("resnet50", 19, "conv1", "layer4.2"),
    ("vgg16", 13, "features.1", "features.29"),
    ("vgg16_bn", 13, "features.2", "features.42"),
    ("densenet121", 10, "features.conv0", "features.denseblock4"),
    ("mobilenet_v2", 19, "features.0", "features.18"),
])
def test_blocks_per_architecture(name, count, first, last):
    names = block_layers(getattr(M, name)(weights=None))
    assert (len(names), names[0], names[-1]) == (count, first, last)


def test_resnet_stem_and_blocks_order(resnet18):
    names = block_layers(resnet18)
    assert names[:3] == ["conv1", "bn1", "relu"]
    assert names[3:] == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]


def test_user_model_gets_container_leaves():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU()), nn.Flatten())
    assert block_layers(model) == ["0", "1", "2.0", "2.1", "3"]


def test_activations_equal_a_manual_forward(resnet18):
    x = torch.rand(3, 3, 32, 32)
    acts = ActivationExtractor(resnet18)(x)
    assert list(acts) == block_layers(resnet18)
    with torch.no_grad():
        stem = resnet18.relu(resnet18.bn1(resnet18.conv1(x)))
        b10 = resnet18.layer1[0](resnet18.maxpool(stem))
        b11 = resnet18.layer1[1](b10)
    torch.testing.assert_close(acts["relu"], stem)
    torch.testing.assert_close(acts["layer1.1"], b11)
    assert tuple(acts["layer4.1"].shape) == (3, 512, 1, 1)
    assert not any(a.requires_grad for a in acts.values())


def test_forward_stops_after_last_layer_and_hooks_are_removed(resnet18):
    calls = []
    h = resnet18.fc.register_forward_hook(lambda *a: calls.append(1))
    try:
        ActivationExtractor(resnet18, layers=["layer1.0"])(torch.rand(1, 3, 32, 32))
        assert calls == []  # the rest of the network did not run
    finally:
        h.remove()
    assert all(len(m._forward_hooks) == 0 for m in resnet18.modules())


def test_stream_and_map_over_a_dataloader(resnet18):
    x = torch.rand(23, 3, 32, 32)
    y = torch.zeros(23, dtype=torch.long)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=5)
    ext = ActivationExtractor(resnet18, layers=["layer2.0", "relu"])
    starts = [s for s, acts in ext.stream(loader, limit=12)]
    assert starts == [0, 5, 10]
    sums = ext.map(x, lambda name, a: a.flatten(1).sum(1), batch_size=7)
    full = ext(x)
    for name in ext.layer_names:
        torch.testing.assert_close(torch.cat(sums[name]), full[name].flatten(1).sum(1))


def test_batches_of_arrays_and_limits():
    x = np.zeros((10, 2), dtype=np.float32)
    sizes = [b.shape[0] for b in iter_batches(x, batch_size=4)]
    assert sizes == [4, 4, 2]
    assert [b.shape[0] for b in iter_batches(x, batch_size=4, limit=5)] == [4, 1]
    assert [b.shape[0] for b in iter_batches([(x[:3], None), (x[3:], None)], 100, limit=4)] == [3, 1]


def test_train_mode_warns_and_eval_mode_switches_back():
    model = M.resnet18(weights=None).train()
    x = torch.rand(2, 3, 32, 32)
    with pytest.warns(UserWarning, match="train mode"):
        ActivationExtractor(model, layers=["bn1"])(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ActivationExtractor(model, layers=["bn1"], eval_mode=True)(x)["bn1"]
    assert model.training  # restored
    model.eval()
    torch.testing.assert_close(a, ActivationExtractor(model, layers=["bn1"])(x)["bn1"])


@pytest.mark.parametrize("kwargs,data,exc,pattern", [
    ({"layers": ["layer9.0"]}, None, ValueError, r"layer9\.0.*valid names: conv1"),
    ({"layers": "everything"}, None, ValueError, r"layers"),
    ({"layers": []}, None, ValueError, r"empty"),
    ({"layers": ["relu", "relu"]}, None, ValueError, r"twice"),
    ({}, torch.zeros(0, 3, 32, 32), ValueError, r"data: empty"),
    ({}, [], ValueError, r"data: empty"),
    ({}, torch.zeros(2, 3, 32, 32, dtype=torch.uint8), TypeError, r"floating-point"),
    ({}, torch.zeros(2, 5, 32, 32), ValueError, r"data: the model failed on a batch of shape"),
    ({}, 42, TypeError, r"data: expected a tensor"),
])
def test_bad_input(resnet18, kwargs, data, exc, pattern):
    with pytest.raises(exc, match=pattern):
        ext = ActivationExtractor(resnet18, **kwargs)
        list(ext.stream(data if data is not None else torch.rand(1, 3, 32, 32)))


def test_bad_model_and_batch_size(resnet18):
    with pytest.raises(TypeError, match="model: expected a torch.nn.Module"):
        ActivationExtractor("resnet18")
    with pytest.raises(ValueError, match="batch_size"):
        list(ActivationExtractor(resnet18).stream(torch.rand(2, 3, 32, 32), batch_size=0))
