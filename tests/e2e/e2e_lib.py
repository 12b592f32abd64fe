"""Shared helpers of the end-to-end tests: run the built binary, synthesize
media, and look at what comes out (pictures via the ffmpeg CLI, sound via
studioflow's own transcription)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SYNTH = os.path.join(ROOT, "scripts", "synth_talk.py")
BINARY = os.environ.get("STUDIOFLOW", os.path.join(ROOT, "build", "release", "studioflow"))
MEDIA = os.environ.get("SF_E2E_MEDIA", os.path.join(ROOT, "build", "e2e-media"))

# Three talks with known sentences, of different sizes, rates and codecs.
TALKS = {
    "a": dict(file="talk_a.mp4", voice="rms", size="640x360", fps="25", vcodec="libx264", acodec="aac",
              sentences=["Welcome to the morning news.",
                         "The budget was approved by the council today.",
                         "Rain is expected across the north this weekend.",
                         "Teachers say the new budget helps every school."]),
    "b": dict(file="talk_b.webm", voice="awb", size="480x270", fps="30", vcodec="libvpx-vp9",
              acodec="libopus",
              sentences=["Good evening and thank you for joining us.",
                         "The city budget will be discussed tomorrow.",
                         "Our football team played a great match."]),
    "c": dict(file="talk_c.m4a", voice="kal16", vcodec="none", acodec="aac",
              sentences=["This is the radio report.",
                         "Nobody expected the budget to pass so quickly."]),
}


def run(args, check=False):
    p = subprocess.run([BINARY] + args, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("studioflow %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def talk(name):
    """Path of a synthesized talk; made on first use (shared across tests)."""
    t = TALKS[name]
    os.makedirs(MEDIA, exist_ok=True)
    path = os.path.join(MEDIA, t["file"])
    if not os.path.exists(path + ".json"):
        args = [SYNTH, path + ".tmp" + os.path.splitext(path)[1], "--voice", t["voice"], "--vcodec", t["vcodec"],
                "--acodec", t["acodec"]]
        if "size" in t:
            args += ["--size", t["size"], "--fps", t["fps"]]
        for s in t["sentences"]:
            args += ["--sentence", s]
        subprocess.run(["/usr/bin/python3"] + args, check=True, capture_output=True)
        tmp = path + ".tmp" + os.path.splitext(path)[1]
        os.rename(tmp + ".json", path + ".json")
        os.rename(tmp, path)
    return path


def timeline(path):
    with open(path + ".json") as f:
        return json.load(f)


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          path], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def frame_rgb(path, t):
    """Mean RGB of the output picture at time t (seconds)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", "%.3f" % t, "-i", path, "-frames:v", "1",
                          "-vf", "scale=32:18", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    n = len(raw) // 3
    if n == 0:
        raise AssertionError("no frame at %.3f s in %s" % (t, path))
    return tuple(sum(raw[i::3]) / n for i in range(3))


def color_distance(rgb, hexcolor):
    ref = tuple(int(hexcolor[i:i + 2], 16) for i in (0, 2, 4))
    return max(abs(a - b) for a, b in zip(rgb, ref))


def transcribe(path):
    p = run(["-q", "transcribe", "-i", path, "--format", "json"], check=True)
    d = json.loads(p.stdout)
    return [w for s in d["segments"] for w in s["words"]]


def sentence_at(tl, t):
    for s in tl["sentences"]:
        if s["start"] - 0.3 <= t <= s["end"] + 0.3:
            return s
    return None
