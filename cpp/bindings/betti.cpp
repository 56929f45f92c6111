// cuph._core.betti_at: Betti numbers of sublevel sets at one threshold per item (betti.hpp).
// Reads the array through its strides like `compute`, releases the GIL and polls Ctrl-C.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <chrono>
#include <cmath>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "cuph/betti.hpp"

namespace py = pybind11;
using namespace cuph;

namespace {

// The core's dtype of a numpy array, matched on (kind, itemsize) against each DType's own
// numpy dtype so that aliases (long vs longlong) agree.
DType core_dtype(const py::array& x) {
  const py::dtype dt = x.dtype();
  if (!dt.attr("isnative").cast<bool>())
    throw py::type_error("x: non-native byte order; convert with x.astype(x.dtype.newbyteorder('='))");
  for (int k = int(DType::f16); k <= int(DType::b8); ++k) {
    const py::dtype want = dispatch_dtype(DType(k), [](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same<T, Half>::value) return py::dtype("float16");
      else return py::dtype::of<T>();
    });
    if (want.kind() == dt.kind() && want.itemsize() == dt.itemsize()) return DType(k);
  }
  throw py::type_error("x: unsupported dtype " + std::string(py::str(dt)) +
                       "; use a real floating, integer or bool array");
}

// "(batch..., item...)" of a flat item index and a flat position inside it.
std::string nan_position(const BatchView& b, int64_t item, int64_t flat) {
  std::vector<int64_t> pos(size_t(b.nbatch + b.item.ndim));
  for (int i = b.item.ndim - 1; i >= 0; --i) {
    pos[size_t(b.nbatch + i)] = flat % b.item.shape[i];
    flat /= b.item.shape[i];
  }
  for (int i = b.nbatch - 1; i >= 0; --i) {
    pos[size_t(i)] = item % b.bshape[i];
    item /= b.bshape[i];
  }
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < pos.size(); ++i) s << (i ? ", " : "") << pos[i];
  s << (pos.size() == 1 ? ",)" : ")");
  return s.str();
}

py::array_t<int64_t> betti_at(const py::array& x, const py::array_t<double, py::array::c_style |
                                                                           py::array::forcecast>& thresholds,
                              const std::string& construction, int batch_dims, int n_threads) {
  const int nd = int(x.ndim());
  if (batch_dims < 0 || batch_dims > 8 || nd - batch_dims < 1 || nd - batch_dims > 3)
    throw py::value_error("batch_dims: the array needs 1 to 3 item axes after at most 8 batch axes");
  if (construction != "V" && construction != "T")
    throw py::value_error("construction: must be 'V' or 'T'");
  BatchView b;
  b.nbatch = batch_dims;
  b.item.base = static_cast<const char*>(x.data());
  b.item.dtype = core_dtype(x);
  b.item.ndim = nd - batch_dims;
  for (int i = 0; i < batch_dims; ++i) {
    b.bshape[i] = x.shape(i);
    b.bstrides[i] = x.strides(i);
  }
  for (int i = 0; i < b.item.ndim; ++i) {
    b.item.shape[i] = x.shape(batch_dims + i);
    b.item.strides[i] = x.strides(batch_dims + i);
    if (b.item.shape[i] < 1) throw py::value_error("x: empty array (an item axis has length 0)");
  }
  const int64_t n = b.n_items();
  if (thresholds.ndim() != 1 || thresholds.shape(0) != n)
    throw py::value_error("thresholds: expected shape (" + std::to_string(n) + ",), one per item");
  const double* eta = thresholds.data();
  for (int64_t i = 0; i < n; ++i)
    if (std::isnan(eta[i])) throw py::value_error("thresholds: NaN at item " + std::to_string(i));
  const Construction c = construction == "V" ? Construction::V : Construction::T;
  const int threads = n_threads > 0 ? n_threads : int(std::max(1u, std::thread::hardware_concurrency()));

  py::array_t<int64_t> out({py::ssize_t(n), py::ssize_t(b.item.ndim)});
  if (n == 0) return out;
  int64_t* dst = out.mutable_data();
  std::atomic<bool> cancel{false};
  bool interrupted = false;
  {
    py::gil_scoped_release release;
    auto job = std::async(std::launch::async, [&] { betti_batch(b, eta, c, threads, &cancel, dst); });
    while (job.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {
        interrupted = true;
        cancel = true;
        break;
      }
    }
    try {
      job.get();
    } catch (const ItemError& e) {
      if (!interrupted) {
        try {
          std::rethrow_exception(e.error);
        } catch (const NanError& nan) {
          py::gil_scoped_acquire acquire;
          throw py::value_error("x: contains NaN at index " + nan_position(b, e.item, nan.position) +
                                "; NaN is not a filtration value (replace it, e.g. with np.nan_to_num "
                                "or +inf to leave the cell out)");
        } catch (const std::length_error& err) {
          throw py::value_error(std::string("x: ") + err.what());
        }
      }
    }
  }
  if (interrupted) throw py::error_already_set();
  return out;
}

}  // namespace

void bind_betti(py::module_& m) {
  m.def("betti_at", &betti_at, py::arg("x"), py::arg("thresholds"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"),
        "Betti numbers (n_items, d) of every item's sublevel complex {x <= thresholds[item]}; "
        "d = 1..3 item axes.");
}
