// cuph._cuda: the GPU engine's Python module. It imports on a machine without a GPU or a driver
// (cudart is linked statically; device_count() is then 0), so `cuph.cuda_available()` can ask.
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <utility>

#include "cpp/bindings/common.hpp"
#include "cuda/host_2d.hpp"
#include "cuda/launch.hpp"

namespace py = pybind11;
using namespace cuph;

namespace {

using namespace cuph_bindings;

// Persistence of a batch of 2-D items on the current device. Host arrays are read into value
// words on CPU threads (as the CPU engine reads them) and copied to the device; the batch is
// cut into chunks of items that fit the device's free memory (the same pairs either way).
py::dict compute_2d(const py::array& x, int maxdim, const std::string& construction,
                    int batch_dims, int n_threads, bool superlevel) {
  if (construction != "V" && construction != "T")
    throw py::value_error("construction: must be 'V' or 'T'");
  const BatchView b = batch_view(x, batch_dims, 4);
  try {
    gpu::check_2d(b);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  if (maxdim < 0 || maxdim > 1) throw py::value_error("maxdim: must be 0 or 1 for 2-D items");
  if (gpu::device_count() == 0)
    throw std::runtime_error("device: no CUDA device is usable; use device='cpu'");
  const int64_t rows = b.item.shape[0], cols = b.item.shape[1], size = rows * cols;
  const int passes = maxdim + 1;
  size_t free = 0, total = 0;
  gpu::device_memory(free, total);
  const size_t per_item = gpu::batch_bytes(1, rows, cols, passes) + size_t(size) * 4;
  const size_t usable = free / 10 * 8;  // leave room for the runtime and other users
  if (per_item > usable) {
    PyErr_SetString(PyExc_MemoryError,
                    ("x: one " + std::to_string(rows) + "x" + std::to_string(cols) +
                     " item needs about " + std::to_string(per_item >> 20) + " MiB of GPU memory, " +
                     std::to_string(usable >> 20) + " MiB are free; use device='cpu'")
                        .c_str());
    throw py::error_already_set();
  }
  const int64_t chunk = int64_t(std::max<size_t>(1, usable / per_item));
  const int threads = thread_count(n_threads);
  return pairs_dict(run_batch(b, [&](const std::atomic<bool>* cancel) {
    const std::vector<uint32_t> words = gpu::batch_words(b, superlevel, threads, cancel);
    const gpu::Tables2 t = gpu::make_tables(rows, cols,
                                            construction == "V" ? Construction::V : Construction::T);
    std::vector<ItemPairs> items(static_cast<size_t>(b.n_items()));
    for (int64_t first = 0; first < b.n_items(); first += chunk) {
      const int64_t n = std::min(chunk, b.n_items() - first);
      gpu::RunResult r;
      gpu::run_cuda(t, words.data() + first * size, n, rows, cols, passes, r);
      gpu::collect(items, first, n, passes, r.pairs, r.n_pairs, r.start);
    }
    return gpu::assemble(b, items, maxdim, superlevel, threads);
  }));
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "cuph GPU engine (CUDA): batched 2-D cubical persistence";
  m.def("device_count", &gpu::device_count,
        "CUDA devices usable by this process (0 without a driver or a GPU).");
  m.def("device_name", &gpu::device_name, "The current CUDA device's name.");
  m.def(
      "memory_info",
      []() {
        size_t free = 0, total = 0;
        gpu::device_memory(free, total);
        return std::make_pair(free, total);
      },
      "(free, total) bytes of the current CUDA device.");
  m.def("compute_2d", &compute_2d, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"),
        "Persistence pairs of every 2-D item of x on the GPU; the result layout of _core.compute.");
}
