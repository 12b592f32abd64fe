#!/usr/bin/env bash
# Supercut benchmark (issue 2). See bench/README.md.
#
#   bench/supercut/run.sh [--runs N] [--size WxH] [--repeat N] [--word W]...
#                         [--fresh] [--no-targeted] [--json FILE]
#
# Synthesizes a talk of >= 10 minutes once (cached under build/bench/supercut),
# then, N times (default 2), interleaved so load changes hit every contender
# (the floor runs right after the supercut whose render it is compared with):
#   supercut   the whole `studioflow supercut` (probe, transcribe, match, render)
#   recognizer `pocketsphinx_continuous -infile` on a 16 kHz mono WAV of the
#              same audio (made beforehand with the ffmpeg CLI, not timed)
#   floor      `studioflow bench render-floor` with the supercut's output
#              frames, size and frame rate
#   naive      ffmpeg CLI cut of every clip (libx264 fast CRF 23, AAC 48 kHz)
#              + concat demuxer with stream copy
# and prints the best (minimum) wall time of each, the ratios against the
# targets, and CPU seconds. Everything goes to build/bench/supercut/last.json.
# The supercut runs with targeted search (issue 12), its default;
# --no-targeted matches the one-best transcript only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ARGS="$*"
BIN=${STUDIOFLOW:-$ROOT/build/release/studioflow}
WORK=${BENCH_WORK:-$ROOT/build/bench/supercut}
PY=/usr/bin/python3
TIME="$PY $ROOT/bench/lib/timecmd.py"
RUNS=2
SIZE=640x360
FPS=25
# The default sentence list lasts 23.9 s; 26 repeats make a 10.4-minute talk,
# and "football" is said once per repeat: 26 clips.
REPEAT=26
WORDS=()
SUPERCUT_ARGS=()
FRESH=0
JSON_OUT=$WORK/last.json

while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --word) WORDS+=("$2"); shift 2 ;;
    --fresh) FRESH=1; shift ;;
    --targeted) shift ;;  # the default (kept so earlier recorded commands still run)
    --no-targeted) SUPERCUT_ARGS+=(--no-targeted); shift ;;
    --json) JSON_OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#WORDS[@]} -gt 0 ]] || WORDS=(football)

for tool in "$BIN" ffmpeg pocketsphinx_continuous flite; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (build first: cmake --preset release && cmake --build build/release -j2)" >&2; exit 2; }
done
mkdir -p "$WORK"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

talk=$WORK/talk-$SIZE-$FPS-r$REPEAT.mp4
if [[ $FRESH == 1 || ! -s $talk || ! -s $talk.json ]]; then
  log "synthesizing the talk ($SIZE@$FPS, $REPEAT repeats, testsrc picture)"
  $PY "$ROOT/scripts/synth_talk.py" "$talk" --repeat "$REPEAT" --pattern testsrc --size "$SIZE" --fps "$FPS" >/dev/null
fi
wav=${talk%.mp4}-16k.wav
if [[ $FRESH == 1 || ! -s $wav || $wav -ot $talk ]]; then
  ffmpeg -nostdin -v error -y -i "$talk" -vn -ac 1 -ar 16000 -c:a pcm_s16le "$wav"
fi
talk_seconds=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["duration"])' "$talk.json")
log "talk: $talk ($talk_seconds s); load: $(cut -d' ' -f1-3 /proc/loadavg)"

word_args=()
for w in "${WORDS[@]}"; do word_args+=(-w "$w"); done
runs=$WORK/runs.jsonl
: >"$runs"
for ((i = 1; i <= RUNS; i++)); do
  report=$WORK/report-$i.json
  log "run $i/$RUNS: supercut"
  # --no-library: every run transcribes, as the comparison with the recognizer needs.
  sc=$($TIME -- "$BIN" -q supercut -i "$talk" "${word_args[@]}" -o "$WORK/supercut.mp4" --report "$report" --no-library ${SUPERCUT_ARGS[@]+"${SUPERCUT_ARGS[@]}"})

  read -r frames size fps < <($PY -c '
import json, sys
o = json.load(open(sys.argv[1]))["output"]
print(o["frames"], "%dx%d" % (o["width"], o["height"]), o["fps"])' "$report")
  log "run $i/$RUNS: render floor ($frames frames, $size@$fps)"
  floor_out=$WORK/floor-$i.json
  floor_cost=$($TIME --stdout "$floor_out" -- "$BIN" -q bench render-floor --frames "$frames" --size "$size" --fps "$fps")

  log "run $i/$RUNS: naive ffmpeg cut + concat"
  naive=$($TIME -- "$ROOT/bench/supercut/naive_cut.sh" "$report" "$WORK/naive.mp4" "$WORK/naive-parts")
  naive_seconds=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$WORK/naive.mp4")

  log "run $i/$RUNS: pocketsphinx_continuous"
  rec=$($TIME --stdout "$WORK/recognizer.txt" -- pocketsphinx_continuous -infile "$wav" -logfn /dev/null)

  $PY - "$report" "$floor_out" "$sc" "$rec" "$floor_cost" "$naive" "$naive_seconds" >>"$runs" <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
print(json.dumps({
    "clips": len(report["clips"]),
    "output": report["output"],
    "encoder": report["encoder"], "preset": report["preset"],
    "stages": report["stages"],
    "supercut": json.loads(sys.argv[3]),
    "recognizer": json.loads(sys.argv[4]),
    "floor": json.load(open(sys.argv[2])),
    "floor_process": json.loads(sys.argv[5]),
    "naive": json.loads(sys.argv[6]),
    "naive_output_seconds": float(sys.argv[7]),
}))
PYEOF
done
rm -rf "$WORK/naive-parts"

$PY "$ROOT/bench/supercut/summarize.py" "$runs" "$JSON_OUT" \
  --talk "$talk" --talk-seconds "$talk_seconds" --size "$SIZE" --fps "$FPS" \
  --words "${WORDS[*]}" --command "bench/supercut/run.sh${ARGS:+ $ARGS}"
