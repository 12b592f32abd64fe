#!/usr/bin/python3
"""Synthesizes a talk video with known sentences at known times.

Speech comes from flite; pictures from FFmpeg's lavfi sources. While sentence
i is spoken the picture is a solid colour of its own (so tests can check that
a cut shows the right picture with the right sound); pauses are grey.

Writes OUT (any container FFmpeg can write) and OUT.json: the sentences with
their start/end seconds and colour. Used by the demo, the end-to-end tests
and the benchmarks.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import wave

PALETTE = [
    (0xE0, 0x20, 0x20), (0x20, 0xC0, 0x20), (0x20, 0x40, 0xE0), (0xE0, 0xC0, 0x20),
    (0xC0, 0x20, 0xC0), (0x20, 0xC0, 0xC0), (0xF0, 0x80, 0x20), (0x80, 0x20, 0xF0),
    (0x90, 0xE0, 0x60), (0x60, 0x30, 0x10), (0xF0, 0xA0, 0xC0), (0x10, 0x60, 0x60),
]
GREY = (0x80, 0x80, 0x80)

DEFAULT_SENTENCES = [
    "Welcome to the morning news.",
    "The budget was approved by the council today.",
    "Rain is expected across the north this weekend.",
    "Teachers say the new budget helps every school.",
    "The football team won the final match.",
    "Critics call the budget a missed chance.",
]


def flite(text, voice, path):
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", path], check=True)
    with wave.open(path, "rb") as w:
        return w.getframerate(), w.readframes(w.getnframes())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--sentence", action="append", help="a sentence (repeatable)")
    ap.add_argument("--sentences-file", help="one sentence per line")
    ap.add_argument("--repeat", type=int, default=1, help="repeat the sentence list N times")
    ap.add_argument("--voice", default="rms")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--fps", default="25")
    ap.add_argument("--vcodec", default="libx264", help="libx264 | libvpx-vp9 | none (audio only)")
    ap.add_argument("--acodec", default="aac")
    ap.add_argument("--audio-rate", type=int, default=44100)
    ap.add_argument("--lead", type=float, default=1.0, help="silence before the first sentence")
    ap.add_argument("--gap", type=float, default=1.2, help="silence between sentences")
    ap.add_argument("--pattern", default="color", help="color | testsrc (busy picture, for benchmarks)")
    a = ap.parse_args()

    sentences = a.sentence or []
    if a.sentences_file:
        with open(a.sentences_file) as f:
            sentences += [l.strip() for l in f if l.strip()]
    if not sentences:
        sentences = DEFAULT_SENTENCES
    sentences = sentences * a.repeat

    with tempfile.TemporaryDirectory() as tmp:
        pcm = bytearray()
        rate = None
        timeline = []
        cache = {}
        for i, text in enumerate(sentences):
            if text not in cache:
                cache[text] = flite(text, a.voice, os.path.join(tmp, "s%d.wav" % len(cache)))
            r, data = cache[text]
            if rate is None:
                rate = r
                pcm += b"\0\0" * int(a.lead * rate)
            start = len(pcm) / 2 / rate
            pcm += data
            end = len(pcm) / 2 / rate
            pcm += b"\0\0" * int(a.gap * rate)
            timeline.append({"index": i, "text": text, "start": round(start, 3), "end": round(end, 3),
                             "color": "%02x%02x%02x" % PALETTE[i % len(PALETTE)]})
        total = len(pcm) / 2 / rate
        speech = os.path.join(tmp, "speech.wav")
        with wave.open(speech, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(bytes(pcm))

        cmd = ["ffmpeg", "-v", "error", "-y"]
        if a.vcodec != "none":
            if a.pattern == "testsrc":
                src = "testsrc2=s=%s:r=%s:d=%.3f" % (a.size, a.fps, total)
            else:
                src = "color=c=0x%02x%02x%02x:s=%s:r=%s:d=%.3f" % (GREY + (a.size, a.fps, total))
            cmd += ["-f", "lavfi", "-i", src]
        cmd += ["-i", speech]
        if a.vcodec != "none":
            boxes = []
            for t in timeline:
                boxes.append("drawbox=x=0:y=0:w=iw:h=%s:color=0x%s@1:t=fill:enable='between(t,%.3f,%.3f)'"
                             % ("ih" if a.pattern == "color" else "ih/4", t["color"], t["start"], t["end"]))
            script = os.path.join(tmp, "filter.txt")
            with open(script, "w") as f:
                f.write("[0:v]" + ",".join(boxes) + ",format=yuv420p[v]")
            cmd += ["-filter_complex_script", script, "-map", "[v]", "-map", "1:a", "-c:v", a.vcodec]
            if a.vcodec == "libx264":
                cmd += ["-preset", "veryfast", "-g", "50"]
            elif a.vcodec == "libvpx-vp9":
                cmd += ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k", "-g", "50"]
        cmd += ["-c:a", a.acodec, "-ar", str(a.audio_rate if a.acodec != "libopus" else 48000),
                "-ac", "2" if a.vcodec != "none" else "1", a.out]
        subprocess.run(cmd, check=True)

    with open(a.out + ".json", "w") as f:
        json.dump({"duration": round(total, 3), "sentences": timeline}, f, indent=1)
    print(a.out)


if __name__ == "__main__":
    sys.exit(main())
