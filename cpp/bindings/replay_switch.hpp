// The replay switch of the GPU engine's 2-D kernels (cuda/host.hpp's ReplaySwitch) as a Python
// function, defined by both modules on their own switch: `_core._portable_replay` (the CPU
// launcher's runs) and `_cuda._replay` (the CUDA launcher's).
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "cuda/host.hpp"

namespace cuph {

inline void def_replay_switch(pybind11::module_& m, const char* name, const char* launcher) {
  namespace py = pybind11;
  m.def(
      name,
      [](std::optional<bool> blocks, std::optional<int> threads,
         std::optional<uint64_t> max_shared, std::optional<uint64_t> sort_above,
         std::optional<bool> forest) {
        gpu::ReplaySwitch& s = gpu::replay_switch();
        if (threads && (*threads < 1 || *threads > 1024))
          throw py::value_error("threads: must be 1 to 1024");
        py::dict before;
        before["blocks"] = s.blocks.load();
        before["threads"] = s.threads.load();
        before["max_shared"] = s.max_shared.load();
        before["block_runs"] = s.block_runs.load();
        before["sort_above"] = s.sort_above.load();
        before["network_sorts"] = s.network_sorts.load();
        before["forest"] = s.forest.load();
        before["candidates"] = s.candidates.load();
        before["forest_edges"] = s.forest_edges.load();
        if (sort_above) s.sort_above = *sort_above;
        if (forest) s.forest = *forest;
        if (blocks) s.blocks = *blocks;
        if (threads) s.threads = *threads;
        if (max_shared) s.max_shared = *max_shared;
        return before;
      },
      py::arg("blocks") = py::none(), py::arg("threads") = py::none(),
      py::arg("max_shared") = py::none(), py::arg("sort_above") = py::none(),
      py::arg("forest") = py::none(),
      (std::string("Test and benchmark switch of the ") + launcher +
       "'s replays: `blocks` (2-D: a thread block per item and pass when its shared memory "
       "fits, else a thread), `threads` per block, `max_shared` (the CPU launcher's bytes per "
       "block; the CUDA launcher asks the device), `sort_above` (3-D/4-D: a pass whose largest "
       "item has more candidate joins is sorted by a bitonic network of launches over the "
       "batch, else by each item's replay thread), `forest` (3-D/4-D: the candidate joins "
       "reduced to their minimum spanning forest first). Returns the settings before the "
       "call, the number of 2-D runs that took the block replay (block_runs), of 3-D/4-D "
       "passes sorted by the network (network_sorts), and the candidate joins and forest "
       "edges of all 3-D/4-D runs (candidates, forest_edges).")
          .c_str());
}

// The launch profile (cuda/launch_profile.hpp) of the module's launcher as a Python function.
inline void def_launch_profile(pybind11::module_& m, const char* name, const char* launcher) {
  namespace py = pybind11;
  m.def(
      name,
      [](std::optional<bool> on) {
        gpu::LaunchProfile& p = gpu::launch_profile();
        py::dict out, steps;
        out["on"] = p.on.load();
        for (const auto& [what, e] : p.take())
          steps[py::str(what)] = py::make_tuple(e.first, e.second);
        out["steps"] = steps;
        if (on) p.on = *on;
        return out;
      },
      py::arg("on") = py::none(),
      (std::string("Benchmark switch of the ") + launcher +
       "'s launch profile: with it on, every launch, allocation and transfer is timed between "
       "two synchronizations and added to its step's total. Returns whether it was on and "
       "{step: (calls, seconds)} since the last call (then forgotten); `on` switches it.")
          .c_str());
}

}  // namespace cuph
