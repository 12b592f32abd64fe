#!/usr/bin/python3
"""Summarizes bench/supercut/run.sh's runs: best and median figures, ratios
against the issue's targets, as a table on stdout and JSON in a file.

    summarize.py RUNS.jsonl OUT.json --talk F --talk-seconds S --size WxH
                 --fps F --words "W..." --command "..."
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess

TARGET_SUPERCUT_VS_RECOGNIZER = 1.15
TARGET_RENDER_VS_FLOOR = 1.25


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("out")
    ap.add_argument("--talk")
    ap.add_argument("--talk-seconds", type=float)
    ap.add_argument("--size")
    ap.add_argument("--fps")
    ap.add_argument("--words")
    ap.add_argument("--command")
    a = ap.parse_args()
    runs = [json.loads(l) for l in open(a.runs) if l.strip()]

    series = {
        "supercut_wall": [r["supercut"]["wall"] for r in runs],
        "recognizer_wall": [r["recognizer"]["wall"] for r in runs],
        "transcribe_stage": [r["stages"]["transcribe"] for r in runs],
        "render_stage": [r["stages"]["render"] for r in runs],
        "floor": [r["floor"]["seconds"] for r in runs],
        "naive_wall": [r["naive"]["wall"] for r in runs],
        "supercut_cpu": [r["supercut"]["cpu"] for r in runs],
        "recognizer_cpu": [r["recognizer"]["cpu"] for r in runs],
        "floor_cpu": [r["floor_process"]["cpu"] for r in runs],
        "naive_cpu": [r["naive"]["cpu"] for r in runs],
    }
    best = {k: min(v) for k, v in series.items()}
    median = {k: statistics.median(v) for k, v in series.items()}
    ratios = {
        "supercut_vs_recognizer": best["supercut_wall"] / best["recognizer_wall"],
        "render_vs_floor": best["render_stage"] / best["floor"],
        "render_vs_naive": best["render_stage"] / best["naive_wall"],
        "supercut_vs_recognizer_cpu": best["supercut_cpu"] / best["recognizer_cpu"],
    }
    # The same ratios within each run (contenders measured minutes apart,
    # under the same load), as a check on the best-of figures above.
    paired = {
        "supercut_vs_recognizer": [r["supercut"]["wall"] / r["recognizer"]["wall"] for r in runs],
        "render_vs_floor": [r["stages"]["render"] / r["floor"]["seconds"] for r in runs],
        "render_vs_naive": [r["stages"]["render"] / r["naive"]["wall"] for r in runs],
    }
    met = {
        "supercut_vs_recognizer": ratios["supercut_vs_recognizer"] <= TARGET_SUPERCUT_VS_RECOGNIZER,
        "render_vs_floor": ratios["render_vs_floor"] <= TARGET_RENDER_VS_FLOOR,
        "render_vs_naive": ratios["render_vs_naive"] < 1.0,
    }
    first = runs[0]
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
        "command": a.command,
        "talk": {"path": a.talk, "seconds": a.talk_seconds, "size": a.size, "fps": a.fps},
        "words": a.words,
        "clips": first["clips"],
        "output": first["output"],
        "encoder": first["encoder"], "preset": first["preset"],
        "naive_output_seconds": first["naive_output_seconds"],
        "load1_at_starts": [[r[k]["load1"] for k in ("supercut", "recognizer", "floor_process", "naive")]
                            for r in runs],
        "best": best, "median": median, "ratios": ratios, "ratios_per_run": paired, "targets_met": met,
        "targets": {"supercut_vs_recognizer": TARGET_SUPERCUT_VS_RECOGNIZER,
                    "render_vs_floor": TARGET_RENDER_VS_FLOOR, "render_vs_naive": 1.0},
        "runs": runs,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)

    o = first["output"]
    print()
    print("Supercut benchmark: %s, %d cores; talk %.0f s %s@%s; words: %s; %d clips -> %.1f s, %d frames %dx%d@%g (%s %s)"
          % (cpu_model(), os.cpu_count(), a.talk_seconds, a.size, a.fps, a.words, first["clips"],
             o["duration"], o["frames"], o["width"], o["height"], o["fps"], first["encoder"], first["preset"]))
    print("%d runs; seconds, best (median); CPU = user+sys seconds" % len(runs))
    rows = [
        ("whole supercut", "supercut_wall", "supercut_cpu"),
        ("  transcribe stage", "transcribe_stage", None),
        ("  render stage", "render_stage", None),
        ("pocketsphinx_continuous", "recognizer_wall", "recognizer_cpu"),
        ("render floor", "floor", "floor_cpu"),
        ("naive ffmpeg cut+concat", "naive_wall", "naive_cpu"),
    ]
    print("%-26s %18s %10s" % ("", "wall", "CPU"))
    for name, k, c in rows:
        cpu = "%10.1f" % best[c] if c else "%10s" % "-"
        print("%-26s %8.2f (%7.2f) %s" % (name, best[k], median[k], cpu))
    print()
    print("%-38s %7s %9s  %s" % ("ratio", "value", "target", ""))
    print("%-38s %7.3f %9s  %s" % ("supercut / recognizer (wall)", ratios["supercut_vs_recognizer"],
                                    "<= 1.15", "met" if met["supercut_vs_recognizer"] else "MISSED"))
    print("%-38s %7.3f %9s" % ("supercut / recognizer (CPU)", ratios["supercut_vs_recognizer_cpu"], "-"))
    print("%-38s %7.3f %9s  %s" % ("render / floor", ratios["render_vs_floor"], "<= 1.25",
                                    "met" if met["render_vs_floor"] else "MISSED"))
    print("%-38s %7.3f %9s  %s" % ("render / naive", ratios["render_vs_naive"], "< 1",
                                    "met" if met["render_vs_naive"] else "MISSED"))
    print("same ratios within each run: " + "; ".join(
        "%s %s" % (k, " ".join("%.3f" % v for v in vals)) for k, vals in paired.items()))
    print("load (1 min) at each start: %s" % result["load1_at_starts"])
    print("JSON: %s" % a.out)


if __name__ == "__main__":
    main()
