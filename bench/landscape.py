#!/usr/bin/env python
"""Loss-landscape benchmarks: graph persistence vs gudhi / scipy / networkx, and a 4096^2 loss
grid through the cubical engine.

Usage::

    PYTHONPATH=python python bench/landscape.py                  # full sizes (minutes)
    PYTHONPATH=python python bench/landscape.py --quick          # small sizes (smoke test)
    PYTHONPATH=python python bench/landscape.py --sizes 1e6:5e6 --tools cuph,gudhi

Graph case: ``n`` vertices with uniform random values and ``m`` edges with uniform random
endpoints (a random graph of mean degree 2m/n: one giant component, no locality, the
hard case for caches), 0-dimensional sublevel persistence. Tools:

* ``cuph``: ``cuph.landscape.graph_persistence`` (all threads, and ``cuph-1t``: one);
* ``gudhi``: ``SimplexTree`` filled with ``insert_batch`` (vertices at their values, edges at
  the max of their endpoints), then ``compute_persistence`` and the dimension-0 intervals;
  construction and persistence are timed together (the tree is the input format gudhi needs);
* ``scipy``: edges deduplicated (a sparse matrix would sum repeats), then
  ``scipy.sparse.csgraph.minimum_spanning_tree`` on edge weights max(value) + 1, followed by Kruskal with the elder rule over the n - 1 tree edges in a numpy/Python loop
  (exact: the pairs of a graph are those of its minimum spanning forest);
* ``networkx``: ``nx.minimum_spanning_edges`` (Kruskal) and the same elder-rule replay,
  only run up to ``--networkx-max`` vertices (pure Python).

Every (tool, size) runs in a fresh subprocess that builds the same graph from a seed, times
the call only and reports peak memory: VmHWM after resetting it (``/proc/self/clear_refs``)
once the input exists, so "call MiB" is the tool's own working memory (result included,
input excluded). Results of all tools at one size are compared (sorted finite pairs and the
essential births) before any timing is printed.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from _common import import_cuph, reset_peak, status_kb  # bench/ is sys.path[0]: cuph from PYTHONPATH, else <repo>/python

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


# ----------------------------------------------------------------------------- inputs
def make_graph(n: int, m: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.random(n)
    edges = rng.integers(0, n, size=(m, 2), dtype=np.int64)
    return values, edges


def make_grid(side: int, seed: int) -> np.ndarray:
    """A smooth random 'loss surface': low-frequency random Fourier modes plus a bowl."""
    rng = np.random.default_rng(seed)
    spec = np.zeros((side, side // 2 + 1), dtype=np.complex128)
    k = 24
    spec[:k, :k] = rng.normal(size=(k, k)) + 1j * rng.normal(size=(k, k))
    field = np.fft.irfft2(spec, s=(side, side))
    t = np.linspace(-1, 1, side)
    bowl = t[:, None] ** 2 + t[None, :] ** 2
    return (field / field.std() + 2.0 * bowl).astype(np.float32)


# ----------------------------------------------------------------------------- tools
def _elder_replay(values: np.ndarray, u: np.ndarray, v: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Pairs of a spanning forest's edges, replayed in (max value, max index) order with the
    elder rule (plain Python union-find: the reference, not the fast path)."""
    n = len(values)
    rank = np.empty(n, dtype=np.int64)
    order = np.lexsort((np.arange(n), values))
    rank[order] = np.arange(n)
    hi = np.maximum(rank[u], rank[v])
    lo = np.minimum(rank[u], rank[v])
    idx = np.argsort(hi, kind="stable")
    parent = list(range(n))
    births, deaths = [], []
    for h, l in zip(hi[idx].tolist(), lo[idx].tolist()):
        a = l
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = h
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a == b:
            continue
        young, old = (a, b) if a > b else (b, a)
        parent[young] = old
        births.append(young)
        deaths.append(h)
    roots = [r for r in range(n) if parent[r] == r]
    b = values[order[np.array(births + roots, dtype=np.int64)]]
    d = np.concatenate([values[order[np.array(deaths, dtype=np.int64)]], np.full(len(roots), np.inf)])
    return b, d


def run_tool(tool: str, values: np.ndarray, edges: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(births, deaths) of dimension 0, zero-length pairs dropped, inf for essential."""
    if tool.startswith("cuph"):
        cuph = import_cuph()

        dg = cuph.landscape.graph_persistence(values, edges, n_threads=1 if tool == "cuph-1t" else None)
        return dg.birth, dg.death
    if tool == "gudhi":
        import gudhi

        keep = edges[:, 0] != edges[:, 1]
        e = edges[keep]
        st = gudhi.SimplexTree()
        st.insert_batch(np.arange(len(values), dtype=np.int64)[None, :], values)
        st.insert_batch(e.T, np.maximum(values[e[:, 0]], values[e[:, 1]]))
        st.compute_persistence(persistence_dim_max=False)
        p = st.persistence_intervals_in_dimension(0)
        return p[:, 0], p[:, 1]
    if tool == "scipy":
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import minimum_spanning_tree

        n = len(values)
        # one entry per undirected edge: a sparse matrix sums repeated entries
        lo, hi = np.minimum(edges[:, 0], edges[:, 1]), np.maximum(edges[:, 0], edges[:, 1])
        code = np.unique(lo[lo != hi] * n + hi[lo != hi])
        u, v = code // n, code % n
        w = np.maximum(values[u], values[v]) + 1.0  # csgraph: a stored 0 is no edge
        mst = minimum_spanning_tree(coo_matrix((w, (u, v)), shape=(n, n))).tocoo()
        b, d = _elder_replay(values, mst.row.astype(np.int64), mst.col.astype(np.int64))
        keep = b != d
        return b[keep], d[keep]
    if tool == "networkx":
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(len(values)))
        w = np.maximum(values[edges[:, 0]], values[edges[:, 1]])
        g.add_weighted_edges_from(zip(edges[:, 0].tolist(), edges[:, 1].tolist(), w.tolist()))
        t = list(nx.minimum_spanning_edges(g, algorithm="kruskal", data=False))
        u = np.array([a for a, _ in t], dtype=np.int64)
        v = np.array([b for _, b in t], dtype=np.int64)
        b, d = _elder_replay(values, u, v)
        keep = b != d
        return b[keep], d[keep]
    raise ValueError(f"unknown tool {tool!r}")


def child(args: argparse.Namespace) -> None:
    if args.case == "grid":
        cuph = import_cuph()

        x = make_grid(args.n, args.seed)
        cuph.persistence(x[:8, :8], maxdim=0)
        rss_input = status_kb("VmRSS") * 1024
        exact = reset_peak()
        t0 = time.perf_counter()
        if args.tool == "cuph":
            dg = cuph.persistence(x, maxdim=0)
            b, d = dg.birth, dg.death
        elif args.tool == "cuph-graph":
            dg = cuph.landscape.graph_persistence(x, cuph.landscape.grid_graph(x.shape))
            b, d = dg.birth, dg.death
        else:
            import gudhi

            cc = gudhi.CubicalComplex(vertices=x)
            cc.compute_persistence()
            p = cc.persistence_intervals_in_dimension(0)
            b, d = p[:, 0], p[:, 1]
        elapsed = time.perf_counter() - t0
    else:
        values, edges = make_graph(args.n, args.m, args.seed)
        # warm-up on a tiny graph: imports and lazy initialisation are not timed
        run_tool(args.tool, values[:64].copy(), edges[:64] % 64)
        rss_input = status_kb("VmRSS") * 1024
        exact = reset_peak()
        t0 = time.perf_counter()
        b, d = run_tool(args.tool, values, edges)
        elapsed = time.perf_counter() - t0
    peak = status_kb("VmHWM") * 1024
    b = np.asarray(b, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    fin = np.isfinite(d)
    pairs = np.stack([b[fin], d[fin]], axis=1)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    np.savez(args.result, pairs=pairs, essential=np.sort(b[~fin]))
    print(json.dumps({"seconds": elapsed, "rss_input": rss_input, "peak": peak,
                      "peak_exact": exact, "n_pairs": int(len(b))}))


# ----------------------------------------------------------------------------- parent
def measure(case: str, tool: str, n: int, m: int, seed: int, tmp: str, timeout: float) -> Optional[Dict[str, Any]]:
    result = os.path.join(tmp, f"{case}-{tool}-{n}-{m}.npz")
    cmd = [sys.executable, __file__, "--child", "--case", case, "--tool", tool, "--n", str(n),
           "--m", str(m), "--seed", str(seed), "--result", result]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {out.returncode}: {tail[0][:120]}"}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["result"] = result
    return res


def same_result(a: str, b: str) -> bool:
    with np.load(a) as x, np.load(b) as y:
        return (x["pairs"].shape == y["pairs"].shape and np.array_equal(x["pairs"], y["pairs"])
                and np.array_equal(x["essential"], y["essential"]))


def _mib(x: float) -> str:
    return f"{x / 2**20:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--sizes", default=None,
                    help="graph sizes n:m, comma separated (default 1e5:5e5,1e6:5e6,1e7:5e7)")
    ap.add_argument("--tools", default="cuph,cuph-1t,gudhi,scipy,networkx")
    ap.add_argument("--networkx-max", type=float, default=1e5,
                    help="largest n for networkx (pure Python), and for the scipy reference's "
                    "Python replay ×100")
    ap.add_argument("--grid", type=int, default=4096, help="side of the loss grid (0: skip)")
    ap.add_argument("--grid-tools", default="cuph,cuph-graph,gudhi")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per measurement")
    ap.add_argument("--out", default=None, help="also write the tables to this markdown file")
    ap.add_argument("--seed", type=int, default=7)
    # child mode
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", default="graph", help=argparse.SUPPRESS)
    ap.add_argument("--tool", default="cuph", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--m", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--result", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0

    sizes_spec = args.sizes or ("1e4:5e4,1e5:5e5" if args.quick else "1e5:5e5,1e6:5e6,1e7:5e7")
    sizes = [tuple(int(float(v)) for v in s.split(":")) for s in sizes_spec.split(",")]
    tools = args.tools.split(",")
    grid = 256 if args.quick and args.grid == 4096 else args.grid
    lines: List[str] = []

    def emit(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    emit(f"# cuph landscape benchmark ({time.strftime('%Y-%m-%d')})")
    emit()
    emit(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
         "peak = VmHWM of a fresh subprocess, 'call' = peak - RSS once the input exists.")
    emit()
    emit("## Graph: 0-dim sublevel persistence, random graph (uniform values and endpoints)")
    emit()
    emit("| n | m | tool | time (s) | call MiB | bytes/edge | vs cuph | exact |")
    emit("|---|---|---|---|---|---|---|---|")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for n, m in sizes:
            rows = {}
            for tool in tools:
                if tool == "networkx" and n > args.networkx_max:
                    continue
                if tool == "scipy" and n > 100 * args.networkx_max:
                    continue
                rows[tool] = measure("graph", tool, n, m, args.seed, tmp, args.timeout)
            ref = rows.get("cuph") or next(iter(rows.values()))
            for tool, r in rows.items():
                if "error" in r:
                    emit(f"| {n:.0e} | {m:.0e} | {tool} | {r['error']} | | | | |")
                    continue
                exact = "ref" if tool == "cuph" else ("yes" if same_result(ref["result"], r["result"]) else "NO")
                ok &= exact != "NO"
                call = r["peak"] - r["rss_input"]
                ratio = r["seconds"] / ref["seconds"] if "seconds" in ref else float("nan")
                emit(f"| {n:.0e} | {m:.0e} | {tool} | {r['seconds']:.3f} | {_mib(call)} | "
                     f"{call / max(m, 1):.1f} | {ratio:.1f}x | {exact} |")
        if grid:
            emit()
            emit(f"## Loss grid {grid}x{grid} float32 (smooth random surface), dimension 0")
            emit()
            emit("| tool | time (s) | call MiB | bytes/point | vs cuph | exact |")
            emit("|---|---|---|---|---|---|")
            rows = {t: measure("grid", t, grid, 0, args.seed, tmp, args.timeout)
                    for t in args.grid_tools.split(",")}
            ref = rows.get("cuph")
            for tool, r in rows.items():
                if "error" in r:
                    emit(f"| {tool} | {r['error']} | | | | |")
                    continue
                exact = "ref" if tool == "cuph" else ("yes" if same_result(ref["result"], r["result"]) else "NO")
                ok &= exact != "NO"
                call = r["peak"] - r["rss_input"]
                emit(f"| {tool} | {r['seconds']:.3f} | {_mib(call)} | {call / grid**2:.1f} | "
                     f"{r['seconds'] / ref['seconds']:.1f}x | {exact} |")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
