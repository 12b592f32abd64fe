#!/usr/bin/python3
"""URL input vs local file: the same supercut of the same talk, once read from
disk and once over HTTP on loopback (tests/e2e/http_server.py: range
requests, keep-alive), alternating, N rounds. Prints wall times, the ratio
(target <= 1.1) and the bytes the server sent against the file's size, for
the analysis (probe + transcription, a --dry-run) and for the render. The
report's render stage is compared too (URL / local), and, for the URL, with
MAX_CLIP_DOWNLOADS=1 (one clip read at a time) against the default (clip
ranges read ahead in parallel). --latency S makes the server wait S seconds
before each response (a far server; 0: loopback as it is).

  bench/url/run.py [--runs 3] [--repeat 4] [--word budget] [--latency 0] [--json FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import http_server  # noqa: E402

BINARY = os.environ.get("STUDIOFLOW", os.path.join(ROOT, "build", "release", "studioflow"))
WORK = os.path.join(ROOT, "build", "bench", "url")


def make_talk(repeat):
    path = os.path.join(WORK, "talk_r%d.mp4" % repeat)
    if not os.path.exists(path):
        tmp = path + ".tmp.mp4"
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "synth_talk.py"), tmp, "--repeat",
                        str(repeat), "--pattern", "testsrc"], check=True, capture_output=True)
        os.rename(tmp + ".json", path + ".json")
        os.rename(tmp, path)
    return path


def timed(args, env=None):
    """Wall seconds of one studioflow run and its report's stages."""
    report = os.path.join(WORK, "report-%d.json" % os.getpid())
    t0 = time.monotonic()
    # --no-library: every run transcribes (a local input would be known to the
    # library after its first run, a URL never is).
    p = subprocess.run([BINARY, "-q"] + args + ["--no-library", "--report", report], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("studioflow %s failed: %s" % (" ".join(args), p.stderr))
    with open(report) as f:
        stages = json.load(f).get("stages", {})
    os.unlink(report)
    return wall, stages


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--word", default="budget")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds the server waits before each response")
    ap.add_argument("--json", default=os.path.join(WORK, "last.json"))
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    src = make_talk(a.repeat)
    size = os.path.getsize(src)
    srv = (http_server.start(WORK, mode="slow", delay=a.latency, rate=0) if a.latency > 0
           else http_server.start(WORK))
    url = srv.url(os.path.basename(src))
    out = os.path.join(tempfile.gettempdir(), "sf-bench-url-%d.mp4" % os.getpid())
    rounds = []
    try:
        for r in range(a.runs):
            row = {"load": os.getloadavg()[0]}
            order = (("local", src, None), ("url", url, None), ("url_serial", url, {"MAX_CLIP_DOWNLOADS": "1"}))
            for name, inp, env in order if r % 2 == 0 else tuple(reversed(order)):
                if name != "url_serial":
                    srv.reset_counts()
                    row[name + "_dry"] = timed(["supercut", "-i", inp, "-w", a.word, "--dry-run"])[0]
                    analysis = srv.total_bytes()
                srv.reset_counts()
                row[name], stages = timed(["supercut", "-i", inp, "-w", a.word, "-o", out], env)
                row[name + "_render"] = stages.get("render", 0.0)
                if name == "url":
                    row["bytes_analysis"] = analysis
                    row["bytes_full"] = srv.total_bytes()
            rounds.append(row)
            print("round %d: local %.2f s, url %.2f s (ratio %.3f); dry-run local %.2f s, url %.2f s; render stage "
                  "local %.2f s, url %.2f s, url one reader %.2f s; load %.1f"
                  % (r + 1, row["local"], row["url"], row["url"] / row["local"], row["local_dry"], row["url_dry"],
                     row["local_render"], row["url_render"], row["url_serial_render"], row["load"]), flush=True)
    finally:
        srv.stop()
        if os.path.exists(out):
            os.unlink(out)
    med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
    last = rounds[-1]
    summary = {
        "input": src, "size": size, "duration": json.load(open(src + ".json"))["duration"], "word": a.word,
        "latency": a.latency,
        "median": med, "ratio_full": med["url"] / med["local"], "ratio_dry_run": med["url_dry"] / med["local_dry"],
        "ratio_render": med["url_render"] / med["local_render"],
        "ratio_render_one_reader": med["url_serial_render"] / med["local_render"],
        "bytes_analysis": last["bytes_analysis"], "bytes_render": last["bytes_full"] - last["bytes_analysis"],
        "rounds": rounds,
    }
    print("median: local %.2f s, url %.2f s -> ratio %.3f (target <= 1.1); dry-run ratio %.3f"
          % (med["local"], med["url"], summary["ratio_full"], summary["ratio_dry_run"]))
    print("render stage: url / local %.3f with clips read ahead in parallel, %.3f with one reader"
          % (summary["ratio_render"], summary["ratio_render_one_reader"]))
    print("bytes: file %d; analysis read %d (%.1f%%); render read %d (%.1f%%)"
          % (size, summary["bytes_analysis"], 100.0 * summary["bytes_analysis"] / size, summary["bytes_render"],
             100.0 * summary["bytes_render"] / size))
    with open(a.json, "w") as f:
        json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
