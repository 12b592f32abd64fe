#!/usr/bin/python3
"""Studio import of N talks: normalization and proxies with the seed's
worker counts (4 files normalized at once, 4 proxies at once, all stages
overlapped) against one file at a time, and against the equivalent ffmpeg
commands run one after another (loudnorm two-pass, then a proxy encode).

  bench/import/run.py [--runs 2] [--count 8] [--repeat 26] [--size 640x360] [--json FILE]

The talks: one `scripts/synth_talk.py --repeat R --pattern testsrc` talk
(R=26: 10.4 minutes), copied N times under different names (each copy is
imported as its own file; the work per file is the same). Transcription is
left out (--no-transcript): its speed is benchmarked in bench/supercut and
bench/workers. Each configuration runs in a fresh project folder.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("STUDIOFLOW", os.path.join(ROOT, "build", "release", "studioflow"))
WORK = os.path.join(ROOT, "build", "bench", "import")


def make_sources(count, repeat, size):
    src = os.path.join(WORK, "src_r%d_%s_%d" % (repeat, size, count))
    talk = os.path.join(WORK, "talk_r%d_%s.mp4" % (repeat, size))
    if not os.path.exists(talk):
        os.makedirs(WORK, exist_ok=True)
        tmp = talk + ".tmp.mp4"
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "synth_talk.py"), tmp, "--repeat",
                        str(repeat), "--pattern", "testsrc", "--size", size], check=True, capture_output=True)
        os.rename(tmp, talk)
    if not os.path.isdir(src):
        os.makedirs(src + ".tmp", exist_ok=True)
        for i in range(count):
            shutil.copy(talk, os.path.join(src + ".tmp", "talk%02d.mp4" % i))
        os.rename(src + ".tmp", src)
    return src, sorted(os.path.join(src, f) for f in os.listdir(src))


def timed(cmds):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    for c in cmds:
        p = subprocess.run(c, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("%s failed: %s" % (" ".join(c), p.stderr[-2000:]))
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def run_ffmpeg(files, out):
    os.makedirs(out, exist_ok=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    for f in files:
        base = os.path.join(out, os.path.splitext(os.path.basename(f))[0])
        err = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", f, "-af",
                              "loudnorm=I=-23:TP=-1:LRA=20:print_format=json", "-f", "null", "-"],
                             capture_output=True, text=True).stderr
        m = json.loads(err[err.rindex("{"):err.rindex("}") + 1])
        af = ("loudnorm=I=-23:TP=-1:LRA=20:linear=true:measured_I=%s:measured_TP=%s:measured_LRA=%s:"
              "measured_thresh=%s:offset=%s" % (m["input_i"], m["input_tp"], m["input_lra"], m["input_thresh"],
                                                m["target_offset"]))
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", f, "-af", af, "-ar", "44100", "-c:v", "copy", "-c:a",
                        "aac", base + ".norm.mp4"], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", f, "-vf", "scale=iw/2:ih/2", "-c:v", "libx264",
                        "-preset", "fast", "-g", "12", "-c:a", "aac", "-ar", "48000", "-ac", "2", base + ".proxy.mp4"],
                       check=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=26)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--json")
    a = ap.parse_args()
    src, files = make_sources(a.count, a.repeat, a.size)
    base = [BINARY, "-q", "import", "--no-transcript", "--no-library"]
    configs = {
        "seed workers (4 normalize, 4 proxy, overlapped)": lambda: timed([base + [src, "--to", fresh("p_seed")]]),
        "one file at a time": lambda: timed([base + [f, "--to", fresh("p_one"), "--normalize-jobs", "1",
                                                     "--proxy-jobs", "1"] for f in files]),
        "normalize only, seed workers (4)": lambda: timed([base + [src, "--to", fresh("p_n4"), "--no-proxy"]]),
        "normalize only, one at a time": lambda: timed([base + [f, "--to", fresh("p_n1"), "--no-proxy",
                                                                "--normalize-jobs", "1"] for f in files]),
        "ffmpeg: loudnorm two-pass + proxy, one after another": lambda: run_ffmpeg(files, fresh("ffmpeg")),
    }
    results = {k: [] for k in configs}
    for r in range(a.runs):
        for name, fn in configs.items():
            load = os.getloadavg()[0]
            wall, cpu = fn()
            results[name].append({"wall": wall, "cpu": cpu, "load": load})
            print("run %d  %-55s %7.2f s wall  %7.2f s cpu  (load %.1f)" % (r + 1, name, wall, cpu, load),
                  flush=True)
    best = {k: min(x["wall"] for x in v) for k, v in results.items()}
    print()
    print("| | wall best | wall median | CPU best |")
    print("| --- | ---: | ---: | ---: |")
    for k, v in results.items():
        print("| %s | %.2f s | %.2f s | %.1f s |" % (k, best[k], statistics.median(x["wall"] for x in v),
                                                   min(x["cpu"] for x in v)))
    seed = best["seed workers (4 normalize, 4 proxy, overlapped)"]
    print()
    print("one at a time / seed workers: %.2fx" % (best["one file at a time"] / seed))
    print("normalize: one at a time / 4 at once: %.2fx" %
          (best["normalize only, one at a time"] / best["normalize only, seed workers (4)"]))
    print("ffmpeg commands / seed workers: %.2fx" % (best["ffmpeg: loudnorm two-pass + proxy, one after another"] / seed))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "results": results, "cores": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
