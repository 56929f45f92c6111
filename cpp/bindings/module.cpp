// cuph._core: numpy arrays in (read through their strides, never copied), structure-of-arrays
// diagrams out. The GIL is released while the batch runs; the calling thread keeps polling for
// signals so Ctrl-C stops the workers within a fraction of a second.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <future>
#include <sstream>
#include <thread>

#include "cuph/batch.hpp"

namespace py = pybind11;
using namespace cuph;

void bind_vr(py::module_& m);  // cpp/bindings/vr.cpp

namespace {

DType dtype_of(const py::array& x) {
  const py::dtype dt = x.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (!dt.attr("isnative").cast<bool>())
    throw py::type_error("x: non-native byte order; convert with x.astype(x.dtype.newbyteorder('='))");
  if (kind == 'b') return DType::b8;
  if (kind == 'f') {
    if (size == 2) return DType::f16;
    if (size == 4) return DType::f32;
    if (size == 8) return DType::f64;
  }
  if (kind == 'i') {
    if (size == 1) return DType::i8;
    if (size == 2) return DType::i16;
    if (size == 4) return DType::i32;
    if (size == 8) return DType::i64;
  }
  if (kind == 'u') {
    if (size == 1) return DType::u8;
    if (size == 2) return DType::u16;
    if (size == 4) return DType::u32;
    if (size == 8) return DType::u64;
  }
  throw py::type_error("x: unsupported dtype " + std::string(py::str(dt)) +
                       "; use a real floating, integer or bool array");
}

template <class T> py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* owner = new std::vector<T>(std::move(v));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({py::ssize_t(owner->size())}, {py::ssize_t(sizeof(T))}, owner->data(),
                        free_when_done);
}

std::string position_of(const BatchView& b, int64_t item, int64_t flat) {
  std::vector<int64_t> pos;
  for (int i = b.nbatch - 1; i >= 0; --i) { pos.insert(pos.begin(), item % b.bshape[i]); item /= b.bshape[i]; }
  std::vector<int64_t> in;
  for (int i = b.item.ndim - 1; i >= 0; --i) { in.insert(in.begin(), flat % b.item.shape[i]); flat /= b.item.shape[i]; }
  pos.insert(pos.end(), in.begin(), in.end());
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < pos.size(); ++i) s << (i ? ", " : "") << pos[i];
  s << (pos.size() == 1 ? ",)" : ")");
  return s.str();
}

py::dict compute(const py::array& x, int maxdim, const std::string& construction, int batch_dims,
                 int n_threads, bool superlevel, bool keep_diagonal) {
  const int nd = int(x.ndim());
  if (batch_dims < 0 || batch_dims > 8 || nd - batch_dims < 1 || nd - batch_dims > 4)
    throw py::value_error("batch_dims: the array needs 1 to 4 item axes after at most 8 batch axes");
  if (construction != "V" && construction != "T")
    throw py::value_error("construction: must be 'V' or 'T'");
  BatchView b;
  b.nbatch = batch_dims;
  b.item.base = static_cast<const char*>(x.data());
  b.item.dtype = dtype_of(x);
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
  if (maxdim >= b.item.ndim) throw py::value_error("maxdim: must be below the item dimension");
  Options opt;
  opt.maxdim = maxdim;
  opt.construction = construction == "V" ? Construction::V : Construction::T;
  opt.superlevel = superlevel;
  const int threads = n_threads > 0 ? n_threads : int(std::max(1u, std::thread::hardware_concurrency()));

  std::atomic<bool> cancel{false};
  BatchResult res;
  bool interrupted = false;
  {
    py::gil_scoped_release release;
    auto job = std::async(std::launch::async, [&] {
      return compute_batch(b, opt, keep_diagonal, threads, &cancel);
    });
    while (job.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {
        interrupted = true;
        cancel = true;
        break;
      }
    }
    try {
      res = job.get();
    } catch (const ItemError& e) {
      if (interrupted) goto done;
      try {
        std::rethrow_exception(e.error);
      } catch (const NanError& nan) {
        py::gil_scoped_acquire acquire;
        throw py::value_error("x: contains NaN at index " + position_of(b, e.item, nan.position) +
                              "; NaN is not a filtration value (replace it, e.g. with np.nan_to_num "
                              "or +inf to leave the cell out)");
      } catch (const std::length_error& err) {
        throw py::value_error(std::string("x: ") + err.what());
      }
    }
  done:;
  }
  if (interrupted) throw py::error_already_set();

  py::dict out;
  out["dim"] = to_numpy(std::move(res.dim));
  out["birth"] = to_numpy(std::move(res.birth));
  out["death"] = to_numpy(std::move(res.death));
  out["birth_index"] = to_numpy(std::move(res.birth_index));
  out["death_index"] = to_numpy(std::move(res.death_index));
  out["item"] = to_numpy(std::move(res.item));
  out["offsets"] = to_numpy(std::move(res.offsets));
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "cuph compiled core: exact cubical persistent homology on CPU threads";
  m.def("compute", &compute, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"), py::arg("keep_diagonal"),
        "Persistence pairs of every item of x; see docs/INTERNALS.md for the result layout.");
  bind_vr(m);
}
