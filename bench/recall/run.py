#!/usr/bin/python3
"""Recall and precision of supercut word finding on speech made harder.

    bench/recall/run.py [--conditions clean,pink20,...] [--voices rms,awb,...]
                        [--threshold T] [--json FILE]

Builds its test set at run time: for each voice (flite's rms, awb, slt,
kal16; festival's default voice too when `text2wave` is installed) one
recording of SENTENCES with pauses between them, then each condition of
CONDITIONS made from it by scripts/degrade.py (pink and babble noise at 20,
10 and 5 dB SNR, reverberation, the 8 kHz telephone band, speed 0.9 and
1.1). For each condition, one `studioflow supercut --dry-run` over all
voices with every target word, --min-confidence 0 (every candidate with its
confidence), no padding, no merging, no library. A candidate is right when
its middle lies in a sentence (+-0.4 s) that says its words, at most as
many times as that sentence says them.

Prints, per condition, recall and precision before (the one-best
transcript's matches only) and after (targeted search at --threshold, the
default --min-confidence), and writes every candidate with its evidence
and label to --json (for calibrating the fusion).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import degrade  # noqa: E402

BIN = os.environ.get("STUDIOFLOW", os.path.join(ROOT, "build", "release", "studioflow"))

# Target words and phrases; "okonkwo" and "adebayo" are names the
# recognizer's dictionary lacks.
TARGETS = ["budget", "council", "weekend", "football", "teachers", "europe", "hospital", "tuesday",
           "climate change", "okonkwo", "adebayo"]
SENTENCES = [
    "The budget was approved by the council on Tuesday.",
    "Rain is expected across the north this weekend.",
    "Teachers say the new budget helps every school in Europe.",
    "The football team won the final match of the season.",
    "A new hospital will open near the river next spring.",
    "Leaders met to talk about climate change and energy prices.",
    "Doctor Okonkwo spoke to the council about the hospital.",
    "Critics call the budget a missed chance for Europe.",
    "Our reporter Adebayo watched the football on Tuesday.",
    "Nobody expected such a warm and sunny afternoon.",
]
CONDITIONS = {
    "clean": {},
    "pink20": dict(noise="pink", snr=20),
    "pink10": dict(noise="pink", snr=10),
    "pink5": dict(noise="pink", snr=5),
    "babble10": dict(noise="babble", snr=10),
    "reverb": dict(rt60=0.5),
    "telephone": dict(phone=True),
    "speed0.9": dict(speed_factor=0.9),
    "speed1.1": dict(speed_factor=1.1),
}
VOICES = ["rms", "awb", "slt", "kal16"]
GAP = 1.0


def tokens(text):
    out = []
    for w in text.lower().replace("-", " ").split():
        w = "".join(c for c in w if c.isalnum() or c == "'")
        if w:
            out.append(w)
    return out


def count(sentence, target):
    s, t = tokens(sentence), tokens(target)
    return sum(1 for i in range(len(s) - len(t) + 1) if s[i:i + len(t)] == t)


def synth(voice, path, tmp):
    """One recording of SENTENCES; returns their (start, end) seconds."""
    pieces, spans, at = [np.zeros(int(GAP * degrade.RATE))], [], GAP
    for i, s in enumerate(SENTENCES):
        p = os.path.join(tmp, "%s-%d.wav" % (voice, i))
        if voice == "festival":
            subprocess.run(["text2wave", "-o", p], input=s.encode(), check=True, capture_output=True)
        else:
            subprocess.run(["flite", "-voice", voice, "-t", s, "-o", p], check=True)
        x = degrade.read_wav(p)
        spans.append((at, at + len(x) / degrade.RATE))
        pieces += [x, np.zeros(int(GAP * degrade.RATE))]
        at += len(x) / degrade.RATE + GAP
    degrade.write_wav(path, np.concatenate(pieces))
    return spans


def label(cands, spans_per_input):
    """Marks each candidate right or wrong (greedy, best confidence first)."""
    left = {}
    for i, spans in enumerate(spans_per_input):
        for k, _ in enumerate(spans):
            for t in TARGETS:
                left[(i, k, t)] = count(SENTENCES[k], t)
    for c in sorted(cands, key=lambda c: -c["confidence"]):
        mid = (c["start"] + c["end"]) / 2
        c["right"] = False
        for k, (a, b) in enumerate(spans_per_input[c["input"]]):
            key = (c["input"], k, c["query"])
            if a - 0.4 <= mid <= b + 0.4 and left.get(key, 0) > 0:
                left[key] -= 1
                c["right"] = True
                break


def score(cands, keep, total):
    kept = [c for c in cands if keep(c)]
    tp = sum(c["right"] for c in kept)
    return tp / total if total else 1.0, tp / len(kept) if kept else 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--voices", default=",".join(VOICES + (["festival"] if shutil.which("text2wave") else [])))
    ap.add_argument("--threshold", type=float, default=0.5, help="the default --min-confidence")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench", "recall", "last.json"))
    ap.add_argument("--keep", help="keep the audio in this folder")
    a = ap.parse_args()
    voices = a.voices.split(",")
    tmp = a.keep or tempfile.mkdtemp(prefix="sf-recall-")
    os.makedirs(tmp, exist_ok=True)
    clean, spans = {}, {}
    for v in voices:
        clean[v] = os.path.join(tmp, "clean-%s.wav" % v)
        spans[v] = synth(v, clean[v], tmp)
    total_per_voice = sum(count(s, t) for s in SENTENCES for t in TARGETS)
    results, all_cands = [], []
    print("%-10s %6s %6s | %6s %6s | %5s" % ("condition", "R 1best", "P 1best", "R tgt", "P tgt", "cands"))
    for name in a.conditions.split(","):
        cond = CONDITIONS[name]
        files, sp = [], []
        for j, v in enumerate(voices):
            x = degrade.read_wav(clean[v])
            path = os.path.join(tmp, "%s-%s.wav" % (name, v))
            degrade.write_wav(path, degrade.degrade(x, seed=j, **cond))
            files.append(path)
            f = cond.get("speed_factor", 1.0)
            sp.append([(s / f, e / f) for s, e in spans[v]])
        rep = os.path.join(tmp, "%s.json" % name)
        cmd = [BIN, "--log-level", "warn", "supercut", "-i"] + files
        for t in TARGETS:
            cmd += ["-w", t]
        cmd += ["--dry-run", "--report", rep, "--min-confidence", "0", "--merge-gap", "0", "--padding-before", "0",
                "--padding-after", "0", "--no-library", "--targeted"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode not in (0, 4):
            sys.exit("studioflow failed on %s: %s" % (name, p.stderr))
        with open(rep) as f:
            report = json.load(f)
        cands = []
        for c in report["clips"]:
            for m in c["matches"]:
                cands.append(dict(m, input=c["input"], voice=voices[c["input"]], condition=name))
        label(cands, sp)
        total = total_per_voice * len(voices)
        r0, p0 = score(cands, lambda c: c["evidence"]["one_best"], total)
        r1, p1 = score(cands, lambda c: c["confidence"] >= a.threshold, total)
        print("%-10s %6.2f %6.2f | %6.2f %6.2f | %5d" % (name, r0, p0, r1, p1, len(cands)), flush=True)
        results.append(dict(condition=name, recall_one_best=r0, precision_one_best=p0, recall=r1, precision=p1,
                            occurrences=total, candidates=len(cands)))
        all_cands += cands
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(dict(voices=voices, threshold=a.threshold, results=results, candidates=all_cands), f, indent=1)
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
