#!/usr/bin/env bash
# The GPU checks, in one call of the `device` tool on a lent GPU machine (nothing is installed
# there beyond its image, and nothing outside can be reached):
#
#   run(command="bash bench/gpu_check.sh", carry=[".gpu-wheels"], timeout_s=540)
#
# .gpu-wheels holds the test peers for the machine's Python 3.12, made here beforehand with
#   pip download gudhi==3.13.0 cripser==0.0.37 --no-deps --python-version 3.12 \
#       --only-binary=:all: -d .gpu-wheels
# The 3-D target's 256^3 volume (cripser alone takes a minute or more there) in a second call
# on the still-warm machine (cuph is installed there by then), so that the first fits its limit:
#   run(command="python3 bench/compare_gpu.py --only-volumes --volumes 256x256x256; cp bench/results/gpu-*.md $OUT/")
# It builds cuph with CUPH_CUDA=ON against the image's pybind11/scikit-build-core, runs the GPU
# tests (CUDA launcher vs the CPU engine) and the differential tests, compute-sanitizer's
# memcheck and racecheck on bench/gpu_smoke.py, and bench/compare_gpu.py. Everything it prints is
# also under $OUT (fetched by the tool), with bench/results/gpu-<device>-<date>.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/cuph-gpu-out}
mkdir -p "$OUT"
py=python3
step() { echo "== $* ($(date +%T))"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt"
nvcc --version | tail -1 | tee -a "$OUT/device.txt"

step "peers"
if ls .gpu-wheels/*.whl >/dev/null 2>&1; then
  $py -m pip install --quiet --no-index --no-deps .gpu-wheels/*.whl 2>&1 | tail -2
fi

step "build (CUPH_CUDA=ON)"
CUPH_CUDA=ON $py -m pip install --no-build-isolation --no-deps -v . >"$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build.log"; exit 1; }
grep -E "cuph: building|ptxas|warning" "$OUT/build.log" | head -20
(cd /tmp && $py -c "import cuph, cuph._cuda as c; print('cuda_available', cuph.cuda_available(), c.device_name(), c.memory_info())") \
  | tee -a "$OUT/device.txt"

step "tests: GPU (CUDA launcher), differential and torch (CUDA tensors)"
$py -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_gpu_nd.py tests/test_differential.py tests/test_torch.py 2>&1 \
  | tee "$OUT/tests.txt" | tail -15

step "compute-sanitizer memcheck, racecheck (bench/gpu_smoke.py: every kernel, small inputs)"
for tool in memcheck racecheck; do
  (cd /tmp && compute-sanitizer --tool "$tool" --error-exitcode 9 $py "$OLDPWD/bench/gpu_smoke.py") \
    2>&1 | tee "$OUT/sanitizer-$tool.txt" | tail -4
done

step "bench/compare_gpu.py"
$py bench/compare_gpu.py --items 2048 --volumes "${VOLUMES:-64x56x56,128x128x128,16:64x56x56}" 2>&1 \
  | tee "$OUT/compare_gpu.txt" | tail -48
cp bench/results/gpu-*.md "$OUT/" 2>/dev/null
step "done"
