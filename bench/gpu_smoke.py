"""A short run of every GPU kernel, checked against the CPU engine: what bench/gpu_check.sh runs
under compute-sanitizer (a whole pytest session under the sanitizer takes minutes).

    python bench/gpu_smoke.py      # exit status 0: every result equal; 2: no usable GPU
"""

from __future__ import annotations

import sys

import numpy as np

import cuph


def rows(dg):
    return sorted(zip(dg.item.tolist(), dg.dim.tolist(), dg.birth.tolist(), dg.death.tolist()))


def main() -> int:
    if not cuph.cuda_available():
        print("no usable CUDA device")
        return 2
    from cuph import _cuda

    rng = np.random.default_rng(0)
    failures = 0
    # The replay with a block per item and pass (several block sizes: racecheck sees its
    # shared memory) and on one thread per item.
    replays = [dict(blocks=True, threads=128), dict(blocks=True, threads=33),
               dict(blocks=False)]
    before = _cuda._replay()
    for shape in [(1, 1), (1, 9), (7, 1), (33, 47), (40,)]:
        x = rng.integers(0, 5, (16,) + shape).astype(np.float32)
        eta = rng.integers(-1, 6, 16).astype(np.float64)
        for construction in "VT":
            for superlevel in (False, True):
                want = cuph.persistence(x, batch_dims=1, construction=construction,
                                        superlevel=superlevel, device="cpu")
                for replay in replays:
                    _cuda._replay(**replay)
                    got = cuph.persistence(x, batch_dims=1, construction=construction,
                                           superlevel=superlevel, device="cuda")
                    failures += rows(got) != rows(want)
                _cuda._replay(blocks=before["blocks"], threads=before["threads"])
            if len(shape) == 1:
                continue
            failures += not np.array_equal(
                cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction,
                                      device="cuda"),
                cuph.betti_numbers_at(x, eta, batch_dims=1, construction=construction,
                                      device="cpu"))
    # 3-D and 4-D items: dimensions 0 and d-1 on the GPU (cubical_nd.cuh), the middle ones from
    # the CPU engine; maxdim 0 runs the kernels alone, and one pass.
    for shape in [(1, 1, 1), (5, 1, 1), (6, 9, 7), (3, 4, 2, 5)]:
        x = rng.integers(0, 4, (6,) + shape).astype(np.float32)
        for construction in "VT":
            for maxdim in (None, 0):
                for superlevel in (False, True):
                    kw = dict(batch_dims=1, construction=construction, maxdim=maxdim,
                              superlevel=superlevel)
                    failures += rows(cuph.persistence(x, device="cuda", **kw)) != rows(
                        cuph.persistence(x, device="cpu", **kw))
    v = rng.integers(0, 4, (8, 6, 9, 7)).astype(np.float32)
    for construction in "VT":
        failures += not np.array_equal(
            cuph.betti_numbers_at(v, 1.5, batch_dims=1, construction=construction, device="cuda"),
            cuph.betti_numbers_at(v, 1.5, batch_dims=1, construction=construction, device="cpu"))
    try:
        import torch

        xt = torch.from_numpy(rng.random((8, 20, 24)).astype(np.float32)).cuda().transpose(1, 2)
        failures += rows(cuph.persistence(xt, batch_dims=1)) != rows(
            cuph.persistence(xt.cpu().numpy(), batch_dims=1, device="cpu"))
    except ImportError:
        pass
    print("failures:", failures, "block replays:", _cuda._replay()["block_runs"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
