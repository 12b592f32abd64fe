#!/usr/bin/env bash
# Worker-process benchmark (issue 8). See bench/README.md.
#
#   bench/workers/run.sh [--runs N] [--repeat N] [--fresh]
#
# Synthesizes a talk of >= 10 minutes once (audio only, cached under
# build/bench/workers), then, N times (default 2), interleaved so load
# changes hit every contender, transcribes it with `studioflow transcribe
# --no-library`:
#   procs1    1 worker process, 1 engine instance   (GPU_WORKER_PROCESSES=1 --workers 1)
#   procs2    2 worker processes, 1 instance each   (GPU_WORKER_PROCESSES=2 --workers 2)
#   threads2  2 engine threads in this process      (--workers 2 --in-process)
# and prints the best wall time of each and the ratios: procs1 / procs2
# (target >= 1.8 on 2 cores) and procs2 / threads2 (the pool's overhead,
# target <= 1.03). It also checks the three transcripts are identical.
# Everything goes to build/bench/workers/last.json.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${STUDIOFLOW:-$ROOT/build/release/studioflow}
WORK=${BENCH_WORK:-$ROOT/build/bench/workers}
PY=/usr/bin/python3
TIME="$PY $ROOT/bench/lib/timecmd.py"
RUNS=2
REPEAT=26
FRESH=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$WORK"
log() { echo "[workers bench] $*" >&2; }
talk=$WORK/talk-r$REPEAT.m4a
if [[ $FRESH == 1 || ! -s $talk ]]; then
  log "synthesizing the talk ($REPEAT repeats, audio only)"
  $PY "$ROOT/scripts/synth_talk.py" "$talk" --repeat "$REPEAT" --vcodec none >/dev/null
fi
log "talk: $talk; load: $(cut -d' ' -f1-3 /proc/loadavg)"

results=$WORK/runs.jsonl
: > "$results"
for run in $(seq 1 "$RUNS"); do
  for mode in procs1 procs2 threads2; do
    case $mode in
      procs1) envs=(GPU_WORKER_PROCESSES=1); args=(--workers 1) ;;
      procs2) envs=(GPU_WORKER_PROCESSES=2); args=(--workers 2) ;;
      threads2) envs=(); args=(--workers 2 --in-process) ;;
    esac
    out=$WORK/$mode.json
    t=$(env "${envs[@]}" $TIME --stdout "$out" -- "$BIN" -q transcribe --no-library "${args[@]}" -i "$talk")
    log "run $run $mode: $t"
    echo "{\"run\": $run, \"mode\": \"$mode\", \"cost\": $t}" >> "$results"
  done
done
cmp -s "$WORK/procs1.json" "$WORK/procs2.json" && cmp -s "$WORK/procs2.json" "$WORK/threads2.json" \
  && same=true || same=false
$PY - "$results" "$same" "$WORK/last.json" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in rows:
    m = r["mode"]
    best[m] = min(best.get(m, 1e9), r["cost"]["wall"])
out = {"best_wall": best,
       "procs1_over_procs2": best["procs1"] / best["procs2"],
       "procs2_over_threads2": best["procs2"] / best["threads2"],
       "transcripts_identical": sys.argv[2] == "true",
       "runs": rows}
json.dump(out, open(sys.argv[3], "w"), indent=2)
print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=2))
PYEOF
