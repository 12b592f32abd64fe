#!/usr/bin/python3
"""Checks `studioflow whisper-probe` against the numpy reference.

  compare.py prepare --size tiny --dtype f32 --dir D
      writes a random-weight model (D/hf, D/ggml-model.bin), a synthetic
      WAV (D/audio.wav), the token list (D/tokens.txt) and the reference
      outputs (D/ref/*.npy).
  compare.py check --dir D --format hf|ggml --studioflow BIN
      runs the probe on that container, prints the relative Frobenius error
      of mel, encoder output and logits, and exits 1 when one is beyond its
      bound.

Bounds. f32 weights: the probe computes in f32 (unit roundoff 6e-8), so the
errors left are accumulation over sums of up to a few thousand terms and
through a dozen layers: mel <= 1e-5, encoder <= 1e-4, logits <= 1e-4.
f16 weights: the reference uses the same f16-rounded weights, so rounding
the weights costs nothing; an engine may still round activations to f16 for
its GEMMs (as whisper.cpp does), a relative error of up to 2^-11 = 4.9e-4 per
rounding that adds up over the layers: encoder <= 2e-3, logits <= 2e-3. The
mel does not depend on the weights and keeps its 1e-5 bound.

Compute types (--compute-type; the probe runs on the CPU). bf16 rounds
weights and GEMM inputs to 8 significant bits (unit roundoff 2^-9 = 2e-3),
so every product carries up to two such roundings: measured 3.8e-3 to
4.6e-3 on encoder output and logits for tiny and base.en, stored f32 or
f16; bound 6e-3. int8 rounds each weight to 1/127 of its row's largest
magnitude and each GEMM input row likewise: measured 1.5e-2 to 1.9e-2;
bound 3e-2. Either way the argmax over the vocabulary is printed: it agreed
at every position in those measurements.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model  # noqa: E402
import reference  # noqa: E402

BOUNDS = {
    "f32": {"mel": 1e-5, "encoder": 1e-4, "logits": 1e-4},
    "f16": {"mel": 1e-5, "encoder": 2e-3, "logits": 2e-3},
    "bf16": {"mel": 1e-5, "encoder": 6e-3, "logits": 6e-3},
    "int8": {"mel": 1e-5, "encoder": 3e-2, "logits": 3e-2},
}


def synth_audio(path, seconds=4.0, seed=7):
    """Tones, a chirp, on/off gating and noise: a spectrum with structure in
    every band and loud and quiet frames, written as 16-bit mono 16 kHz."""
    sr = reference.SAMPLE_RATE
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    x = 0.25 * np.sin(2 * np.pi * 220 * t) + 0.15 * np.sin(2 * np.pi * 1375 * t)
    x += 0.1 * np.sin(2 * np.pi * (300 * t + 900 * t * t))  # rising chirp
    gate = (np.sin(2 * np.pi * 1.5 * t) > -0.3).astype(np.float64)
    x = x * gate + 0.02 * rng.standard_normal(t.size)
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def probe_tokens(size):
    """A realistic prompt plus a few text and timestamp tokens."""
    ids = make_model.special_ids(make_model.hparams(size)["vocab"])
    toks = [ids["sot"]]
    if ids["multilingual"]:
        toks += [ids["languages"]["en"], ids["transcribe"]]
    toks += [ids["timestamp_begin"], 220, 1169, 3797, 17, 4430,
             ids["timestamp_begin"] + 37, ids["eot"]]
    return toks


def rel_err(got, ref):
    return float(np.linalg.norm(got.astype(np.float64) - ref) / np.linalg.norm(ref))


def stamp_text(a):
    """What the prepared files depend on: the arguments and these scripts."""
    h = hashlib.sha256()
    for name in ("make_model.py", "reference.py", "compare.py"):
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    return f"{a.size} {a.dtype} {a.seed} {h.hexdigest()}\n"


def prepare(a):
    os.makedirs(a.dir, exist_ok=True)
    stamp = os.path.join(a.dir, "stamp.txt")
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == stamp_text(a):
                print(f"{a.dir} is up to date")
                return
        os.remove(stamp)
    t0 = time.time()
    make_model.make(a.size, a.dtype, os.path.join(a.dir, "hf"),
                    os.path.join(a.dir, "ggml-model.bin"), seed=a.seed)
    wav = os.path.join(a.dir, "audio.wav")
    synth_audio(wav)
    toks = probe_tokens(a.size)
    with open(os.path.join(a.dir, "tokens.txt"), "w") as f:
        f.write(",".join(map(str, toks)) + "\n")
    with open(os.path.join(a.dir, "dtype.txt"), "w") as f:
        f.write(a.dtype + "\n")
    t1 = time.time()
    mel, enc, logits = reference.run(os.path.join(a.dir, "hf"), wav, toks)
    out = os.path.join(a.dir, "ref")
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "mel.npy"), mel)
    np.save(os.path.join(out, "encoder.npy"), enc)
    np.save(os.path.join(out, "logits.npy"), logits)
    with open(stamp, "w") as f:
        f.write(stamp_text(a))
    print(f"prepared {a.size} {a.dtype} in {a.dir}: model {t1 - t0:.1f}s, "
          f"reference {time.time() - t1:.1f}s; logits std {logits.std():.3f}, "
          f"encoder std {enc.std():.3f}")


def check(a):
    with open(os.path.join(a.dir, "dtype.txt")) as f:
        dtype = f.read().strip()
    with open(os.path.join(a.dir, "tokens.txt")) as f:
        toks = f.read().strip()
    model = os.path.join(a.dir, "hf" if a.format == "hf" else "ggml-model.bin")
    compute_type = a.compute_type or dtype
    out = os.path.join(a.dir, "probe-" + a.format + "-" + compute_type)
    os.makedirs(out, exist_ok=True)
    for name in ("mel.npy", "encoder.npy", "logits.npy"):
        if os.path.exists(os.path.join(out, name)):
            os.remove(os.path.join(out, name))
    cmd = [a.studioflow, "whisper-probe", "--model", model, "--compute-type", compute_type,
           "--device", "cpu", "--audio", os.path.join(a.dir, "audio.wav"), "--tokens", toks, "--out", out]
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print(f"FAIL: whisper-probe exited with {r.returncode}")
        return 1
    print(f"probe took {time.time() - t0:.1f}s")
    # The looser of the stored type's and the compute type's bounds: f32
    # weights computed in int8 are as far off as int8 allows.
    bounds = {k: max(BOUNDS[dtype][k], BOUNDS[compute_type][k]) for k in BOUNDS[dtype]}
    failed = False
    for stage in ("mel", "encoder", "logits"):
        ref = np.load(os.path.join(a.dir, "ref", stage + ".npy"))
        path = os.path.join(out, stage + ".npy")
        if not os.path.exists(path):
            print(f"FAIL: {stage}: the probe wrote no {path}")
            failed = True
            continue
        got = np.load(path)
        if got.dtype != np.float32:
            print(f"FAIL: {stage}: dtype {got.dtype}, expected float32")
            failed = True
        if got.shape != ref.shape:
            print(f"FAIL: {stage}: shape {got.shape}, expected {ref.shape}")
            failed = True
            continue
        if not np.all(np.isfinite(got)):
            print(f"FAIL: {stage}: {np.count_nonzero(~np.isfinite(got))} non-finite values")
            failed = True
            continue
        err = rel_err(got, ref)
        ok = err <= bounds[stage]
        failed |= not ok
        diff = np.abs(got - ref)
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        print(f"{'ok  ' if ok else 'FAIL'} {a.format} {dtype}/{compute_type} {stage:8s} rel.err "
              f"{err:.3e} (bound {bounds[stage]:.0e}); max abs diff {diff.max():.3e} "
              f"at {tuple(int(i) for i in worst)}")
        if stage == "logits" and got.shape == ref.shape:
            same = np.mean(np.argmax(got, axis=1) == np.argmax(ref, axis=1))
            print(f"     argmax agreement over {ref.shape[0]} positions: {same:.0%}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--size", required=True, choices=sorted(make_model.SMALL_ENOUGH))
    p.add_argument("--dtype", default="f32", choices=["f32", "f16"])
    p.add_argument("--dir", required=True)
    p.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--dir", required=True)
    c.add_argument("--format", required=True, choices=["hf", "ggml"])
    c.add_argument("--studioflow", required=True)
    c.add_argument("--compute-type", choices=sorted(BOUNDS),
                   help="the probe's compute type (default: the stored type)")
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
