#!/usr/bin/python3
"""URL input vs local file: the same supercut of the same talk, once read from
disk and once over HTTP on loopback (tests/e2e/http_server.py: range
requests, keep-alive), alternating, N rounds. Prints wall times, the ratio
(target <= 1.1) and the bytes the server sent against the file's size, for
the analysis (probe + transcription, a --dry-run) and for the render.

  bench/url/run.py [--runs 3] [--repeat 4] [--word budget] [--json FILE]
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


def timed(args):
    t0 = time.monotonic()
    p = subprocess.run([BINARY, "-q"] + args, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("studioflow %s failed: %s" % (" ".join(args), p.stderr))
    return wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--word", default="budget")
    ap.add_argument("--json", default=os.path.join(WORK, "last.json"))
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    src = make_talk(a.repeat)
    size = os.path.getsize(src)
    srv = http_server.start(WORK)
    url = srv.url(os.path.basename(src))
    out = os.path.join(tempfile.gettempdir(), "sf-bench-url-%d.mp4" % os.getpid())
    rounds = []
    try:
        for r in range(a.runs):
            row = {"load": os.getloadavg()[0]}
            for name, inp in (("local", src), ("url", url)) if r % 2 == 0 else (("url", url), ("local", src)):
                srv.reset_counts()
                row[name + "_dry"] = timed(["supercut", "-i", inp, "-w", a.word, "--dry-run"])
                analysis = srv.total_bytes()
                srv.reset_counts()
                row[name] = timed(["supercut", "-i", inp, "-w", a.word, "-o", out])
                if name == "url":
                    row["bytes_analysis"] = analysis
                    row["bytes_full"] = srv.total_bytes()
            rounds.append(row)
            print("round %d: local %.2f s, url %.2f s (ratio %.3f); dry-run local %.2f s, url %.2f s; load %.1f"
                  % (r + 1, row["local"], row["url"], row["url"] / row["local"], row["local_dry"], row["url_dry"],
                     row["load"]), flush=True)
    finally:
        srv.stop()
        if os.path.exists(out):
            os.unlink(out)
    med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
    last = rounds[-1]
    summary = {
        "input": src, "size": size, "duration": json.load(open(src + ".json"))["duration"], "word": a.word,
        "median": med, "ratio_full": med["url"] / med["local"], "ratio_dry_run": med["url_dry"] / med["local_dry"],
        "bytes_analysis": last["bytes_analysis"], "bytes_render": last["bytes_full"] - last["bytes_analysis"],
        "rounds": rounds,
    }
    print("median: local %.2f s, url %.2f s -> ratio %.3f (target <= 1.1); dry-run ratio %.3f"
          % (med["local"], med["url"], summary["ratio_full"], summary["ratio_dry_run"]))
    print("bytes: file %d; analysis read %d (%.1f%%); render read %d (%.1f%%)"
          % (size, summary["bytes_analysis"], 100.0 * summary["bytes_analysis"] / size, summary["bytes_render"],
             100.0 * summary["bytes_render"] / size))
    with open(a.json, "w") as f:
        json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
