#!/usr/bin/python3
"""Render overlapped with transcription vs render after it, on a multi-input
supercut: the same supercut of N talks (each `scripts/synth_talk.py --repeat
R --pattern testsrc`), once as the job runs by default (each input's clips
rendered as soon as it is transcribed) and once with --no-overlap (render
after all transcription), alternating, in the same run. Prints wall times,
the ratio overlap / no-overlap and the report's stages.

  bench/overlap/run.py [--runs 3] [--inputs 4] [--repeat 2] [--word budget] [--size 1280x720] [--workers N]
                       [--json FILE]

Also prints the CPU seconds (user + sys) of each run: the overlap moves work
in time, it does not remove any, so it shortens the wall time only where
cores would otherwise wait (e.g. --workers below the core count, or a loaded
machine's share).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("STUDIOFLOW", os.path.join(ROOT, "build", "release", "studioflow"))
WORK = os.path.join(ROOT, "build", "bench", "overlap")
VOICES = ["rms", "awb", "slt", "kal16"]


def make_talk(i, repeat, size):
    path = os.path.join(WORK, "talk%d_r%d_%s.mp4" % (i, repeat, size))
    if not os.path.exists(path):
        tmp = path + ".tmp.mp4"
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "synth_talk.py"), tmp, "--repeat",
                        str(repeat), "--pattern", "testsrc", "--size", size, "--voice", VOICES[i % len(VOICES)]],
                       check=True, capture_output=True)
        os.rename(tmp + ".json", path + ".json")
        os.rename(tmp, path)
    return path


def timed(args):
    report = os.path.join(WORK, "report-%d.json" % os.getpid())
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([BINARY, "-q"] + args + ["--no-library", "--report", report], capture_output=True, text=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        raise SystemExit("studioflow %s failed: %s" % (" ".join(args), p.stderr))
    with open(report) as f:
        rep = json.load(f)
    os.unlink(report)
    rep["cpu"] = cpu
    return wall, rep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--inputs", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--word", default="budget")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--workers", type=int, default=0, help="transcription workers (0: one per core)")
    ap.add_argument("--json", default=os.path.join(WORK, "last.json"))
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    talks = [make_talk(i, a.repeat, a.size) for i in range(a.inputs)]
    out = os.path.join(tempfile.gettempdir(), "sf-bench-overlap-%d.mp4" % os.getpid())
    base = ["supercut", "-i"] + talks + ["-w", a.word, "-o", out]
    if a.workers > 0:
        base += ["--workers", str(a.workers)]
    rounds = []
    try:
        for r in range(a.runs):
            row = {"load": os.getloadavg()[0]}
            order = (("overlap", []), ("sequential", ["--no-overlap"]))
            for name, extra in order if r % 2 == 0 else tuple(reversed(order)):
                wall, rep = timed(base + extra)
                row[name] = wall
                row[name + "_cpu"] = rep["cpu"]
                for k, v in rep["stages"].items():
                    row["%s_%s" % (name, k)] = v
                row["clips"] = len(rep["clips"])
                row["output_seconds"] = rep["output"]["duration"]
            rounds.append(row)
            print("round %d: overlap %.2f s, no overlap %.2f s (ratio %.3f); transcribe %.2f / %.2f s, render %.2f / "
                  "%.2f s, render after the last transcript %.2f / %.2f s; cpu %.1f / %.1f s; load %.1f"
                  % (r + 1, row["overlap"], row["sequential"], row["overlap"] / row["sequential"],
                     row["overlap_transcribe"], row["sequential_transcribe"], row["overlap_render"],
                     row["sequential_render"], row["overlap_render_tail"], row["sequential_render_tail"], row["overlap_cpu"],
                     row["sequential_cpu"], row["load"]),
                  flush=True)
    finally:
        if os.path.exists(out):
            os.unlink(out)
    med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
    summary = {"inputs": talks, "word": a.word, "size": a.size, "workers": a.workers, "clips": rounds[-1]["clips"],
               "output_seconds": rounds[-1]["output_seconds"], "median": med,
               "ratio": med["overlap"] / med["sequential"], "rounds": rounds}
    print("median: overlap %.2f s, no overlap %.2f s -> ratio %.3f; %d clips, %.1f s of output"
          % (med["overlap"], med["sequential"], summary["ratio"], summary["clips"], summary["output_seconds"]))
    with open(a.json, "w") as f:
        json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
