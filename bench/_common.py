"""Helpers shared by the benchmark scripts in ``bench/``: inputs, peers, exactness checks,
machine information and the results file.

Not a test module and not part of the package.  The scripts import it as ``_common``
(``bench/`` is ``sys.path[0]`` when they run as ``python bench/<script>.py``).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

#: What CubicalRipser writes for an infinite death (C's DBL_MAX).
DBL_MAX = float(np.finfo(np.float64).max)


# --------------------------------------------------------------------------------------
# importing cuph
# --------------------------------------------------------------------------------------

def import_cuph(retries: int = 6, delay: float = 5.0):
    """``import cuph``; falls back to ``<repo>/python`` on ``sys.path`` when cuph is not
    importable as is, and retries a few times (the compiled module may be mid-rebuild)."""
    last: Optional[BaseException] = None
    for attempt in range(retries):
        try:
            return importlib.import_module("cuph")
        except ImportError as err:  # includes a half-written _core*.so
            last = err
            src = str(REPO / "python")
            if src not in sys.path:
                sys.path.insert(0, src)
                continue
            for name in [m for m in sys.modules if m == "cuph" or m.startswith("cuph.")]:
                del sys.modules[name]
            if attempt < retries - 1:
                time.sleep(delay)
    raise ImportError(f"cannot import cuph (set PYTHONPATH={REPO / 'python'}): {last}")


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------

def stable_seed(name: str) -> int:
    """A seed derived from a case name, the same in every process (unlike ``hash``)."""
    import zlib

    return zlib.crc32(name.encode())


def make_input(shape: Tuple[int, ...], kind: str, dtype, seed: int, sigma: float = 0.0,
               batch_dims: int = 0) -> np.ndarray:
    """Uniform noise (``kind="noise"``) or Gaussian-filtered uniform noise (``"smooth"``,
    ``sigma`` in voxels, item axes only, ``mode="reflect"``), C-contiguous, of ``dtype``.

    Smooth maps have far fewer critical cells than noise, like real data."""
    rng = np.random.default_rng(seed)
    x = rng.random(shape, dtype=np.float64)
    if kind == "smooth":
        from scipy.ndimage import gaussian_filter

        sig = [0.0] * batch_dims + [sigma] * (len(shape) - batch_dims)
        x = gaussian_filter(x, sigma=sig, mode="reflect")
    elif kind != "noise":
        raise ValueError(f"kind: 'noise' or 'smooth', got {kind!r}")
    return np.ascontiguousarray(x, dtype=dtype)


# --------------------------------------------------------------------------------------
# pair multisets: an (n, 4) float64 array [item, dim, birth, death], off-diagonal rows only,
# sorted lexicographically.  Two results agree when these arrays are equal.
# --------------------------------------------------------------------------------------

def _canon(item, dim, birth, death) -> np.ndarray:
    item = np.asarray(item, dtype=np.float64).ravel()
    dim = np.asarray(dim, dtype=np.float64).ravel()
    birth = np.asarray(birth, dtype=np.float64).ravel()
    death = np.asarray(death, dtype=np.float64).ravel()
    death = np.where(death >= DBL_MAX, np.inf, death)
    keep = birth != death
    rows = np.stack([item[keep], dim[keep], birth[keep], death[keep]], axis=1)
    order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))
    return rows[order]


def pairs_cuph(dg, maxdim: Optional[int] = None) -> np.ndarray:
    dim = np.asarray(dg.dim)
    sel = slice(None) if maxdim is None else (dim <= maxdim)
    return _canon(np.asarray(dg.item)[sel], dim[sel], np.asarray(dg.birth)[sel],
                  np.asarray(dg.death)[sel])


def pairs_cripser(res: np.ndarray, maxdim: Optional[int] = None) -> np.ndarray:
    res = np.asarray(res, dtype=np.float64)
    res = res.reshape(-1, res.shape[-1]) if res.size else np.zeros((0, 9))
    if maxdim is not None:
        res = res[res[:, 0] <= maxdim]
    return _canon(np.zeros(len(res)), res[:, 0], res[:, 1], res[:, 2])


def pairs_gudhi_intervals(per_item: List[List[np.ndarray]], dims: List[int]) -> np.ndarray:
    """From ``per_item[i][j]`` = (n, 2) intervals of item i in dimension ``dims[j]``."""
    items, ds, bs, es = [], [], [], []
    for i, diags in enumerate(per_item):
        for k, iv in zip(dims, diags):
            iv = np.asarray(iv, dtype=np.float64).reshape(-1, 2)
            items.append(np.full(len(iv), i))
            ds.append(np.full(len(iv), k))
            bs.append(iv[:, 0])
            es.append(iv[:, 1])
    if not items:
        return np.zeros((0, 4))
    return _canon(np.concatenate(items), np.concatenate(ds), np.concatenate(bs),
                  np.concatenate(es))


def compare(a: np.ndarray, b: np.ndarray) -> Tuple[bool, str]:
    """(equal, note): note says how many pairs each side has and, if they differ, how many
    rows of each side have no partner in the other (as multisets), per dimension."""
    if a.shape == b.shape and np.array_equal(a, b):
        return True, f"{len(a)}"
    from collections import Counter

    ca = Counter(map(tuple, a.tolist()))
    cb = Counter(map(tuple, b.tolist()))
    only_a = ca - cb
    only_b = cb - ca
    per_dim: Dict[int, List[int]] = {}
    for row, n in only_a.items():
        per_dim.setdefault(int(row[1]), [0, 0])[0] += n
    for row, n in only_b.items():
        per_dim.setdefault(int(row[1]), [0, 0])[1] += n
    detail = ", ".join(f"H{k}: {v[0]} only in cuph / {v[1]} only in peer"
                       for k, v in sorted(per_dim.items()))
    return False, f"{len(a)} vs {len(b)} pairs; {detail}"


# --------------------------------------------------------------------------------------
# peers (each returns the canonical pair array)
# --------------------------------------------------------------------------------------

def run_gudhi_sklearn_T(x: np.ndarray, dims=(0, 1)) -> np.ndarray:
    """gudhi's fast path for 2-D top-cell images: ``gudhi.sklearn.CubicalPersistence``
    (Persistence_on_rectangle) over a batch (iterates the first axis), 1 job."""
    from gudhi.sklearn.cubical_persistence import CubicalPersistence

    cp = CubicalPersistence(homology_dimensions=list(dims), input_type="top_dimensional_cells",
                            homology_coeff_field=2, n_jobs=1)
    res = cp.fit_transform(x)
    return pairs_gudhi_intervals(res, list(dims))


def run_gudhi_cc(x: np.ndarray, construction: str, maxdim: int) -> np.ndarray:
    """``gudhi.CubicalComplex(vertices=x)`` or ``(top_dimensional_cells=x)`` over Z/2 (as cuph
    and CubicalRipser; gudhi's default Z/11 can give other barcodes in 3-D), intervals of
    dims 0..maxdim."""
    import gudhi

    if construction == "V":
        cc = gudhi.CubicalComplex(vertices=x)
    else:
        cc = gudhi.CubicalComplex(top_dimensional_cells=x)
    cc.compute_persistence(homology_coeff_field=2)
    dims = list(range(maxdim + 1))
    return pairs_gudhi_intervals([[cc.persistence_intervals_in_dimension(k) for k in dims]], dims)


def run_cripser(x: np.ndarray, maxdim: int) -> np.ndarray:
    import cripser

    return pairs_cripser(cripser.computePH(x, maxdim=maxdim), maxdim)


def run_tcripser(x: np.ndarray, maxdim: int) -> np.ndarray:
    import tcripser

    return pairs_cripser(tcripser.computePH(x, maxdim=maxdim), maxdim)


# --------------------------------------------------------------------------------------
# machine information and the results file
# --------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _version(mod: str) -> str:
    try:
        m = importlib.import_module(mod)
        return str(getattr(m, "__version__", "?"))
    except ImportError:
        return "not installed"


def machine_info(cuph_mod: Any = None) -> Dict[str, str]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count() or 1
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    commit = _git("rev-parse", "--short", "HEAD") or "?"
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", "cpp", "python",
                 "CMakeLists.txt", "pyproject.toml")
    info = {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": _cpu_model(),
        "cores": f"{os.cpu_count()} (usable by this process: {affinity})",
        "memory": mem,
        "load average at start (1/5/15 min)": " / ".join(f"{v:.2f}" for v in os.getloadavg()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "gudhi": _version("gudhi"),
        "cripser": _version("cripser"),
        "cuph commit": commit + (" (+ uncommitted changes in cpp/ or python/)" if dirty else ""),
    }
    if cuph_mod is not None:
        core = sorted(Path(cuph_mod.__file__).parent.glob("_core*.so"))
        if core:
            mtime = _dt.datetime.fromtimestamp(core[0].stat().st_mtime)
            info["cuph _core built"] = f"{mtime:%Y-%m-%d %H:%M} ({core[0].name})"
        info["cuph from"] = str(Path(cuph_mod.__file__).parent)
    return info


def results_path(quick: bool = False, date: Optional[str] = None, kind: str = "cpu") -> Path:
    """``bench/results/<kind>-<date>[-quick].md``: "cpu" for the engine's ratio and memory
    tables, "study-jobs" for the profiling and Dask scripts."""
    date = date or _dt.date.today().isoformat()
    return RESULTS_DIR / f"{kind}-{date}{'-quick' if quick else ''}.md"


def _machine_block(info: Dict[str, str]) -> str:
    lines = ["## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str, body: str, info: Dict[str, str]) -> None:
    """Put ``body`` into ``path`` between the markers of ``section``, replacing an earlier
    version of that section in place and keeping everything else: the other sections (so
    ``compare_cpu.py`` and ``memory.py`` share one file per day) and any notes written by hand
    between or after them.  A new section goes after the last one.  The machine block is
    rewritten each time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"# cuph CPU benchmarks, {path.stem.replace('cpu-', '')}"
    text = path.read_text() if path.exists() else (
        f"{title}\n\nWritten by `bench/compare_cpu.py` and `bench/memory.py`; "
        "see `bench/README.md`.\n\n")
    if not body.endswith("\n"):
        body += "\n"

    def put(text: str, name: str, content: str, first: bool = False) -> str:
        block = f"<!-- begin:{name} -->\n{content}<!-- end:{name} -->\n"
        pattern = re.compile(rf"<!-- begin:{re.escape(name)} -->\n.*?<!-- end:{re.escape(name)} -->\n",
                             re.S)
        if pattern.search(text):
            return pattern.sub(lambda _: block, text, count=1)
        if first:
            anchor = re.search(r"<!-- begin:[\w-]+ -->\n", text)
            at = anchor.start() if anchor else len(text)
        else:
            ends = list(re.finditer(r"<!-- end:[\w-]+ -->\n", text))
            at = ends[-1].end() if ends else len(text)
        if at == len(text):
            return text.rstrip("\n") + "\n\n" + block
        return text[:at] + ("\n" if not first else "") + block + ("\n" if first else "") + text[at:]

    text = put(text, "machine", _machine_block(info), first=True)
    text = put(text, section, body)
    path.write_text(text)


def run_stamp() -> str:
    """One line for a results section: when it ran and how busy the machine was."""
    la = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"Run started {_dt.datetime.now():%Y-%m-%d %H:%M}, load average (1/5/15 min) "
            f"at start {la} on {os.cpu_count()} cores.")


def md_table(header: List[str], rows: List[List[str]]) -> str:
    cols = [header] + rows
    w = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    fmt = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
    sep = "|" + "|".join("-" * (x + 2) for x in w) + "|"
    return "\n".join([fmt(header), sep] + [fmt(r) for r in rows]) + "\n"


def fmt_s(t: Optional[float]) -> str:
    """Seconds, 3 significant digits."""
    if t is None:
        return "-"
    return f"{t:.3g}" if t < 1000 else f"{t:.0f}"


# ----------------------------------------------------------------------------- peak memory
def status_kb(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM, ...)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) by writing 5 to /proc/self/clear_refs
    (Linux >= 4.0). Returns whether the reset worked: the high-water mark came down to about
    the current RSS (some containers refuse the write)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return status_kb("VmHWM") <= status_kb("VmRSS") + 64
