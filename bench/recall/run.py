#!/usr/bin/python3
"""Recall and precision of supercut word finding on speech made harder.

    bench/recall/run.py [--conditions clean,pink20,...] [--voices rms,awb,...]
                        [--threshold T] [--json FILE]

Builds its test set at run time: for each voice (flite's rms, awb, slt,
kal16; festival's kal, ked and the HTS slt voice as fest_kal, fest_ked,
fest_slt when `text2wave` is installed: scripts/install-deps.sh --bench) one
recording of SENTENCES with pauses between them, then each condition of
CONDITIONS made from it by scripts/degrade.py (pink and babble noise at 20,
10 and 5 dB SNR, a music bed at 20 and 10 dB, reverberation, the 8 kHz telephone band, speed 0.9 and
1.1). For each condition, one `studioflow supercut --dry-run` over all
voices with every target word, --min-confidence 0 (every candidate with its
confidence), no padding, no merging, no library. A candidate is right when
its middle lies in a sentence (+-0.4 s) that says its words, at most as
many times as that sentence says them.

Prints, per condition, recall and precision before (the one-best
transcript's matches only) and after (targeted search at --threshold, the
default --min-confidence), and writes every candidate with its evidence
and label to --json (for calibrating the fusion).

With --library-pass, each condition is also put in a fresh transcript
library by a plain supercut (one-best only), then cut again with
`supercut --from-library --targeted`, whose targeted pass listens again to
just the audio the stored transcripts say it needs
(src/pipeline/library_targeted.h): prints its recall and precision and the
fraction of the audio it decoded.
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
    "babble20": dict(noise="babble", snr=20),
    "babble10": dict(noise="babble", snr=10),
    "babble5": dict(noise="babble", snr=5),
    "music20": dict(noise="music", snr=20),
    "music10": dict(noise="music", snr=10),
    "reverb": dict(rt60=0.5),
    "telephone": dict(phone=True),
    "speed0.9": dict(speed_factor=0.9),
    "speed1.1": dict(speed_factor=1.1),
}
VOICES = ["rms", "awb", "slt", "kal16"]
FESTIVAL_VOICES = {"fest_kal": "voice_kal_diphone", "fest_ked": "voice_ked_diphone",
                   "fest_slt": "voice_cmu_us_slt_arctic_hts"}
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
        if voice in FESTIVAL_VOICES:
            subprocess.run(["text2wave", "-eval", "(%s)" % FESTIVAL_VOICES[voice], "-o", p], input=s.encode(),
                           check=True, capture_output=True)
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


def candidates(report, files, voices, name):
    index = {os.path.realpath(f): i for i, f in enumerate(files)}
    out = []
    for c in report["clips"]:
        i = index[os.path.realpath(c["path"])]
        for m in c["matches"]:
            out.append(dict(m, input=i, voice=voices[i], condition=name))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--voices", default=",".join(VOICES + (list(FESTIVAL_VOICES) if shutil.which("text2wave") else [])))
    ap.add_argument("--threshold", type=float, default=0.75, help="the default --min-confidence")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench", "recall", "last.json"))
    ap.add_argument("--keep", help="keep the audio in this folder")
    ap.add_argument("--library-pass", action="store_true",
                    help="also measure the targeted pass over a library's transcripts (supercut --from-library)")
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
    head = "%-10s %6s %6s | %6s %6s | %5s" % ("condition", "R 1best", "P 1best", "R tgt", "P tgt", "cands")
    if a.library_pass:
        head += " | %6s %6s %7s" % ("R lib", "P lib", "decoded")
    print(head)
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
        flags = ["--dry-run", "--report", rep, "--min-confidence", "0", "--merge-gap", "0", "--padding-before", "0",
                 "--padding-after", "0"]
        cmd += flags + ["--no-library", "--targeted"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode not in (0, 4):
            sys.exit("studioflow failed on %s: %s" % (name, p.stderr))
        with open(rep) as f:
            report = json.load(f)
        cands = candidates(report, files, voices, name)
        label(cands, sp)
        total = total_per_voice * len(voices)
        r0, p0 = score(cands, lambda c: c["evidence"]["one_best"], total)
        r1, p1 = score(cands, lambda c: c["confidence"] >= a.threshold, total)
        line = "%-10s %6.2f %6.2f | %6.2f %6.2f | %5d" % (name, r0, p0, r1, p1, len(cands))
        result = dict(condition=name, recall_one_best=r0, precision_one_best=p0, recall=r1, precision=p1,
                      occurrences=total, candidates=len(cands))
        if a.library_pass:
            lib = os.path.join(tmp, "%s-library.db" % name)
            if os.path.exists(lib):
                os.remove(lib)
            words = [x for t in TARGETS for x in ("-w", t)]
            # One-best only (targeted search is the default): the pass
            # measured must not find the whole-file hits in the library.
            fill = subprocess.run([BIN, "--log-level", "warn", "supercut", "-i"] + files + words + flags +
                                  ["--no-targeted", "--library", lib], capture_output=True, text=True)
            if fill.returncode not in (0, 4):
                sys.exit("studioflow failed filling the library on %s: %s" % (name, fill.stderr))
            p = subprocess.run([BIN, "--log-level", "warn", "supercut", "--from-library", "--library", lib,
                                "--targeted"] + words + flags, capture_output=True, text=True)
            if p.returncode not in (0, 4):
                sys.exit("studioflow --from-library failed on %s: %s" % (name, p.stderr))
            with open(rep) as f:
                lreport = json.load(f)
            lc = candidates(lreport, files, voices, name)
            label(lc, sp)
            r2, p2 = score(lc, lambda c: c["confidence"] >= a.threshold, total)
            heard = lreport.get("targeted_listened", {})
            frac = heard.get("decoded_seconds", 0) / max(1e-9, heard.get("audio_seconds", 0))
            line += " | %6.2f %6.2f %6.0f%%" % (r2, p2, 100 * frac)
            result.update(recall_library=r2, precision_library=p2, decoded_fraction=frac)
        print(line, flush=True)
        results.append(result)
        all_cands += cands
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(dict(voices=voices, threshold=a.threshold, results=results, candidates=all_cands), f, indent=1)
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
