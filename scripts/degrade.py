#!/usr/bin/python3
"""Makes clean speech harder: noise at a signal-to-noise ratio, room
reverberation, the telephone band, a different speed.

    degrade.py IN.wav OUT.wav [--noise pink|babble|white|music --snr DB]
               [--reverb RT60] [--telephone] [--speed F] [--seed N]

IN is any 16-bit PCM WAV (mono or not, any rate); OUT is 16 kHz mono
16-bit PCM. The SNR is measured over the stretches where speech is active
(frames within 30 dB of the loudest), so pauses do not make it look better.
Babble is other speakers (flite voices saying unrelated sentences), mixed
at random offsets. Music is a synthesized bed: chords, a bass line and a
hi-hat at 112 beats a minute, as under a news package or a vlog. Deterministic for a given --seed. Needs numpy.
"""
import argparse
import os
import subprocess
import tempfile
import wave

import numpy as np

RATE = 16000
BABBLE_SENTENCES = [
    "Please remember to close the window before you leave the house.",
    "The train to the airport leaves every twenty minutes in the morning.",
    "My sister bought a new bicycle with a bright red frame.",
    "They planted tomatoes and beans along the garden wall.",
    "A warm cup of tea helps on a cold and windy afternoon.",
    "The museum opens late on the first Friday of every month.",
]


def read_wav(path):
    """Samples as float in [-1, 1] at 16 kHz mono (resampled with ffmpeg if needed)."""
    with wave.open(path, "rb") as w:
        ok = w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == RATE
        if ok:
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    with tempfile.TemporaryDirectory() as d:
        tmp = os.path.join(d, "x.wav")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", path, "-ac", "1", "-ar", str(RATE),
                        "-c:a", "pcm_s16le", tmp], check=True)
        return read_wav(tmp)


def write_wav(path, x):
    x = np.clip(x, -1.0, 1.0)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((x * 32767.0).astype("<i2").tobytes())


def active_power(x):
    frame = RATE // 50
    n = len(x) // frame
    if n == 0:
        return float(np.mean(x ** 2)) + 1e-12
    p = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    return float(np.mean(p[p > p.max() * 1e-3])) + 1e-12


def pink(n, rng):
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def babble(n, rng, voices=("rms", "awb", "slt", "kal16")):
    out = np.zeros(n)
    with tempfile.TemporaryDirectory() as d:
        for i, s in enumerate(BABBLE_SENTENCES):
            p = os.path.join(d, "%d.wav" % i)
            subprocess.run(["flite", "-voice", voices[i % len(voices)], "-t", s, "-o", p], check=True)
            y = read_wav(p)
            y = y / np.sqrt(active_power(y))
            # Each talker repeats at random offsets over the whole length.
            at = int(rng.integers(0, max(1, len(y))))
            pos = -at
            while pos < n:
                a, b = max(0, pos), min(n, pos + len(y))
                if b > a:
                    out[a:b] += y[a - pos: b - pos]
                pos += len(y) + int(rng.integers(0, RATE // 2))
    return out


def music(n, rng):
    """A music bed: a four-chord progression (two beats a chord) of
    harmonic tones, a bass note on each beat and a hi-hat on the offbeats."""
    beat = 60.0 / 112
    t = np.arange(n) / RATE
    out = np.zeros(n)
    # C, G, A minor, F (MIDI notes); the progression starts at a random chord.
    chords = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]
    first = int(rng.integers(0, len(chords)))

    def tone(f, dur):
        k = np.arange(int(dur * RATE)) / RATE
        y = sum(np.sin(2 * np.pi * f * h * k) / h ** 1.5 for h in range(1, 6))
        return y * np.exp(-k * 2.5) * np.minimum(1.0, k / 0.01)

    b = 0
    while b * beat < n / RATE:
        at = int(b * beat * RATE)
        chord = chords[(first + b // 2) % len(chords)]
        if b % 2 == 0:
            for m in chord:
                y = tone(440.0 * 2 ** ((m - 69) / 12.0), 2 * beat) * 0.3
                e = min(n, at + len(y))
                out[at:e] += y[: e - at]
        y = tone(440.0 * 2 ** ((chord[0] - 12 - 69) / 12.0), beat) * 0.6
        e = min(n, at + len(y))
        out[at:e] += y[: e - at]
        off = at + int(beat * RATE / 2)
        if off < n:
            hat = rng.standard_normal(int(0.04 * RATE))
            hat = np.diff(hat, prepend=0.0) * np.exp(-np.arange(len(hat)) / (0.01 * RATE)) * 0.2
            e = min(n, off + len(hat))
            out[off:e] += hat[: e - off]
        b += 1
    return out


def add_noise(x, kind, snr_db, rng):
    if kind == "pink":
        noise = pink(len(x), rng)
    elif kind == "white":
        noise = rng.standard_normal(len(x))
    elif kind == "babble":
        noise = babble(len(x), rng)
    elif kind == "music":
        noise = music(len(x), rng)
    else:
        raise SystemExit("unknown noise " + kind)
    gain = np.sqrt(active_power(x) / (np.mean(noise ** 2) + 1e-12) / (10 ** (snr_db / 10.0)))
    return x + gain * noise


def reverb(x, rt60, rng):
    """Convolution with a synthetic room impulse response: a direct path,
    then exponentially decaying noise (-60 dB at rt60 seconds)."""
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)
    tail[: int(0.005 * RATE)] = 0  # first reflections after 5 ms
    h = tail * 0.3
    h[0] = 1.0
    y = np.fft.irfft(np.fft.rfft(x, len(x) + n) * np.fft.rfft(h, len(x) + n), len(x) + n)[: len(x)]
    return y * np.sqrt(active_power(x) / active_power(y))


def telephone(x):
    """8 kHz, 300-3400 Hz, back at 16 kHz (what a phone line leaves)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1.0 / RATE)
    spec[(f < 300) | (f > 3400)] = 0
    y = np.fft.irfft(spec, len(x))
    y8 = y[::2]  # band-limited already: decimation without aliasing
    y = np.interp(np.arange(len(x)) / 2.0, np.arange(len(y8)), y8)
    # mu-law companding, as the line codes it
    mu = 255.0
    peak = np.max(np.abs(y)) + 1e-12
    c = np.sign(y / peak) * np.log1p(mu * np.abs(y / peak)) / np.log1p(mu)
    c = np.round(c * 127) / 127
    return np.sign(c) * (np.expm1(np.abs(c) * np.log1p(mu)) / mu) * peak


def speed(x, factor):
    """Plays `factor` times faster (tempo and pitch, as a tape would)."""
    n = int(len(x) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(x)), x)


def degrade(x, noise=None, snr=None, rt60=None, phone=False, speed_factor=None, seed=0):
    rng = np.random.default_rng(seed)
    if speed_factor:
        x = speed(x, speed_factor)
    if rt60:
        x = reverb(x, rt60, rng)
    if noise:
        x = add_noise(x, noise, snr, rng)
    if phone:
        x = telephone(x)
    peak = np.max(np.abs(x)) + 1e-12
    return x * (0.9 / peak) if peak > 0.9 else x


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--noise", choices=["pink", "babble", "white", "music"])
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--reverb", type=float, help="RT60 in seconds")
    ap.add_argument("--telephone", action="store_true")
    ap.add_argument("--speed", type=float)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    x = read_wav(a.inp)
    write_wav(a.out, degrade(x, a.noise, a.snr, a.reverb, a.telephone, a.speed, a.seed))


if __name__ == "__main__":
    main()
