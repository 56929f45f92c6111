#!/usr/bin/env bash
# The GPU checks, in one call of the `device` tool on a lent GPU machine (nothing is installed
# there beyond its image, and nothing outside can be reached):
#
#   run(command="bash bench/gpu_check.sh", carry=[".gpu-wheels"], timeout_s=570)
#
# .gpu-wheels holds the test peers for the machine's Python 3.12, made here beforehand with
#   pip download gudhi==3.13.0 cripser==0.0.37 --no-deps --python-version 3.12 \
#       --only-binary=:all: -d .gpu-wheels
# Steps run most valuable first, each skipped when too little of BUDGET seconds is left (the
# lease is short): build (sm_90 only, for time; CI builds 80;86;89;90), a NaN's error in a child
# process, the GPU smoke run, the GPU tests (CUDA launcher vs the CPU engine), the launch
# profiles, bench/compare_gpu.py, compute-sanitizer memcheck and racecheck on
# bench/gpu_smoke.py, then the whole suite (SKIP_BENCH=1, SKIP_SUITE=1 leave steps out). It
# keeps to the tool's limit of 8 files under $OUT: the build log, diag.txt (the NaN check, the
# smoke run), tests-gpu.txt, sanitizer.txt, this run's bench/results/gpu-*.md, and what the
# command tees. The 256^3 target in a second call on the still-warm machine (cuph is installed
# there by then):
#   run(command="python3 bench/compare_gpu.py --only-volumes --volumes 256x256x256; cp bench/results/gpu-*volumes.md $OUT/")
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/cuph-gpu-out}
mkdir -p "$OUT"
py=python3
export PYTHONUNBUFFERED=1
start=$SECONDS
budget=${BUDGET:-540}
step() { echo "== $* ($(date +%T), +$((SECONDS - start)) s)"; }
# left N: true when at least N seconds of the budget are left
left() { [ $((budget - (SECONDS - start))) -ge "$1" ]; }
# within N CMD...: run CMD with at most N seconds (and never past the budget)
within() { local n=$1; shift; local r=$((budget - (SECONDS - start))); [ "$r" -lt "$n" ] && n=$r; timeout -k 5 "$n" "$@"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
nvcc --version | tail -1
nproc

step "peers"
if ls .gpu-wheels/*.whl >/dev/null 2>&1; then
  $py -m pip install --quiet --no-index --no-deps .gpu-wheels/*.whl 2>&1 | tail -2
fi

step "build (CUPH_CUDA=ON, sm_90)"
CUPH_CUDA=ON CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=${ARCHS:-90}" CMAKE_BUILD_PARALLEL_LEVEL=16 \
  within 300 $py -m pip install --no-build-isolation --no-deps -v . >"$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build.log"; exit 1; }
grep -E "cuph: building|warning" "$OUT/build.log" | head -20
(cd /tmp && $py -c "import cuph, cuph._cuda as c; print('cuda_available', cuph.cuda_available(), c.device_name(), c.memory_info())") \


step "errors from C++ (a NaN), without and with cuph._cuda imported, in child processes"
for pre in "" "import cuph._cuda;"; do
  (cd /tmp && within 60 $py -X faulthandler -c "$pre
import numpy as np, cuph
x = np.zeros((5, 5), np.float32); x[1, 1] = np.nan
try:
    cuph.persistence(x, device='cpu')
except ValueError as e:
    print('ValueError:', e)") >/tmp/nan.txt 2>&1
  echo "[$pre] exit status $?"; head -c 3000 /tmp/nan.txt
done 2>&1 | tee "$OUT/diag.txt"

step "smoke (bench/gpu_smoke.py)"
(cd /tmp && within 90 $py "$OLDPWD/bench/gpu_smoke.py") 2>&1 | tee -a "$OUT/diag.txt" | tail -5

step "tests: the GPU files (CUDA launcher vs the CPU engine, CUDA tensors)"
within 150 $py -m pytest -q -p no:cacheprovider -rf --tb=short -n 8 tests/test_gpu.py tests/test_gpu_nd.py tests/test_torch.py \
  2>&1 | tee "$OUT/tests-gpu.txt" | tail -15

if left 60; then
  step "launch profiles (bench/compare_gpu.py --profile): where a call's time goes"
  within 90 $py bench/compare_gpu.py --profile --items "${ITEMS:-2048}" --reps 3 2>&1 \
    | tail -70
fi

if [ -z "${SKIP_BENCH:-}" ] && left 120; then
  step "bench/compare_gpu.py"
  within 260 $py bench/compare_gpu.py --items "${ITEMS:-2048}" --reps 3 \
    --volumes "${VOLUMES:-64x56x56,16:64x56x56,128x128x128}" 2>&1 | tail -60
fi

for tool in memcheck racecheck; do
  left 60 || break
  step "compute-sanitizer $tool (bench/gpu_smoke.py)"
  (cd /tmp && within 150 compute-sanitizer --tool "$tool" --error-exitcode 9 $py "$OLDPWD/bench/gpu_smoke.py") \
    2>&1 | tee -a "$OUT/sanitizer.txt" | tail -4
  echo "exit status ${PIPESTATUS[0]}"
done

if [ -z "${SKIP_SUITE:-}" ] && left 60; then
  step "the whole suite (-n 14)"
  within 300 $py -m pytest -q -p no:cacheprovider -n 14 tests 2>&1 | tee /tmp/tests-all.txt | tail -25
fi
find bench/results -name 'gpu-*.md' -newer "$OUT/build.log" -exec cp {} "$OUT/" \;
step "done"
