// cuph._core: numpy arrays in (read through their strides, never copied), structure-of-arrays
// diagrams out. The GIL is released while the batch runs; the calling thread keeps polling for
// signals so Ctrl-C stops the workers within a fraction of a second (calls of at most 2^16
// values run on the calling thread: common.hpp, run_here).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "common.hpp"
#include "cuph/batch.hpp"
#include "cuda/host.hpp"
#include "replay_switch.hpp"

namespace py = pybind11;
using namespace cuph;
void bind_betti(py::module_& m);  // cpp/bindings/betti.cpp
void bind_graph(py::module_& m);  // cpp/bindings/graph.cpp
void bind_vr(py::module_& m);  // cpp/bindings/vr.cpp

namespace {

using namespace cuph_bindings;

py::dict compute(const py::array& x, int maxdim, const std::string& construction, int batch_dims,
                 int n_threads, bool superlevel, bool keep_diagonal) {
  const Construction con = construction_arg(construction);
  const BatchView b = batch_view(x, batch_dims, 4);
  if (maxdim >= b.item.ndim) throw py::value_error("maxdim: must be below the item dimension");
  Options opt;
  opt.maxdim = maxdim;
  opt.construction = con;
  opt.superlevel = superlevel;
  const int threads = thread_count(n_threads);
  return pairs_dict(run_batch(b, [&](const std::atomic<bool>* cancel) {
    return compute_batch(b, opt, keep_diagonal, threads, cancel);
  }));
}

// The GPU engine's kernels run by the CPU launcher (cuda/host.hpp): how CI tests them.
// `items_per_run` > 0 cuts the batch into runs of that many items, as the CUDA module does when
// a batch does not fit the device; `copied`: each run reads a copy of its items' bytes (x
// C-contiguous), as the CUDA module reads a host batch it uploaded, else the batch in place.
// Checks both options (before the GIL is released) and returns the items per run.
int64_t portable_run_length(const py::array& x, const BatchView& b, int64_t items_per_run,
                            bool copied) {
  if (items_per_run < 0) throw py::value_error("items_per_run: must be >= 0");
  if (copied && !(x.flags() & py::array::c_style))
    throw py::value_error("x: must be C-contiguous with copied=True");
  return items_per_run > 0 ? items_per_run : std::max<int64_t>(b.n_items(), 1);
}

// Persistence by the kernels in runs (portable_run_length), each run's rows appended to one
// result; `direct`: the kernels write the rows into the result (as the CUDA launcher does for
// device results), else into the launcher's arrays, downloaded from there (as for host results).
// run(part, words, n, threads, sink) runs the n items of `part`, a NaN left in its nan_at.
template <class Run>
py::dict portable_runs(const py::array& x, const BatchView& b, bool superlevel, int n_threads,
                       int64_t items_per_run, bool direct, bool copied, Run run) {
  const int64_t per_run = portable_run_length(x, b, items_per_run, copied);
  const int threads = thread_count(n_threads);
  return pairs_dict(run_batch(b, [&](const std::atomic<bool>* cancel) {
    std::vector<uint32_t> words;  // made by the kernels where the dtype has words of its own
    if (!gpu::has_word(int(b.item.dtype))) words = gpu::batch_words(b, superlevel, threads, cancel);
    BatchResult out;
    const gpu::ResultSink sink{out, b.item.dtype, superlevel, direct};
    const int64_t size = b.item.size();
    const auto chunk = [per_run] { return per_run; };
    gpu::for_each_chunk<gpu::HostCopy>(b, chunk, copied, [&](int64_t first, int64_t n,
                                                             const gpu::Input& part) {
      const uint32_t* w = words.empty() ? nullptr : words.data() + first * size;
      const gpu::RunResult r = run(part, w, n, threads, sink);
      if (r.nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * size) + r.nan_at, size);
    });
    if (out.offsets.empty()) out.offsets.push_back(0);  // no items
    return out;
  }));
}

// The 2-D kernels (cuda/cubical_2d.cuh).
py::dict portable_2d(const py::array& x, int maxdim, const std::string& construction,
                     int batch_dims, int n_threads, bool superlevel, int64_t items_per_run,
                     bool direct, bool copied) {
  const Construction con = construction_arg(construction);
  const BatchView b = batch_view(x, batch_dims, 4);
  gpu::check_2d(b);  // std::invalid_argument: a ValueError
  if (maxdim < 0 || maxdim > 1) throw py::value_error("maxdim: must be 0 or 1 for 2-D items");
  const int64_t rows = b.item.shape[0], cols = b.item.shape[1];
  const gpu::Tables2 t = gpu::make_tables(rows, cols, con);
  return portable_runs(x, b, superlevel, n_threads, items_per_run, direct, copied,
                       [&](const gpu::Input& part, const uint32_t* words, int64_t n, int threads,
                           const gpu::ResultSink& sink) {
                         return gpu::run_cpu(t, part, superlevel, words, n, rows, cols,
                                             maxdim + 1, threads, sink);
                       });
}

// The kernels for dimensions 0 and d-1 of 2-D to 4-D items (cuda/cubical_nd.cuh); the middle
// dimensions' groups are left empty.
py::dict portable_nd(const py::array& x, int maxdim, const std::string& construction,
                     int batch_dims, int n_threads, bool superlevel, int64_t items_per_run,
                     bool direct, bool copied) {
  const Construction con = construction_arg(construction);
  const BatchView b = batch_view(x, batch_dims, 4);
  gpu::check_nd(b);  // std::invalid_argument: a ValueError
  if (maxdim < 0 || maxdim >= b.item.ndim)
    throw py::value_error("maxdim: must be below the item dimension");
  const gpu::TablesN t = gpu::make_tables_nd(b.item.ndim, b.item.shape, con, maxdim);
  return portable_runs(x, b, superlevel, n_threads, items_per_run, direct, copied,
                       [&](const gpu::Input& part, const uint32_t* words, int64_t n, int threads,
                           const gpu::ResultSink& sink) {
                         return gpu::run_cpu_nd(t, part, superlevel, words, n, threads, sink);
                       });
}

// The Betti kernels on the CPU launcher: (n_items, d) Betti numbers of {x <= eta}, 2-D or
// 3-D items.
py::array_t<int64_t> portable_betti(const py::array& x, const Thresholds& eta,
                                    const std::string& construction, int batch_dims,
                                    int n_threads, int64_t items_per_run, bool copied) {
  const Construction con = construction_arg(construction);
  const BatchView b = batch_view(x, batch_dims, 4);
  gpu::check_betti(b);  // std::invalid_argument: a ValueError
  const int64_t per_run = portable_run_length(x, b, items_per_run, copied);
  const double* t = thresholds_arg(eta, b.n_items());
  const int threads = thread_count(n_threads);
  const int64_t size = b.item.size();
  return betti_array(run_batch(b, [&](const std::atomic<bool>*) {
    const gpu::BettiTables tables = gpu::make_betti_tables(b.item.ndim, b.item.shape, con);
    std::vector<int64_t> out;
    const auto chunk = [per_run] { return per_run; };
    gpu::for_each_chunk<gpu::HostCopy>(b, chunk, copied, [&](int64_t first, int64_t n,
                                                             const gpu::Input& part) {
      uint64_t nan_at = ~uint64_t(0);
      gpu::run_betti_cpu(part, tables, t + first, n, threads, out, nan_at);
      if (nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * size) + nan_at, size);
    });
    return out;
  }), b.n_items(), b.item.ndim);
}

// The result pool's counters; with `limit`, sets the most bytes it keeps first (which also
// bounds the small items' pair lists kept between batches, item_pairs_cache.hpp).
py::dict result_pool(std::optional<int64_t> limit) {
  ResultPool& pool = ResultPool::instance();
  if (limit) {
    if (*limit < 0) throw py::value_error("limit: must be >= 0 bytes");
    pool.set_limit(size_t(*limit));
    ItemPairsCache::instance().set_limit(size_t(*limit));
  }
  const ResultPool::Stats s = pool.stats();
  py::dict out;
  out["limit"] = s.limit;
  out["cached_bytes"] = s.cached_bytes;
  out["cached_blocks"] = s.cached_blocks;
  out["live_bytes"] = s.live_bytes;
  out["live_blocks"] = s.live_blocks;
  out["mapped"] = s.mapped;
  out["reused"] = s.reused;
  out["item_lists_bytes"] = ItemPairsCache::instance().bytes();
  return out;
}

// An uninitialised 1-D array of n elements of `dtype`, in a pool block when it is large enough
// (Diagrams.concat joins chunks and Dask parts into such arrays, so their memory is warm too).
py::array pooled_empty(int64_t n, const py::dtype& dtype) {
  if (n < 0) throw py::value_error("n: must be >= 0");
  const size_t bytes = size_t(n) * size_t(dtype.itemsize());
  const std::vector<py::ssize_t> shape{py::ssize_t(n)};
  if (!ResultPool::pooled(bytes)) return py::array(dtype, shape, std::vector<py::ssize_t>{});
  void* block = ResultPool::instance().take(bytes);
  py::capsule owner(block, [](void* p) {
    if (!ResultPool::instance().give_back(p)) std::abort();  // only pool blocks come here
  });
  return py::array(dtype, shape, std::vector<py::ssize_t>{py::ssize_t(dtype.itemsize())}, block,
                   owner);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "cuph compiled core: exact cubical persistent homology on CPU threads";
  m.def("compute", &compute, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"), py::arg("keep_diagonal"),
        "Persistence pairs of every item of x; see docs/INTERNALS.md for the result layout.");
  m.def("_portable_2d", &portable_2d, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"),
        py::arg("items_per_run") = 0, py::arg("direct") = true, py::arg("copied") = false,
        "The GPU engine's 2-D kernels on CPU threads (the CPU launcher); for tests.");
  m.def("_portable_nd", &portable_nd, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"),
        py::arg("items_per_run") = 0, py::arg("direct") = true, py::arg("copied") = false,
        "The GPU engine's kernels for dimensions 0 and d-1 of 2-D to 4-D items on CPU threads "
        "(the CPU launcher; the middle dimensions are left empty); for tests.");
  m.def(
      "_portable_block",
      [](std::optional<int64_t> n) {
        if (n && *n < 1) throw py::value_error("n: must be >= 1");
        return n ? gpu::cpu_launch_block().exchange(*n) : gpu::cpu_launch_block().load();
      },
      py::arg("n") = py::none(),
      "Test switch: elements per block of the CPU launcher (default 4096); returns the previous.");
  def_replay_switch(m, "_portable_replay", "CPU launcher");
  def_launch_profile(m, "_portable_profile", "CPU launcher");
  m.def("_portable_betti", &portable_betti, py::arg("x"), py::arg("thresholds"),
        py::arg("construction"), py::arg("batch_dims"), py::arg("n_threads"),
        py::arg("items_per_run") = 0, py::arg("copied") = false,
        "The GPU engine's Betti kernels (2-D and 3-D items) on CPU threads (the CPU launcher); "
        "for tests.");
  m.def("result_pool", &result_pool, py::arg("limit") = py::none(),
        "Counters of the pool that recycles result columns; `limit` sets its byte limit.");
  m.def("pooled_empty", &pooled_empty, py::arg("n"), py::arg("dtype"),
        "An uninitialised 1-D array, in a result-pool block when it is 64 KiB or more.");
  m.def(
      "_verify_positive_rows",
      [](std::optional<bool> on) {
        return on ? verify_positive_rows().exchange(*on) : verify_positive_rows().load();
      },
      py::arg("on") = py::none(),
      "Test switch: 3-D/4-D reductions keep the rows of cells known to create a class and "
      "check that none is a pivot (RuntimeError otherwise); returns the old value.");
  m.def(
      "_shared_reduction_columns",
      [](std::optional<size_t> n) {
        return n ? shared_reduction_columns().exchange(*n) : shared_reduction_columns().load();
      },
      py::arg("n") = py::none(),
      "Test switch: how many columns a 3-D/4-D reduction needs to run on several threads "
      "(default 512); returns the previous.");
  bind_betti(m);
  bind_graph(m);
  bind_vr(m);
}
