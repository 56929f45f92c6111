// cuph._core.betti_at: Betti numbers of sublevel sets at one threshold per item (betti.hpp).
// Reads the array through its strides like `compute`, releases the GIL and polls Ctrl-C.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "common.hpp"
#include "cuph/betti.hpp"

namespace py = pybind11;
using namespace cuph;

namespace {

using namespace cuph_bindings;

py::array_t<int64_t> betti_at(const py::array& x, const Thresholds& thresholds,
                              const std::string& construction, int batch_dims, int n_threads) {
  const Construction c = construction_arg(construction);
  const BatchView b = batch_view(x, batch_dims, 3);
  const int64_t n = b.n_items();
  const double* eta = thresholds_arg(thresholds, n);
  const int threads = thread_count(n_threads);

  py::array_t<int64_t> out({py::ssize_t(n), py::ssize_t(b.item.ndim)});
  if (n == 0) return out;
  int64_t* dst = out.mutable_data();
  run_batch(b, [&](const std::atomic<bool>* cancel) {
    betti_batch(b, eta, c, threads, cancel, dst);
    return 0;
  });
  return out;
}

}  // namespace

void bind_betti(py::module_& m) {
  m.def("betti_at", &betti_at, py::arg("x"), py::arg("thresholds"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"),
        "Betti numbers (n_items, d) of every item's sublevel complex {x <= thresholds[item]}; "
        "d = 1..3 item axes.");
}
