#!/usr/bin/env bash
# Whisper encoder per compute type (f32, bf16, int8) at 1 and 2 threads for
# the tiny, base and small shapes, and whisper.cpp's encoder on the same
# files when WHISPER_CPP_BENCH is set. Figures: bench/RESULTS.md.
#
# usage: bench/whisper/encoder_types.sh [BUILD_DIR]    (default build/release)
# env:   WORK=folder for the ggml files (written once; default BUILD_DIR/bench-whisper)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build/release}"
work="${WORK:-$build/bench-whisper}"
B="$build/bench/studioflow_bench_whisper"
[[ -x "$B" ]] || { echo "no $B; build it first" >&2; exit 1; }
mkdir -p "$work"
for s in tiny base small; do
  [[ -s "$work/ggml-$s-f16.bin" ]] ||
    /usr/bin/python3 "$root/tests/asr/whisper/reference/make_model.py" --size "$s" --dtype f16 \
      --ggml-out "$work/ggml-$s-f16.bin" >/dev/null
done
echo "# $(date -u +%FT%TZ) $(nproc) cores;$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
for s in tiny base small; do for t in 1 2; do
  for ct in f32 bf16 int8; do echo "load $(cut -d' ' -f1 /proc/loadavg) $("$B" --model "$work/ggml-$s-f16.bin" --threads "$t" --compute-type "$ct" --tokens 8 --encode-runs 2)"; done
  if [[ -n "${WHISPER_CPP_BENCH:-}" ]]; then
    echo "load $(cut -d' ' -f1 /proc/loadavg) whisper.cpp $s t=$t: $("$WHISPER_CPP_BENCH" -m "$work/ggml-$s-f16.bin" -t "$t" 2>&1 | grep -E 'encode time' | tr -s ' ')"
  fi
done; done
