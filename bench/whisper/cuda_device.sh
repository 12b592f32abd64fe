#!/usr/bin/env bash
# The CUDA backend on a GPU machine, in one go (meant to finish in under 8
# minutes on one H200 with 16 cores):
#   1. builds the release preset (-j16) unless its test binary, benchmark
#      and CUDA plugin are already there and load;
#   2. runs the tests labelled `gpu` (the CUDA session against the CPU one:
#      f32 within 1e-4, f16 / bf16 within 3e-3, greedy tokens equal);
#   3. benchmarks random-weight models of the tiny and large-v3 shapes on
#      the GPU: encoder windows/s and decoder tokens/s at batch 1, 16, 64.
# Figures go to stdout only; copy them to bench/RESULTS.md with the GPU's
# name. Nothing here has been run on a GPU yet.
#
# usage: bench/whisper/cuda_device.sh [BUILD_DIR]    (default build/release)
# env:   SIZES="tiny large-v3"  BATCHES="1 16 64"  TYPES="f16 bf16 f32"
#        TOKENS=64 (decoder steps per pass)  WORK=BUILD_DIR/bench-whisper
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build/release}"
sizes="${SIZES:-tiny large-v3}"
batches="${BATCHES:-1 16 64}"
types="${TYPES:-f16 bf16 f32}"
tokens="${TOKENS:-64}"
work="${WORK:-$build/bench-whisper}"
py=/usr/bin/python3
status=0

echo "# $(date -u +%FT%TZ) $(nproc) cores"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 || true

loads() { [[ -x "$1" ]] && ! ldd "$1" 2>/dev/null | grep -q 'not found'; }
plugin="$build/libstudioflow_whisper_cuda.so"
bench="$build/bench/studioflow_bench_whisper"
tests="$build/tests/studioflow_tests"
if ! loads "$tests" || ! loads "$bench" || [[ ! -f "$plugin" ]]; then
  echo "## building (release preset, -j16)"
  t0=$SECONDS
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release -j16 \
      --target studioflow studioflow_whisper_cuda studioflow_tests studioflow_bench_whisper) 2>&1 | tail -n 30
  echo "build: $((SECONDS - t0)) s"
fi
[[ -f "$plugin" ]] || { echo "no CUDA plugin at $plugin (was the CUDA toolkit found?)" >&2; exit 1; }
echo "## plugin exports"
nm -D --defined-only "$plugin" | grep -E 'sf_whisper_cuda_(abi_version|create_session)'
export STUDIOFLOW_WHISPER_CUDA_PLUGIN="$plugin"

echo "## gpu-labelled tests"
t0=$SECONDS
(cd "$build" && ctest -L gpu --output-on-failure --timeout 600) || status=1
# The comparison figures (relative errors per compute type):
timeout 300 "$tests" --gtest_filter='WhisperCudaTest.*' 2>&1 | grep -E '^\[ (cuda|  (OK|FAILED|SKIPPED)) ' || true
echo "tests: $((SECONDS - t0)) s"

echo "## benchmark (random weights, real shapes; $tokens decoder steps per pass)"
mkdir -p "$work"
for size in $sizes; do
  model="$work/ggml-$size-f16.bin"
  if [[ ! -s "$model" ]]; then
    t0=$SECONDS
    "$py" "$root/tests/asr/whisper/reference/make_model.py" --size "$size" --dtype f16 --ggml-out "$model" \
      --allow-large >/dev/null || { echo "could not write $model" >&2; status=1; continue; }
    echo "wrote $model in $((SECONDS - t0)) s"
  fi
  for ct in $types; do
    # f32 only for tiny: large-v3 in f32 at batch 64 says little and costs minutes.
    [[ "$ct" == f32 && "$size" != tiny ]] && continue
    for b in $batches; do
      echo "\$ studioflow_bench_whisper --model $(basename "$model") --device cuda --compute-type $ct --batch $b --tokens $tokens"
      timeout 240 "$bench" --model "$model" --device cuda --compute-type "$ct" --batch "$b" --tokens "$tokens" \
        --encode-runs 3 || { echo "(failed or timed out: rc $?)"; status=1; }
    done
  done
done
exit $status
