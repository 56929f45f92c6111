"""The ``cuph`` command line: ``python -m cuph`` in a subprocess and ``cuph.cli.main`` in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List

import numpy as np
import pytest

import cuph
from cuph.cli import main, read_input, run_persistence

FIELDS = ("dim", "birth", "death", "birth_index", "death_index", "item", "offsets")


def run_module(args: List[str], cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(cuph.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "cuph", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=300,
    )


def assert_same(a: cuph.Diagrams, b: cuph.Diagrams) -> None:
    for name in FIELDS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert (a.batch_shape, a.item_shape, a.maxdim, a.construction, a.superlevel) == (
        b.batch_shape, b.item_shape, b.maxdim, b.construction, b.superlevel
    )


def test_module_persistence_npy_to_npz(tmp_path, rng) -> None:
    x = rng.random((5, 12, 10))
    np.save(tmp_path / "in.npy", x)
    r = run_module(["persistence", "in.npy", "--batch-dims", "1", "--construction", "T",
                    "--threads", "2", "-o", "out.npz"], str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "5 item(s)" in r.stdout
    got = cuph.Diagrams.load(tmp_path / "out.npz")
    assert_same(got, cuph.persistence(x, batch_dims=1, construction="T"))


def test_persistence_device_option(tmp_path, rng) -> None:
    x = rng.integers(0, 4, (3, 9, 8)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    r = run_module(["persistence", "in.npy", "--batch-dims", "1", "--device", "cpu",
                    "--no-progress", "-o", "out.npz"], str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert_same(cuph.Diagrams.load(tmp_path / "out.npz"), cuph.persistence(x, batch_dims=1))
    if not cuph.cuda_available():
        r = run_module(["persistence", "in.npy", "--batch-dims", "1", "--device", "cuda",
                        "--no-progress", "-o", "out2.npz"], str(tmp_path))
        assert r.returncode == 1
        assert "no CUDA device" in r.stderr and "Traceback" not in r.stderr


def test_module_help_and_errors(tmp_path) -> None:
    r = run_module(["--help"], str(tmp_path))
    assert r.returncode == 0 and "persistence" in r.stdout and "demo" in r.stdout
    r = run_module(["persistence", "missing.npy", "-o", "out.npz"], str(tmp_path))
    assert r.returncode == 2 and "does not exist" in r.stderr
    np.save(tmp_path / "in.npy", np.zeros((3, 3)))
    r = run_module(["persistence", "in.npy", "-o", "out.txt"], str(tmp_path))
    assert r.returncode == 2 and ".npz or .csv" in r.stderr
    r = run_module(["persistence", "in.npy", "--construction", "X", "-o", "out.npz"], str(tmp_path))
    assert r.returncode == 2 and "invalid choice" in r.stderr


@pytest.mark.parametrize("chunk", [1, 3, 4, 100])
def test_chunked_equals_one_call(tmp_path, rng, chunk) -> None:
    x = rng.integers(0, 6, size=(2, 5, 7, 6)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    out = tmp_path / "out.npz"
    rc = main(["persistence", str(tmp_path / "in.npy"), "--batch-dims", "2", "--chunk-size",
               str(chunk), "--superlevel", "--maxdim", "0", "-o", str(out)])
    assert rc == 0
    got = cuph.Diagrams.load(out)
    ref = cuph.persistence(x, batch_dims=2, superlevel=True, maxdim=0)
    assert_same(got, ref)
    assert got.batch_shape == (2, 5)
    assert sorted(set(np.asarray(got.item).tolist())) == list(range(10))  # global item numbers


def test_run_persistence_progress_bar(capsys, rng) -> None:
    x = rng.random((40, 6, 6))
    dg = run_persistence(x, batch_dims=1, chunk_size=7, progress=True)
    assert_same(dg, cuph.persistence(x, batch_dims=1))
    err = capsys.readouterr().err
    assert "persistence" in err and "40/40" in err


def test_csv_output(tmp_path, rng) -> None:
    x = rng.random((3, 6, 5))
    np.save(tmp_path / "in.npy", x)
    rc = main(["persistence", str(tmp_path / "in.npy"), "--batch-dims", "1", "--no-progress",
               "-o", str(tmp_path / "sub" / "out.csv")])
    assert rc == 0
    table = np.genfromtxt(tmp_path / "sub" / "out.csv", delimiter=",", names=True)
    ref = cuph.persistence(x, batch_dims=1)
    assert table.dtype.names == ("item", "dim", "birth", "death", "birth_index", "death_index")
    np.testing.assert_array_equal(table["item"], ref.item)
    np.testing.assert_array_equal(table["birth"], ref.birth)
    np.testing.assert_array_equal(table["death"], ref.death)
    np.testing.assert_array_equal(table["death_index"], ref.death_index)


def test_npz_input_with_key(tmp_path, rng) -> None:
    a, b = rng.random((6, 6)), rng.random((4, 5, 3))
    np.savez(tmp_path / "in.npz", first=a, second=b)
    assert np.array_equal(read_input(str(tmp_path / "in.npz")), a)
    assert main(["persistence", str(tmp_path / "in.npz"), "--key", "second", "-o",
                 str(tmp_path / "o.npz")]) == 0
    assert_same(cuph.Diagrams.load(tmp_path / "o.npz"), cuph.persistence(b))
    assert main(["persistence", str(tmp_path / "in.npz"), "--key", "nope", "-o",
                 str(tmp_path / "o.npz")]) == 2


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff"])
def test_image_input(tmp_path, rng, ext, capsys) -> None:
    Image = pytest.importorskip("PIL.Image")
    img = rng.integers(0, 256, size=(20, 17)).astype(np.uint8)
    path = tmp_path / f"img{ext}"
    Image.fromarray(img).save(path)
    assert np.array_equal(read_input(str(path)), img)
    out = tmp_path / "img.npz"
    assert main(["persistence", str(path), "--construction", "T", "-o", str(out)]) == 0
    assert_same(cuph.Diagrams.load(out), cuph.persistence(img, construction="T"))
    # colour images are converted to grey
    rgb = tmp_path / f"rgb{ext}"
    Image.fromarray(np.stack([img] * 3, axis=-1)).save(rgb)
    assert np.array_equal(read_input(str(rgb)), img)


def test_multipage_tiff_is_stacked(tmp_path, rng) -> None:
    Image = pytest.importorskip("PIL.Image")
    frames = rng.integers(0, 256, size=(3, 8, 9)).astype(np.uint8)
    path = tmp_path / "stack.tif"
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:])
    assert np.array_equal(read_input(str(path)), frames)


def test_bad_batch_dims_reports_error(tmp_path, capsys) -> None:
    np.save(tmp_path / "in.npy", np.zeros((3, 3)))
    rc = main(["persistence", str(tmp_path / "in.npy"), "--batch-dims", "2", "-o",
               str(tmp_path / "o.npz")])
    assert rc == 2
    assert "batch-dims" in capsys.readouterr().err


def test_demo_quick(tmp_path) -> None:
    pytest.importorskip("gudhi")
    pytest.importorskip("matplotlib")
    r = run_module(["demo", "--quick", "--out", str(tmp_path / "demo")], str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "agree with gudhi" in r.stdout
    assert "2-D batch" in r.stdout and "3-D volume" in r.stdout
    png = tmp_path / "demo" / "cuph_demo_diagrams.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_without_gudhi_in_process(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    assert main(["demo", "--quick", "--no-gudhi", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "not checked" in out and "cuph_demo_diagrams.png" in out
