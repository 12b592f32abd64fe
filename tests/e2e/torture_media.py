"""The torture set: footage as it really arrives, synthesized at test time.

Each file is a short talk (flite speech, sentences at known times) whose
picture shows a colour of its own while each sentence is spoken (grey in the
pauses), plus one sync mark: a white flash of FLASH_DUR seconds and a 1 kHz
beep that start at the same instant, in the pause just before the target
sentence (the one holding WORD). Each file then gets the real-world twist of
its case: a rotation tag, a transport-stream clock at an hour, dropped audio
packets, variable frame rate, 5.1 sound, a mid-stream audio format change,
10-bit HEVC, odd-size 4:4:4, MJPEG with mu-law, MP3 with cover art, a Latin-1
file name, an hour of silence.

make(name) writes the file once into MEDIA/torture/ (shared across tests)
and a JSON sidecar beside it: the timeline in *file time* (seconds from the
file's start as a player shows it), the flash time and what the case expects.
Only the ffmpeg CLI and flite are used; nothing is checked in.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import wave

import e2e_lib

DIR = os.path.join(e2e_lib.MEDIA, "torture")
WORD = "budget"
FLASH_DUR = 0.12
FLASH_LEAD = 0.6  # the mark starts this long before the target sentence
BEEP_HZ = 1000
GREY = "808080"
PALETTE = ["e02020", "20c020", "2040e0", "c020c0", "20c0c0", "f08020"]
TIMEOUT = 300  # no generator step may hang a test run

# Sentences recognized reliably by PocketSphinx in each voice; the one with
# WORD is the target.
SENTENCES = {
    "rms": ["Welcome to the morning news.", "The budget was approved by the council today.",
            "Rain is expected across the north this weekend."],
    "awb": ["Good evening and thank you for joining us.", "The city budget will be discussed tomorrow.",
            "Our football team played a great match."],
    "kal16": ["This is the radio report.", "Nobody expected the budget to pass so quickly.",
              "The weather will be warm and dry."],
}


def ffmpeg(args, **kw):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y"] + args, check=True, timeout=TIMEOUT, **kw)


def have_encoder(name):
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True,
                         timeout=60).stdout
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.startswith(" "))


def flite(text, voice, path):
    """Speech for text, cached across cases (flite is the slow step)."""
    import hashlib
    cached = os.path.join(DIR, "flite", hashlib.sha1((voice + "\n" + text).encode()).hexdigest() + ".wav")
    if not os.path.exists(cached):
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", cached + ".tmp.wav"], check=True,
                       timeout=TIMEOUT)
        os.replace(cached + ".tmp.wav", cached)
    shutil.copy(cached, path)
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getframerate(), w.readframes(w.getnframes())


class Talk:
    """Mono 16-bit speech with a beep, and the matching picture filter."""

    def __init__(self, tmp, voice, sentences, target, fps, lead=1.0, gap=1.5, tail=1.0):
        self.tmp, self.fps = tmp, fps
        pcm = bytearray()
        self.rate = None
        self.sentences = []
        for i, text in enumerate(sentences):
            r, data = flite(text, voice, os.path.join(tmp, "s%d.wav" % i))
            if self.rate is None:
                self.rate = r
                pcm += b"\0\0" * int(lead * r)
            elif r != self.rate:
                raise RuntimeError("flite changed rate within a voice")
            start = len(pcm) // 2 / r
            pcm += data
            end = len(pcm) // 2 / r
            pcm += b"\0\0" * int((gap if i + 1 < len(sentences) else tail) * r)
            self.sentences.append({"index": i, "text": text, "start": round(start, 4), "end": round(end, 4),
                                   "color": PALETTE[i % len(PALETTE)]})
        self.target = target
        # The mark starts on a frame boundary, so the flash's first frame
        # starts exactly with the beep.
        t = self.sentences[target]["start"] - FLASH_LEAD
        self.flash = math.floor(t * fps) / fps if fps else round(t, 3)
        n0, n = int(round(self.flash * self.rate)), int(round(FLASH_DUR * self.rate))
        ramp = int(0.001 * self.rate)
        for k in range(n):
            g = min(1.0, (k + 1) / ramp, (n - k) / ramp)
            v = int(14000 * g * math.sin(2 * math.pi * BEEP_HZ * k / self.rate))
            struct.pack_into("<h", pcm, 2 * (n0 + k), v)
        self.pcm = bytes(pcm)
        self.duration = len(pcm) // 2 / self.rate

    def wav(self, name="speech.wav"):
        path = os.path.join(self.tmp, name)
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(self.pcm)
        return path

    def boxes(self, w="iw", h="ih", flash_h="ih"):
        """drawbox chain: each sentence's colour while it is spoken, and the flash."""
        out = ["drawbox=x=0:y=0:w=%s:h=%s:color=0x%s@1:t=fill:enable='between(t,%.4f,%.4f)'"
               % (w, h, s["color"], s["start"], s["end"]) for s in self.sentences]
        # From a quarter frame early to half a frame short: exactly
        # FLASH_DUR*fps frames are white, whatever the rounding of t.
        out.append("drawbox=x=0:y=0:w=iw:h=%s:color=0xffffff@1:t=fill:enable='between(t,%.4f,%.4f)'"
                   % (flash_h, self.flash - 0.25 / self.fps, self.flash + FLASH_DUR - 0.5 / self.fps))
        return ",".join(out)

    def video_source(self, size, base=GREY):
        return ["-f", "lavfi", "-i", "color=c=0x%s:s=%s:r=%s:d=%.4f" % (base, size, self.fps, self.duration)]

    def meta(self, **extra):
        d = {"duration": round(self.duration, 4), "sentences": self.sentences, "word": WORD,
             "target": self.target, "flash": self.flash, "flash_dur": FLASH_DUR, "fps": self.fps}
        d.update(extra)
        return d


H264 = ["-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]


def plain_av(talk, out, size="640x360", vcodec=H264, acodec=AAC, extra=(), pre=""):
    """A talk as an ordinary video file with the given codecs."""
    ffmpeg(talk.video_source(size) + ["-i", talk.wav(),
           "-filter_complex", "[0:v]%s%s[v]" % (pre, talk.boxes()), "-map", "[v]", "-map", "1:a"]
           + list(vcodec) + list(acodec) + list(extra) + [out])


# --- measuring the sync marks ------------------------------------------------

MARK_RATE = 48000


def decode_marks(path, video=True, audio=True, start=None, timeout=TIMEOUT):
    """Decodes a file with the ffmpeg CLI and returns (frames, pcm, t0):
    frames as [(file time, mean luma 0..255)], the sound as mono 16-bit at
    MARK_RATE placed by each frame's timestamp (holes stay silent), t0 the
    file time of pcm[0]. Times are file times (ffmpeg subtracts the
    container's start time); rotation is applied as a player would.
    start: decode only from this file time on."""
    import array
    cmd = ["ffmpeg", "-v", "info", "-nostdin", "-hide_banner"]
    if start is not None:
        cmd += ["-ss", "%.3f" % start]
    cmd += ["-i", os.fsdecode(path) if isinstance(path, bytes) else path]
    graph, maps = [], []
    tmp = tempfile.NamedTemporaryFile(suffix=".pcm", delete=False)
    tmp.close()
    try:
        if video:
            graph.append("[0:V:0]scale=32:32,format=gray,showinfo[v]")
            maps += ["-map", "[v]", "-f", "null", "-"]
        if audio:
            graph.append("[0:a:0]aresample=%d,aformat=sample_fmts=s16:channel_layouts=mono,ashowinfo[a]"
                         % MARK_RATE)
            maps += ["-map", "[a]", "-f", "s16le", "-y", tmp.name]
        p = subprocess.run(cmd + ["-filter_complex", ";".join(graph)] + maps, capture_output=True,
                           timeout=timeout)
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0:
            raise RuntimeError("ffmpeg could not decode %r: %s" % (path, err[-2000:]))
        raw = array.array("h")
        with open(tmp.name, "rb") as f:
            raw.frombytes(f.read())
    finally:
        os.unlink(tmp.name)
    shift = start or 0.0
    frames, chunks = [], []
    for line in err.splitlines():
        if "pts_time:" not in line:
            continue
        t = float(line.split("pts_time:")[1].split()[0]) + shift
        if "Parsed_showinfo" in line and "mean:[" in line:
            frames.append((t, float(line.split("mean:[")[1].split("]")[0].split()[0])))
        elif "Parsed_ashowinfo" in line:
            chunks.append((t, int(line.split("nb_samples:")[1].split()[0])))
    pcm = array.array("h")
    t0 = chunks[0][0] if chunks else 0.0
    at = 0
    for t, n in chunks:
        dst = int(round((t - t0) * MARK_RATE))
        if dst > len(pcm):
            pcm.extend(array.array("h", bytes(2 * (dst - len(pcm)))))
        del pcm[dst:]
        pcm.extend(raw[at:at + n])
        at += n
    return frames, pcm, t0


def flashes(frames, threshold=200):
    """File times of the first frame of each run of white frames."""
    out, bright = [], False
    for t, y in frames:
        if y >= threshold and not bright:
            out.append(t)
        bright = y >= threshold
    return out


def beeps(pcm, t0, rate=MARK_RATE):
    """File times of the onsets of the BEEP_HZ tones in pcm: 10 ms windows
    where that tone holds most of the energy, refined to the first sample
    above a third of the tone's peak."""
    import operator
    win, hop = rate // 100, rate // 200
    cosw = [math.cos(2 * math.pi * BEEP_HZ * k / rate) for k in range(win)]
    sinw = [math.sin(2 * math.pi * BEEP_HZ * k / rate) for k in range(win)]
    hits = []
    for i in range(0, len(pcm) - win, hop):
        seg = pcm[i:i + win]
        e = sum(map(operator.mul, seg, seg))
        if e < win * 1500.0 ** 2:
            continue
        c, s = sum(map(operator.mul, seg, cosw)), sum(map(operator.mul, seg, sinw))
        if 2 * (c * c + s * s) / win > 0.6 * e:
            hits.append(i)
    out = []
    for i in hits:
        if out and i - out[-1][1] <= 2 * win:
            out[-1][1] = i
        else:
            out.append([i, i])
    times = []
    for a, b in out:
        lo = max(0, a - win)
        peak = max(abs(x) for x in pcm[a:b + win])
        k = next(k for k in range(lo, b + win) if abs(pcm[k]) >= peak / 3)
        times.append(t0 + k / rate)
    return times


# --- the cases -------------------------------------------------------------

def start_time(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0",
                          path], capture_output=True, text=True, check=True, timeout=60).stdout
    return float(out.strip())


def set_rotation_90(path):
    """Writes the display matrix a phone writes for a clip held upright
    (rotate the stored picture 90 degrees clockwise to show it) into the video
    track header of an MP4. Debian's ffmpeg 5.1 neither honours
    `-metadata:s:v rotate=90` nor has `-display_rotation`."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        at = 0
        patched = 0
        while True:
            at = data.find(b"tkhd", at + 1)
            if at < 0:
                break
            box = at - 4
            version = data[at + 4]
            matrix = box + (48 if version == 0 else 60)
            width, height = struct.unpack_from(">II", data, matrix + 36)
            if width == 0 or height == 0:
                continue  # the sound track
            identity = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
            if bytes(data[matrix:matrix + 36]) != identity:
                raise RuntimeError("%s: unexpected track matrix" % path)
            struct.pack_into(">9i", data, matrix, 0, 0x10000, 0, -0x10000, 0, 0, (height >> 16) << 16, 0,
                             0x40000000)
            patched += 1
        if patched != 1:
            raise RuntimeError("%s: %d video track headers" % (path, patched))
        f.seek(0)
        f.write(data)


def make_rotated(tmp, out):
    """A phone clip held upright (360x640 as shown) stored sideways (640x360)
    with a 90-degree rotation tag: the top half of the shown picture is the
    sentence colour, the bottom half always dark blue."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, 25)
    ffmpeg(t.video_source("360x640", base="202080") + ["-i", t.wav(), "-filter_complex",
           "[0:v]%s,transpose=cclock[v]" % t.boxes(h="ih/2", flash_h="ih"),
           "-map", "[v]", "-map", "1:a"] + H264 + AAC + [out])
    set_rotation_90(out)
    return t.meta(display_size=[360, 640], stored_size=[640, 360], bottom_color="202080")


def make_ts_offset(tmp, out):
    """A broadcast capture: MPEG-TS (H.264 + AAC) whose clock starts at 3600 s."""
    t = Talk(tmp, "awb", SENTENCES["awb"], 1, 25)
    plain_av(t, out, extra=["-output_ts_offset", "3600", "-f", "mpegts"])
    return t.meta(clock_start=3600)


def make_audio_hole(tmp, out):
    """Audio packets missing (a dropped span from the middle of sentence 0 to
    just after it) in a Matroska file; the video is whole. Everything after
    the hole must be found at the time it is really spoken."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, 25)
    whole = os.path.join(tmp, "whole.mkv")
    plain_av(t, whole)
    s0 = t.sentences[0]
    hole = (round((s0["start"] + s0["end"]) / 2, 3), round(s0["end"] + 0.3, 3))
    ffmpeg(["-i", whole, "-c", "copy", "-bsf:a",
            "noise=drop=gte(pts*tb\\,%.3f)*lte(pts*tb\\,%.3f)" % hole, out])
    return t.meta(hole=list(hole))


def make_vfr(tmp, out):
    """A screen/phone-style recording at variable frame rate: 30 fps with
    irregularly dropped frames, and a stretch at 10 fps, timestamps kept."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, 30)
    f0 = int(round(t.flash * 30))
    slow = (t.sentences[0]["start"], t.sentences[0]["end"])
    # Keep the flash's first frame; elsewhere drop irregularly.
    keep = ("eq(n,%d)+if(between(t,%.3f,%.3f),not(mod(n,3)),not(eq(mod(n,7),3))*not(eq(mod(n,5),1)))"
            % (f0, slow[0], slow[1]))
    ffmpeg(t.video_source("640x360") + ["-i", t.wav(), "-filter_complex",
           "[0:v]%s,select='%s'[v]" % (t.boxes(), keep), "-map", "[v]", "-map", "1:a", "-fps_mode", "vfr"]
           + H264 + AAC + [out])
    return t.meta(vfr=True)


def make_surround(tmp, out):
    """Film sound: 5.1 AC-3 in Matroska with the voice (and the beep) only in
    the centre channel; the other five channels are silent."""
    t = Talk(tmp, "awb", SENTENCES["awb"], 1, 25)
    plain_av(t, out, acodec=["-af", "pan=5.1|FC=c0", "-c:a", "ac3", "-b:a", "384k", "-ar", "48000"])
    return t.meta(channels=6)


def make_format_change(tmp, out):
    """Two MPEG-TS captures joined byte by byte: the first with 44.1 kHz
    stereo AAC, the second (its clock continuing) with 22.05 kHz mono AAC.
    The target sentence is in the second piece."""
    t = Talk(tmp, "kal16", SENTENCES["kal16"] + ["Teachers say the new rules help every school."], 1, 25,
             lead=0.5)
    # Split in the pause after sentence 0, on a frame boundary. No B-frames:
    # the TS muxer would shift the first piece's clock (not the second's) to
    # keep its decode times positive, and the pieces would overlap. The
    # clock starts at 10 s for the same reason: the muxer shifts a piece
    # whose first (priming) audio timestamp would be negative.
    split = math.floor((t.sentences[0]["end"] + 0.4) * 25) / 25
    speech = t.wav()
    pieces = []
    for k, (a, b, ar, ac) in enumerate([(0, split, 44100, 2), (split, t.duration, 22050, 1)]):
        piece = os.path.join(tmp, "piece%d.ts" % k)
        ffmpeg(t.video_source("640x360") + ["-i", speech, "-filter_complex",
               "[0:v]%s,trim=start=%.4f:end=%.4f,setpts=PTS-STARTPTS[v];"
               "[1:a]atrim=start=%.4f:end=%.4f,asetpts=PTS-STARTPTS[a]" % (t.boxes(), a, b, a, b),
               "-map", "[v]", "-map", "[a]"] + H264 + AAC + ["-bf", "0", "-ar", str(ar), "-ac", str(ac),
               "-output_ts_offset", "%.4f" % (a + 10), "-f", "mpegts", piece])
        pieces.append(piece)
    with open(out, "wb") as f:
        for p in pieces:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, f)
    # The mark is measured in the second piece alone: the ffmpeg CLI itself
    # does not decode the joined file's sound at its timestamps (it loses
    # about 0.16 s at the change), so it is no reference there. The joined
    # file's packets are the pieces' packets, so the piece's file time plus
    # the difference of start times is the joined file's time.
    shift = start_time(pieces[1]) - start_time(out)
    return t.meta(split=split, formats=[[44100, 2], [22050, 1]], mark_source=pieces[1], mark_shift=shift)


def make_hevc10(tmp, out):
    """10-bit HEVC (Main 10) with AAC in MP4."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, 25)
    plain_av(t, out, vcodec=["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                             "-x265-params", "log-level=error", "-tag:v", "hvc1"])
    return t.meta(pix_fmt="yuv420p10le")


def make_odd444(tmp, out):
    """853x479 H.264 High 4:4:4 with AAC in MP4."""
    t = Talk(tmp, "awb", SENTENCES["awb"], 1, 25)
    # lavfi's colour source rounds sizes to even: crop in 4:4:4 instead.
    plain_av(t, out, size="854x480", vcodec=["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv444p"],
             pre="format=yuv444p,crop=853:479:0:0,")
    return t.meta(size=[853, 479])


def make_mjpeg_mulaw(tmp, out):
    """An archive capture: MJPEG video with 8 kHz mono mu-law sound in AVI.
    (The rms voice: PocketSphinx reads kal16 cut to telephone band badly,
    whoever cuts it.)"""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, 25)
    plain_av(t, out, size="320x240", vcodec=["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p"],
             acodec=["-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1"])
    return t.meta()


def make_mp3_cover(tmp, out):
    """An MP3 podcast episode with a bright cover picture (attached picture):
    it must render like audio only, over black, not as a video."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, None)
    cover = os.path.join(tmp, "cover.jpg")
    ffmpeg(["-f", "lavfi", "-i", "color=c=0xff00ff:s=300x300:d=1", "-frames:v", "1", cover])
    ffmpeg(["-i", t.wav(), "-i", cover, "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-b:a", "96k",
            "-ar", "44100", "-c:v", "copy", "-disposition:v", "attached_pic", "-id3v2_version", "3",
            "-metadata:s:v", "title=Album cover", "-metadata:s:v", "comment=Cover (front)", out])
    return t.meta(audio_only=True, cover_color="ff00ff")


LATIN1_NAME = b"caf\xe9_r\xe9sum\xe9.mp4"


def make_latin1(tmp, out):
    """An ordinary H.264/AAC talk whose file name is Latin-1 (not UTF-8)."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, 25)
    plain_av(t, out)
    return t.meta()


def make_long(tmp, out, hours):
    """Hours of digital silence (audio only, 16 kHz mono FLAC) with the talk
    near the end."""
    t = Talk(tmp, "rms", SENTENCES["rms"], 1, None)
    offset = hours * 3600 - t.duration - 5.0
    ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=%d:cl=mono" % t.rate, "-i", t.wav(), "-filter_complex",
            "[0:a]atrim=end_sample=%d[s];[1:a]apad=pad_dur=5[t];[s][t]concat=n=2:v=0:a=1[a]"
            % int(round(offset * t.rate)), "-map", "[a]", "-c:a", "flac", "-compression_level", "0", out])
    meta = t.meta(audio_only=True, offset=offset)
    for s in meta["sentences"]:
        s["start"] = round(s["start"] + offset, 4)
        s["end"] = round(s["end"] + offset, 4)
    meta["flash"] = round(t.flash + offset, 4)
    meta["duration"] = round(offset + t.duration + 5.0, 4)
    return meta


CASES = {
    "rotated": ("phone_rotated.mp4", make_rotated),
    "ts_offset": ("broadcast_3600.ts", make_ts_offset),
    "audio_hole": ("audio_hole.mkv", make_audio_hole),
    "vfr": ("screen_vfr.mp4", make_vfr),
    "surround": ("film_51.mkv", make_surround),
    "format_change": ("joined_captures.ts", make_format_change),
    "hevc10": ("hevc_main10.mp4", make_hevc10),
    "odd444": ("odd_853x479_444.mp4", make_odd444),
    "mjpeg_mulaw": ("archive_mjpeg_mulaw.avi", make_mjpeg_mulaw),
    "mp3_cover": ("podcast_cover.mp3", make_mp3_cover),
    "latin1": (LATIN1_NAME, make_latin1),
    "long1h": ("silence_1h.flac", lambda tmp, out: make_long(tmp, out, 1)),
    "long3h": ("silence_3h.flac", lambda tmp, out: make_long(tmp, out, 3)),
}
DEFAULT = [n for n in CASES if n != "long3h"]


class Unavailable(Exception):
    """The case cannot be made here (an encoder is missing)."""


def path_of(name):
    fname = CASES[name][0]
    if isinstance(fname, bytes):
        return os.path.join(os.fsencode(DIR), fname)
    return os.path.join(DIR, fname)


def make(name):
    """Path of the case's file (bytes for the Latin-1 name); made on first use."""
    fname, fn = CASES[name]
    if name == "hevc10" and not have_encoder("libx265"):
        raise Unavailable("ffmpeg has no libx265 encoder: 10-bit HEVC case not made")
    os.makedirs(DIR, exist_ok=True)
    path = path_of(name)
    side = os.path.join(DIR, name + ".json")
    if os.path.exists(side) and os.path.exists(path):
        return path
    with tempfile.TemporaryDirectory(prefix="sf-torture-") as tmp:
        ext = os.path.splitext(os.fsdecode(fname))[1]
        out = os.path.join(tmp, "out" + ext)
        meta = fn(tmp, out)
        # Where the mark really is in file time, as ffmpeg decodes the file:
        # containers put content time 0 a little after file time 0 (audio
        # priming, muxing delay); every expected time is shifted by that.
        audio_only = meta.get("audio_only", False)
        start = meta["flash"] - 5 if meta["flash"] > 60 else None
        frames, pcm, t0 = decode_marks(meta.pop("mark_source", out), video=not audio_only, start=start)
        shift = meta.pop("mark_shift", 0.0)
        b = [x + shift for x in beeps(pcm, t0)]
        f = [x + shift for x in flashes(frames)] if not audio_only else b
        if len(b) != 1 or len(f) != 1 or abs(b[0] - f[0]) > 0.003:
            raise RuntimeError("%s: sync mark not made right: flashes %s, beeps %s" % (name, f, b))
        meta["zero"] = round(f[0] - meta["flash"], 4)
        if not 0 <= meta["zero"] < 0.1:
            raise RuntimeError("%s: content starts %.3f s after the file start" % (name, meta["zero"]))
        for s in meta["sentences"]:
            s["start"] = round(s["start"] + meta["zero"], 4)
            s["end"] = round(s["end"] + meta["zero"], 4)
        meta["flash"] = round(f[0], 4)
        meta["beep"] = round(b[0], 4)
        meta["case"] = name
        meta["file"] = os.fsdecode(fname)
        os.replace(out, path)
        with open(side + ".tmp", "w") as f:
            json.dump(meta, f, indent=1)
        os.replace(side + ".tmp", side)
    return path


def meta(name):
    with open(os.path.join(DIR, name + ".json")) as f:
        return json.load(f)


def make_all(names=None):
    for n in names or DEFAULT:
        try:
            make(n)
        except Unavailable as e:
            print("skipped:", e)


if __name__ == "__main__":
    import sys
    make_all(sys.argv[1:])
