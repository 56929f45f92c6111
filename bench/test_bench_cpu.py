"""A small pytest-benchmark suite: a few representative cases at modest size, cuph beside
its peers in the same benchmark group so that pytest-benchmark's table shows the ratio.

    PYTHONPATH=python pytest bench/ --benchmark-only
    PYTHONPATH=python pytest bench/ --benchmark-only --benchmark-group-by=group -k 3d
    PYTHONPATH=python pytest bench/ --benchmark-only --benchmark-autosave   # keeps .benchmarks/

Not part of the normal test run (pyproject's ``testpaths`` is ``tests``; every item here is
also marked ``bench``, so ``-m "not bench"`` drops them from an explicit ``pytest bench/``).
Each benchmark also checks once, outside the timing, that cuph's diagram equals the peer's
(off-diagonal (item, dim, birth, death) multisets).  For the full ratio table at the
issue's sizes use ``bench/compare_cpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import _common as C

cuph = C.import_cuph()

pytestmark = pytest.mark.bench


def _input(name, shape, kind, dtype, sigma, batch_dims=0):
    return C.make_input(shape, kind, dtype, seed=C.stable_seed(name), sigma=sigma,
                        batch_dims=batch_dims)


# (id, shape, kind, dtype, construction, maxdim, batch_dims, sigma, peers)
CASES = [
    ("t2d-batch256-noise", (256, 56, 56), "noise", np.float32, "T", 1, 1, 2.0, ["gudhi-sklearn"]),
    ("t2d-batch256-smooth", (256, 56, 56), "smooth", np.float32, "T", 1, 1, 2.0, ["gudhi-sklearn"]),
    ("v3d-32x56x56-noise", (32, 56, 56), "noise", np.float64, "V", 2, 0, 2.0, ["cripser"]),
    ("v3d-64^3-smooth", (64, 64, 64), "smooth", np.float64, "V", 2, 0, 3.0, ["cripser"]),
    ("v2d-512-noise", (512, 512), "noise", np.float64, "V", 1, 0, 3.0, ["cripser", "gudhi"]),
    ("t2d-512-smooth", (512, 512), "smooth", np.float64, "T", 1, 0, 3.0, ["tcripser", "gudhi"]),
]

_inputs: dict = {}


def _get(case):
    name = case[0]
    if name not in _inputs:
        _, shape, kind, dtype, _c, _m, bd, sigma, _p = case
        _inputs[name] = _input(name, shape, kind, dtype, sigma, bd)
    return _inputs[name]


def _peer(tool, construction, maxdim):
    """The peer's call with its canonical pair array (for the exactness check)."""
    if tool == "gudhi-sklearn":
        return lambda x: C.run_gudhi_sklearn_T(x, dims=tuple(range(maxdim + 1)))
    if tool == "gudhi":
        return lambda x: C.run_gudhi_cc(x, construction, maxdim)
    if tool == "cripser":
        return lambda x: C.run_cripser(x, maxdim)
    if tool == "tcripser":
        return lambda x: C.run_tcripser(x, maxdim)
    raise ValueError(tool)


def _peer_raw(tool, construction, maxdim):
    """The peer's call alone, output left in the peer's own format (what is timed)."""
    dims = list(range(maxdim + 1))
    if tool == "gudhi-sklearn":
        from gudhi.sklearn.cubical_persistence import CubicalPersistence

        return lambda x: CubicalPersistence(
            homology_dimensions=dims, input_type="top_dimensional_cells",
            homology_coeff_field=2, n_jobs=1).fit_transform(x)
    if tool == "gudhi":
        import gudhi

        def run(x):
            cc = (gudhi.CubicalComplex(vertices=x) if construction == "V"
                  else gudhi.CubicalComplex(top_dimensional_cells=x))
            cc.compute_persistence(homology_coeff_field=2)
            return [cc.persistence_intervals_in_dimension(k) for k in dims]

        return run
    if tool == "cripser":
        import cripser

        return lambda x: cripser.computePH(x, maxdim=maxdim)
    if tool == "tcripser":
        import tcripser

        return lambda x: tcripser.computePH(x, maxdim=maxdim)
    raise ValueError(tool)


def _cuph(construction, maxdim, batch_dims, n_threads=1):
    return lambda x: cuph.persistence(x, maxdim=maxdim, construction=construction,
                                      batch_dims=batch_dims, n_threads=n_threads)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cuph(benchmark, case):
    name, _s, _k, _d, cons, maxdim, bd, _sg, peers = case
    x = _get(case)
    benchmark.group = name
    benchmark.name = "cuph (1 thread)"
    dg = benchmark(_cuph(cons, maxdim, bd), x)
    ok, note = C.compare(C.pairs_cuph(dg, maxdim), _peer(peers[0], cons, maxdim)(x))
    assert ok, f"{name}: cuph disagrees with {peers[0]}: {note}"


@pytest.mark.parametrize("case", [c for c in CASES if c[6] > 0], ids=lambda c: c[0])
def test_cuph_all_threads(benchmark, case):
    name, _s, _k, _d, cons, maxdim, bd, _sg, _p = case
    benchmark.group = name
    benchmark.name = "cuph (all threads)"
    benchmark(_cuph(cons, maxdim, bd, n_threads=None), _get(case))


@pytest.mark.parametrize(
    "case,peer", [(c, p) for c in CASES for p in c[8]], ids=lambda v: v if isinstance(v, str) else v[0])
def test_peer(benchmark, case, peer):
    name, _s, _k, _d, cons, maxdim, _bd, _sg, _p = case
    benchmark.group = name
    benchmark.name = peer
    benchmark(_peer_raw(peer, cons, maxdim), _get(case))
