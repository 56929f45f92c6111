// cuph._cuda: the GPU engine's Python module. It imports on a machine without a GPU or a driver
// (cudart is linked statically; device_count() is then 0), so `cuph.cuda_available()` can ask.
//
// Every entry point runs the same way: a BatchView of the input (a host array, or only the
// shape and strides of a device one) checked as the CPU launcher's inputs are, then run_batch
// (GIL released, NaN reported at its position) over chunks of items that fit the device.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cpp/bindings/common.hpp"
#include "cuda/host.hpp"
#include "cuda/launch.hpp"
#include "cpp/bindings/replay_switch.hpp"

namespace py = pybind11;
using namespace cuph;

namespace {

using namespace cuph_bindings;

// Not even one item fits the device: a MemoryError in Python (translator below).
struct DeviceMemoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How many items go to the device at once: all that fit in 80% of its free memory, or in
// `max_bytes` (0: no bound; the user's max_memory) less the `held` bytes of results the call
// already keeps on the device. The same pairs either way.
int64_t items_per_launch(size_t per_item, size_t max_bytes, size_t held = 0) {
  size_t free = 0, total = 0;
  gpu::device_memory(free, total);
  size_t usable = free / 10 * 8;
  if (max_bytes) usable = std::min(usable, max_bytes > held ? max_bytes - held : 0);
  if (per_item > usable)
    throw DeviceMemoryError("x: one item needs about " + std::to_string(per_item >> 20) +
                            " MiB of GPU memory, " + std::to_string(usable >> 20) +
                            " MiB are free; use device='cpu'");
  return int64_t(usable / per_item);
}

// The construction; ValueError for bad arguments, RuntimeError without a device. (maxdim's
// upper bound, the item dimension, is run_chunks's to check.)
Construction check_common(const std::string& construction, int maxdim) {
  const Construction con = construction_arg(construction);
  if (maxdim < 0) throw py::value_error("maxdim: must be >= 0");
  if (gpu::device_count() == 0)
    throw std::runtime_error("device: no CUDA device is usable; use device='cpu'");
  return con;
}

// A C-contiguous host batch (the Python layer makes it so).
BatchView host_view(const py::array& x, int batch_dims) {
  if (!(x.flags() & py::array::c_style)) throw py::value_error("x: must be C-contiguous here");
  return batch_view(x, batch_dims, 4);
}

// A batch in device memory (a torch or cupy array's __cuda_array_interface__), to be read in
// place through its strides: checked to be on the current device.
BatchView device_view(uintptr_t ptr, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& strides, int dtype, int batch_dims) {
  const int nd = int(shape.size());
  if (batch_dims < 0 || batch_dims > 8 || strides.size() != shape.size() || nd - batch_dims < 1 ||
      nd - batch_dims > 4)
    throw py::value_error("x: expected at most 8 batch axes and 1 to 4 item axes");
  if (dtype < 0 || dtype > gpu::kB8) throw py::type_error("x: unknown dtype number");
  const int dev = gpu::device_of(reinterpret_cast<const void*>(ptr)), current = gpu::current_device();
  if (dev < 0) throw py::value_error("x: its __cuda_array_interface__ pointer is not device memory");
  if (dev != current)
    throw py::value_error("x: is on cuda:" + std::to_string(dev) + " but the current device is cuda:" +
                          std::to_string(current) + "; make it current (torch.cuda.set_device(" +
                          std::to_string(dev) + ") or cupy.cuda.Device(" + std::to_string(dev) +
                          ").use()) or move x");
  BatchView b;
  b.item.base = reinterpret_cast<const char*>(ptr);
  b.item.dtype = DType(dtype);
  b.nbatch = batch_dims;
  for (int i = 0; i < batch_dims; ++i) {
    b.bshape[i] = shape[size_t(i)];
    b.bstrides[i] = strides[size_t(i)];
  }
  b.item.ndim = nd - batch_dims;
  for (int i = 0; i < b.item.ndim; ++i) {
    b.item.shape[i] = shape[size_t(batch_dims + i)];
    b.item.strides[i] = strides[size_t(batch_dims + i)];
    if (b.item.shape[i] < 1) throw py::value_error("x: empty array (an item axis has length 0)");
  }
  return b;
}

// Runs fn(cancel) as run_batch does, on the caller's current device (a worker thread starts on
// device 0).
template <class F> auto run_on_device(const BatchView& b, F&& fn) -> decltype(fn(nullptr)) {
  const int device = gpu::current_device();
  return run_batch(b, [&](const std::atomic<bool>* cancel) {
    gpu::set_device(device);
    return fn(cancel);
  });
}

// The kernels over a batch in chunks that fit the device, each chunk's rows going where `sink`
// says: 2-D items through cubical_2d.cuh (every dimension), 3-D and 4-D items through
// cubical_nd.cuh (dimensions 0 and d-1; the middle dimensions' groups left empty). Dtypes of
// more than 32 bits get their value words on the host (a device batch of them never comes
// here: the Python layer copies it).
// `held()`: the bytes of results the sink keeps on the device so far (device results), which
// the later chunks leave room for.
void run_chunks(const BatchView& b, int maxdim, Construction con, bool superlevel, int threads,
                uintptr_t stream, size_t max_bytes, bool on_host, const gpu::RowSink& sink,
                const std::function<size_t()>& held, const std::atomic<bool>* cancel) {
  gpu::check_nd(b);  // std::invalid_argument: a ValueError
  if (maxdim >= b.item.ndim) throw py::value_error("maxdim: must be below the item dimension");
  const int64_t size = b.item.size();
  const int dtype = int(b.item.dtype);
  std::vector<uint32_t> words;
  if (!gpu::has_word(dtype)) words = gpu::batch_words(b, superlevel, threads, cancel);
  const size_t input = on_host ? size_t(gpu::host_item_bytes(b)) : 0;
  const uint32_t* w = words.empty() ? nullptr : words.data();
  if (b.item.ndim > 2) {
    const gpu::TablesN t = gpu::make_tables_nd(b.item.ndim, b.item.shape, con, maxdim);
    const size_t per_item = gpu::batch_bytes_nd(t) + input;
    const auto chunk = [&] { return items_per_launch(per_item, max_bytes, held()); };
    gpu::for_each_chunk<gpu::DeviceCopy>(b, chunk, on_host, [&](int64_t first, int64_t n,
                                                                const gpu::Input& part) {
      gpu::RunResult r;
      gpu::run_cuda_nd(t, part, superlevel, w ? w + first * size : nullptr, n,
                       first == 0 ? stream : 0, gpu::replay_switch().options(), sink, r);
      if (r.nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * size) + r.nan_at, size);
      gpu::replay_switch().count(r);
    });
    return;
  }
  const int64_t rows = b.item.shape[0], cols = b.item.shape[1];
  const int passes = maxdim + 1;
  const size_t per_item = gpu::batch_bytes(1, rows, cols, passes) + size_t(size) * 4 + input;
  const auto chunk = [&] { return items_per_launch(per_item, max_bytes, held()); };
  const gpu::Tables2 t = gpu::make_tables(rows, cols, con);
  gpu::for_each_chunk<gpu::DeviceCopy>(b, chunk, on_host, [&](int64_t first, int64_t n,
                                                              const gpu::Input& part) {
    gpu::RunResult r;
    gpu::run_cuda(t, part, superlevel, w ? w + first * size : nullptr, n, rows, cols, passes,
                  first == 0 ? stream : 0, gpu::replay_switch().options(), sink, r);
    if (r.nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * size) + r.nan_at, size);
    if (r.block_replay) ++gpu::replay_switch().block_runs;
  });
}

// Persistence pairs of a batch, as numpy arrays (the layout of _core.compute).
py::dict persistence(const BatchView& b, int maxdim, Construction con, bool superlevel,
                     int n_threads, uintptr_t stream, size_t max_bytes, bool on_host) {
  const int threads = thread_count(n_threads);
  return pairs_dict(run_on_device(b, [&](const std::atomic<bool>* cancel) {
    BatchResult out;
    run_chunks(b, maxdim, con, superlevel, threads, stream, max_bytes, on_host,
               gpu::ResultSink{out, b.item.dtype, superlevel, false}, [] { return size_t(0); },
               cancel);
    if (out.offsets.empty()) out.offsets.push_back(0);
    return out;
  }));
}

// A column of a device result as Python sees it: a 1-D array in device memory with the CUDA
// array interface (v3), keeping the memory alive (torch.as_tensor and cupy.asarray hold it).
struct DeviceArray {
  std::shared_ptr<gpu::DeviceBuffer> buffer;
  int64_t n;
  std::string typestr;
  py::dict interface() const {
    py::dict d;
    d["shape"] = py::make_tuple(n);
    d["typestr"] = typestr;
    d["data"] = py::make_tuple(reinterpret_cast<uintptr_t>(buffer->data()), false);
    d["strides"] = py::none();
    d["version"] = 3;
    d["stream"] = py::none();  // written and waited for before the call returned
    return d;
  }
};

// The same pairs left on the device: DeviceArray columns (dim, birth, death, birth_index,
// death_index), offsets as numpy.
py::dict persistence_on_device(const BatchView& b, int maxdim, Construction con, bool superlevel,
                               uintptr_t stream, size_t max_bytes) {
  const bool single = exact_in_float(b.item.dtype);
  const std::shared_ptr<gpu::DeviceResult> r =
      run_on_device(b, [&](const std::atomic<bool>* cancel) {
        auto out = std::make_shared<gpu::DeviceResult>(single, superlevel);
        gpu::DeviceResult& sink = *out;
        run_chunks(b, maxdim, con, superlevel, 1, stream, max_bytes, false,
                   [&sink](uint64_t n, const std::vector<uint32_t>& counts) {
                     return sink(n, counts);
                   },
                   [&sink] { return size_t(sink.bytes()); }, cancel);
        out->finish();
        return out;
      });
  static const char* const names[gpu::DeviceResult::kColumns] = {
      "dim", "birth", "death", "birth_index", "death_index"};
  const std::string value = single ? "<f4" : "<f8";
  const std::string types[gpu::DeviceResult::kColumns] = {"|i1", value, value, "<i8", "<i8"};
  py::dict out;
  for (int c = 0; c < gpu::DeviceResult::kColumns; ++c)
    out[names[c]] = DeviceArray{r->column[c], int64_t(r->rows), types[c]};
  out["item"] = py::none();
  out["offsets"] = py::array_t<int64_t>(py::ssize_t(r->offsets.size()), r->offsets.data());
  return out;
}

// Betti numbers of {x <= eta} per 2-D or 3-D item, shape (n_items, d).
py::array_t<int64_t> betti(const BatchView& b, const Thresholds& thresholds, Construction con,
                           uintptr_t stream, size_t max_bytes, bool on_host) {
  gpu::check_betti(b);  // std::invalid_argument: a ValueError
  const double* eta = thresholds_arg(thresholds, b.n_items());
  const int64_t size = b.item.size();
  return betti_array(run_on_device(b, [&](const std::atomic<bool>*) {
    const gpu::BettiTables t = gpu::make_betti_tables(b.item.ndim, b.item.shape, con);
    const size_t input = on_host ? size_t(gpu::host_item_bytes(b)) : 0;
    const int64_t chunk = items_per_launch(size_t(t.padded) * 5 + input + 64, max_bytes);
    std::vector<int64_t> out;
    gpu::for_each_chunk<gpu::DeviceCopy>(b, [chunk] { return chunk; }, on_host,
                                         [&](int64_t first, int64_t n, const gpu::Input& part) {
      uint64_t nan_at = ~uint64_t(0);
      gpu::run_betti_cuda(part, t, eta + first, n, first == 0 ? stream : 0, out, nan_at);
      if (nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * size) + nan_at, size);
    });
    return out;
  }), b.n_items(), b.item.ndim);
}

py::dict compute(const py::array& x, int maxdim, const std::string& construction,
                 int batch_dims, int n_threads, bool superlevel, size_t max_bytes) {
  const Construction con = check_common(construction, maxdim);
  return persistence(host_view(x, batch_dims), maxdim, con, superlevel, n_threads, 0, max_bytes,
                     true);
}

py::dict compute_device(uintptr_t ptr, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& strides, int dtype, uintptr_t stream,
                        int maxdim, const std::string& construction, int batch_dims,
                        bool superlevel, size_t max_bytes, bool on_device) {
  const Construction con = check_common(construction, maxdim);
  if (!gpu::has_word(dtype))
    throw py::type_error("x: 64-bit dtypes on the GPU are read on the host (copy x to the host)");
  const BatchView b = device_view(ptr, shape, strides, dtype, batch_dims);
  if (on_device) return persistence_on_device(b, maxdim, con, superlevel, stream, max_bytes);
  return persistence(b, maxdim, con, superlevel, 1, stream, max_bytes, false);
}

py::array_t<int64_t> betti_host(const py::array& x, const Thresholds& eta,
                                const std::string& construction, int batch_dims, size_t max_bytes) {
  const Construction con = check_common(construction, 0);
  return betti(host_view(x, batch_dims), eta, con, 0, max_bytes, true);
}

py::array_t<int64_t> betti_device(uintptr_t ptr, const std::vector<int64_t>& shape,
                                  const std::vector<int64_t>& strides, int dtype, uintptr_t stream,
                                  const Thresholds& eta, const std::string& construction,
                                  int batch_dims, size_t max_bytes) {
  const Construction con = check_common(construction, 0);
  return betti(device_view(ptr, shape, strides, dtype, batch_dims), eta, con, stream, max_bytes,
               false);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() =
      "cuph GPU engine (CUDA): batched cubical persistence (2-D: every dimension; 3-D, 4-D: "
      "dimensions 0 and d-1), 2-D/3-D Betti numbers";
  // Module-local: a global translator would see every pybind11 module's exceptions.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const DeviceMemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const gpu::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });
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
  def_replay_switch(m, "_replay", "CUDA launcher");
  def_launch_profile(m, "_profile", "CUDA launcher");
  m.def("compute", &compute, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"), py::arg("max_bytes") = 0,
        "Persistence pairs of every item of a C-contiguous host array x on the GPU: every "
        "dimension of 2-D items; dimensions 0 and d-1 of 3-D and 4-D items (the groups of the "
        "others left empty). The result layout of _core.compute; max_bytes (0: none) bounds "
        "the device memory of a launch (the batch goes in chunks of items).");
  m.def("compute_device", &compute_device, py::arg("ptr"), py::arg("shape"),
        py::arg("strides"), py::arg("dtype"), py::arg("stream"), py::arg("maxdim"),
        py::arg("construction"), py::arg("batch_dims"), py::arg("superlevel"),
        py::arg("max_bytes") = 0, py::arg("on_device") = false,
        "The same for a batch in device memory: pointer, shape, byte strides, the core's dtype "
        "number, the producer's stream (0: none). on_device: the columns stay on the device "
        "(DeviceArray; offsets in numpy).");
  py::class_<DeviceArray>(m, "DeviceArray",
                          "A result column in device memory (CUDA array interface v3); the "
                          "memory lives as long as this object or an array made from it.")
      .def_property_readonly("__cuda_array_interface__", &DeviceArray::interface)
      .def_property_readonly("shape", [](const DeviceArray& a) { return py::make_tuple(a.n); })
      .def_property_readonly("typestr", [](const DeviceArray& a) { return a.typestr; })
      .def_property_readonly("device", [](const DeviceArray& a) { return a.buffer->device(); })
      .def("__len__", [](const DeviceArray& a) { return a.n; });
  m.def("betti", &betti_host, py::arg("x"), py::arg("thresholds"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("max_bytes") = 0,
        "(n_items, d) Betti numbers of {x <= eta} per 2-D or 3-D item of a C-contiguous host "
        "array, on the GPU.");
  m.def("betti_device", &betti_device, py::arg("ptr"), py::arg("shape"), py::arg("strides"),
        py::arg("dtype"), py::arg("stream"), py::arg("thresholds"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("max_bytes") = 0,
        "The same for a batch in device memory (any dtype), read in place.");
}
