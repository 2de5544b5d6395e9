#!/usr/bin/env bash
# benchmarks/gpu_check.sh — everything that needs a GPU, in one call of at most 8 minutes (H100 / H200).
#
#   1. build and install mgclr with its CUDA kernels for this GPU (pip install --no-build-isolation
#      --no-deps ., no network needed: torch, pybind11, scikit-build-core, cmake and ninja must be there)
#   2. mgclr info
#   3. the CUDA tests of the named files (CUDA_TEST_FILES: pytest -m cuda, CUDA against CPU for every op,
#      preset, InfoNCE impl; named so that a collection error in another test file cannot skip them)
#   4. every benchmark with --device cuda, at sizes that fit the time
#
# Step limits (seconds): info 20, build 150, tests 90, augment 45, infonce 45, train 50, train aimclr 40,
# modality 20 — 460 s if every step ran to its limit, inside the device tool's 8-minute call.
#
# Writes at most 10 files to $OUT (default benchmarks/out/gpu_check):
#   build.log  info.json  tests.log  augment.json  infonce.json  train.json  train_aimclr.json  modality.json
#   bench.log  summary.txt
# and prints summary.txt last. Exits non-zero when a step failed; later steps still run, so one call
# reports everything. Each step has its own time limit (STEP_LIMITS below).
#
#   benchmarks/gpu_check.sh               on the GPU machine (device tool: OUT is set for you)
#   benchmarks/gpu_check.sh --cpu-only    dry run without a GPU (CI): no build (the installed mgclr is
#                                         used), the CUDA tests are collected and skip, and every benchmark
#                                         runs with --device cpu at a tiny size. It checks the script's
#                                         syntax, paths and arguments; it measures nothing on a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."

CPU_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --cpu-only) CPU_ONLY=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$arg' (expected --cpu-only or --help)" >&2; exit 2 ;;
  esac
done

OUT=${OUT:-benchmarks/out/gpu_check}
mkdir -p "$OUT"
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
FAILED=0
START=$(date +%s)

# step NAME LIMIT_SECONDS LOG COMMAND...: runs COMMAND with a time limit, appends its output to LOG,
# records the outcome in the summary.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  local t0 rc
  t0=$(date +%s)
  echo "== $name (limit ${limit}s)" | tee -a "$log"
  timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
  rc=$?
  local took=$(( $(date +%s) - t0 ))
  if [ "$rc" -eq 0 ]; then
    echo "ok      $name (${took}s)" >> "$SUMMARY"
  else
    [ "$rc" -eq 124 ] && echo "        $name: ran past ${limit}s" >> "$SUMMARY"
    echo "FAILED  $name (exit $rc, ${took}s; see $(basename "$log"))" >> "$SUMMARY"
    FAILED=1
  fi
  return 0
}

if [ "$CPU_ONLY" -eq 1 ]; then
  DEVICE=cpu
  AUGMENT_ARGS=(--quick --batch 16 --repeats 1 --workers 1)
  INFONCE_ARGS=(--quick --repeats 1 --impls auto,reference)
  TRAIN_ARGS=(--size small --steps 1 --warmup 1 --workers 0)
  AIMCLR_ARGS=(--size small --steps 1 --warmup 1 --workers 0)
  MODALITY_ARGS=(--batch 8 --repeats 1)
  echo "build skipped (--cpu-only): testing the installed mgclr" > "$OUT/build.log"
  echo "skipped build (--cpu-only)" >> "$SUMMARY"
else
  DEVICE=cuda
  AUGMENT_ARGS=(--quick --workers 8)
  INFONCE_ARGS=(--repeats 10)
  TRAIN_ARGS=(--size paper --steps 20 --workers 8)
  AIMCLR_ARGS=(--size paper --steps 10 --warmup 2 --workers 8)
  MODALITY_ARGS=(--batch 256 --repeats 50)
  if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check.sh: torch sees no GPU; run with --cpu-only for a dry run" >&2
    exit 2
  fi
  # Only this GPU's architecture (SASS + PTX): 2 of the default's 7 images, well under half its compile time.
  ARCH=$("$PYTHON" -c "import torch; m, n = torch.cuda.get_device_capability(); print(f'{m}{n}')")
  export PATH=/usr/local/cuda/bin:$PATH
  # The extension build needs the interpreter's headers; say so before a 2-minute compile fails on it.
  if ! "$PYTHON" -c "import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)"; then
    echo "FAILED  build: Python.h not found under $("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['include'])") (install the python3-dev headers)" >> "$SUMMARY"
    FAILED=1
  fi
  step "build (sm_$ARCH)" 150 "$OUT/build.log" env MGCLR_CUDA=ON MGCLR_CUDA_ARCHITECTURES="$ARCH" \
    "$PYTHON" -m pip install --no-build-isolation --no-deps --no-cache-dir -v .
fi

step "mgclr info" 20 "$OUT/bench.log" "$PYTHON" -c \
  "import json, sys, mgclr; json.dump(mgclr.build_info(), open(sys.argv[1], 'w'), indent=1)" "$OUT/info.json"
cat "$OUT/info.json" >> "$OUT/bench.log" 2>/dev/null
if [ "$CPU_ONLY" -eq 0 ]; then
  "$PYTHON" -c "import mgclr, sys; i = mgclr.build_info(); sys.exit(0 if i['cuda_compiled'] and i['gpu_usable'] else 1)" \
    || { echo "FAILED  mgclr was not built with usable CUDA kernels (info.json)" >> "$SUMMARY"; FAILED=1; }
fi

CUDA_TEST_FILES=(tests/test_augment_cuda.py tests/test_infonce.py tests/test_dropout.py tests/test_parity_augment.py tests/test_cuda_archs.py)
for f in "${CUDA_TEST_FILES[@]}"; do
  [ -f "$f" ] || { echo "FAILED  CUDA test file $f is missing" >> "$SUMMARY"; FAILED=1; }
done
step "CUDA tests" 90 "$OUT/tests.log" "$PYTHON" -m pytest -q -p no:cacheprovider -m cuda -rs "${CUDA_TEST_FILES[@]}"
step "bench_augment --device $DEVICE" 45 "$OUT/bench.log" \
  "$PYTHON" benchmarks/bench_augment.py --device "$DEVICE" "${AUGMENT_ARGS[@]}" --json "$OUT/augment.json"
step "bench_infonce --device $DEVICE" 45 "$OUT/bench.log" \
  "$PYTHON" benchmarks/bench_infonce.py --device "$DEVICE" "${INFONCE_ARGS[@]}" --json "$OUT/infonce.json"
step "bench_train --device $DEVICE" 50 "$OUT/bench.log" \
  "$PYTHON" benchmarks/bench_train.py --device "$DEVICE" "${TRAIN_ARGS[@]}" --json "$OUT/train.json"
step "bench_train --method aimclr --device $DEVICE" 40 "$OUT/bench.log" \
  "$PYTHON" benchmarks/bench_train.py --method aimclr --device "$DEVICE" "${AIMCLR_ARGS[@]}" \
  --json "$OUT/train_aimclr.json"
step "bench_modality --device $DEVICE" 20 "$OUT/bench.log" \
  "$PYTHON" benchmarks/bench_modality.py --device "$DEVICE" "${MODALITY_ARGS[@]}" --json "$OUT/modality.json"

{
  echo "device: $("$PYTHON" -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')")"
  echo "total: $(( $(date +%s) - START ))s"
  tail -n 3 "$OUT/tests.log" | sed 's/^/tests: /'
} >> "$SUMMARY"
echo
grep -E "^(pipeline|isc|paper_best| *N|N=|  *[0-9]|  (fused|bone|motion|for scale)|samples/s|pretraining step|AimCLR|loss peak|step peak)" \
  "$OUT/bench.log" | tail -n 30
cat "$SUMMARY"
exit "$FAILED"
