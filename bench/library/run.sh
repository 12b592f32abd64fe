#!/usr/bin/env bash
# Transcript library benchmark: a second supercut of the same talk with
# another word (transcripts from the library) against the first (which
# transcribes and stores), and search latency on a synthetic library.
#
#   bench/library/run.sh [--repeat N] [--hours H]
#
# Uses the supercut benchmark's talk (synthesized once under build/bench/,
# REPEAT repeats of the default sentences; 26 = 10.4 min). The library is
# fresh each run. Prints JSON lines: each supercut's wall time and stages,
# the ratios second/first and second/render, then `studioflow bench search`
# on H hours (default 500) of synthetic transcripts (reused between runs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${STUDIOFLOW:-$ROOT/build/release/studioflow}
WORK=${BENCH_WORK:-$ROOT/build/bench/library}
PY=/usr/bin/python3
TIME="$PY $ROOT/bench/lib/timecmd.py"
REPEAT=26
HOURS=500
while [[ $# -gt 0 ]]; do
  case $1 in
    --repeat) REPEAT=$2; shift 2 ;;
    --hours) HOURS=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$WORK"
talk=$ROOT/build/bench/supercut/talk-640x360-25-r$REPEAT.mp4
if [[ ! -s $talk || ! -s $talk.json ]]; then
  mkdir -p "$(dirname "$talk")"
  $PY "$ROOT/scripts/synth_talk.py" "$talk" --repeat "$REPEAT" --pattern testsrc --size 640x360 --fps 25 >/dev/null
fi
lib=$WORK/library.db
rm -f "$lib" "$lib-wal" "$lib-shm"

cut() {  # cut NAME WORD
  local t
  t=$($TIME -- "$BIN" -q supercut -i "$talk" -w "$2" -o "$WORK/$1.mp4" --report "$WORK/$1.json" --library "$lib")
  $PY -c 'import json,sys; t=json.loads(sys.argv[1]); r=json.load(open(sys.argv[2]))
print(json.dumps({"run": sys.argv[3], "wall": t["wall"], "cpu": t["cpu"], "load1": t["load1"], "stages": r["stages"]}))' \
    "$t" "$WORK/$1.json" "$1"
}
first=$(cut first football)
second=$(cut second budget)
echo "$first"
echo "$second"
$PY -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2])
print(json.dumps({"second_over_first": round(b["wall"]/a["wall"], 3),
                  "second_over_its_render": round(b["wall"]/b["stages"]["render"], 3),
                  "second_transcribe_stage_s": b["stages"]["transcribe"]}))' "$first" "$second"

"$BIN" -q bench search --library "$WORK/synthetic-${HOURS}h.db" --hours "$HOURS"
