#!/usr/bin/env bash
# Whisper engine (CPU) benchmark: encoder ms per 30-s window and decoder ms
# per token for random-weight models of the tiny, base and small shapes, at
# 1 and 2 threads. Results go to bench/RESULTS.md by hand (see there).
#
# usage: bench/whisper/run.sh [BUILD_DIR]        (default build/release)
# env:   SIZES="tiny base small"  THREADS="1 2"  DTYPE=f16
#        WORK=BUILD_DIR/bench-whisper (models are written there once)
#        WHISPER_CPP_BENCH=/path/to/whisper.cpp's bench binary (optional):
#          when set, the same ggml files are also timed with it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build/release}"
sizes="${SIZES:-tiny base small}"
threads="${THREADS:-1 2}"
dtype="${DTYPE:-f16}"
work="${WORK:-$build/bench-whisper}"
bench="$build/studioflow_bench_whisper"
[[ -x "$bench" ]] || bench="$build/bench/studioflow_bench_whisper"
[[ -x "$bench" ]] || { echo "no studioflow_bench_whisper under $build; build it first" >&2; exit 1; }
py=/usr/bin/python3
mkdir -p "$work"

echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
for size in $sizes; do
  model="$work/ggml-$size-$dtype.bin"
  if [[ ! -s "$model" ]]; then
    "$py" "$root/tests/asr/whisper/reference/make_model.py" --size "$size" --dtype "$dtype" \
      --ggml-out "$model"
  fi
  for t in $threads; do
    echo "## studioflow $size t=$t (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "\$ $bench --model $model --threads $t"
    "$bench" --model "$model" --threads "$t"
    if [[ -n "${WHISPER_CPP_BENCH:-}" ]]; then
      echo "## whisper.cpp $size t=$t (load: $(cut -d' ' -f1-3 /proc/loadavg))"
      echo "\$ $WHISPER_CPP_BENCH -m $model -t $t"
      "$WHISPER_CPP_BENCH" -m "$model" -t "$t" 2>&1 | grep -E 'encode time|decode time' || true
    fi
  done
done
