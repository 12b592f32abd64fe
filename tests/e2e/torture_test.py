"""End-to-end tests of `studioflow supercut` on the torture set (see
torture_media.py): footage as it really arrives. For each file the supercut
of its target word must hold the right sentence, report file times, keep
picture and sound within one frame of each other (a flash and a beep that
start together in the source must start together in the output), keep the
picture upright, and finish: every subprocess has a timeout.

TortureMedia checks that each generated file really has the property its
case claims (with ffprobe / the ffmpeg CLI), so a failure in the other
classes is the program's, not the generator's.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import e2e_lib
import torture_media as tm

RUN_TIMEOUT = 120  # one short input; far beyond what a working run takes
# The mark is FLASH_LEAD before the target sentence and the word is at most
# 1.9 s into it, so a clip padded this much holds the mark.
PAD_BEFORE = 2.5
# Enough after the word for the whole sentence: PocketSphinx misreads a
# sentence cut short (8 kHz speech especially), whoever cuts it.
PAD_AFTER = 2.0
TOL = 0.25  # recognizer word-time error allowed on sentence bounds


def sf(args, timeout=RUN_TIMEOUT):
    """Runs the binary with str or bytes arguments; stdout/stderr as text."""
    argv = [os.fsencode(e2e_lib.BINARY)] + [a if isinstance(a, bytes) else os.fsencode(a) for a in args]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("studioflow %s did not finish within %d s" % (
            " ".join(os.fsdecode(a) for a in args), timeout))
    p.stdout_text = p.stdout.decode("utf-8", "replace")
    p.stderr_text = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        raise AssertionError("studioflow %s crashed (signal %d): %s" % (
            " ".join(os.fsdecode(a) for a in args), -p.returncode, p.stderr_text[-3000:]))
    return p


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          path], capture_output=True, check=True, timeout=60).stdout
    return json.loads(out)


def video_stream(info):
    vs = [s for s in info["streams"] if s["codec_type"] == "video"
          and not s.get("disposition", {}).get("attached_pic")]
    return vs[0] if vs else None


def displayed_size(v):
    rot = 0
    for sd in v.get("side_data_list", []):
        if "rotation" in sd:
            rot = int(sd["rotation"])
    w, h = v["width"], v["height"]
    return (h, w) if rot % 180 else (w, h)


def rate(s):
    n, d = s.split("/")
    return float(n) / float(d) if float(d) else 0.0


def picture_halves(path, t):
    """Mean RGB of the top and the bottom half of the picture shown at t."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-ss", "%.3f" % t, "-i", path, "-frames:v", "1",
                          "-vf", "scale=8:16", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    if len(raw) != 8 * 16 * 3:
        raise AssertionError("no picture at %.3f s in %s" % (t, path))
    half = len(raw) // 2

    def mean(b):
        n = len(b) // 3
        return tuple(sum(b[i::3]) / n for i in range(3))
    return mean(raw[:half]), mean(raw[half:])


def transcribe_words(path):
    p = sf(["-q", "transcribe", "-i", path, "--format", "json"])
    if p.returncode != 0:
        raise AssertionError("transcribing the output failed (%d): %s" % (p.returncode, p.stderr_text))
    d = json.loads(p.stdout_text)
    return [w for s in d["segments"] for w in s["words"]]


class Torture(unittest.TestCase):
    CASE = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-torture-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def source(self, name):
        try:
            src = tm.make(name)
        except tm.Unavailable as e:
            self.skipTest(str(e))
        return src, tm.meta(name)

    def supercut(self, name, extra=(), timeout=RUN_TIMEOUT):
        """Cuts the case's target word; checks everything every case shares
        and returns (meta, report clip, output ffprobe info)."""
        src, m = self.source(name)
        out, rep = os.path.join(self.dir, "cut.mp4"), os.path.join(self.dir, "cut.json")
        p = sf(["supercut", "-i", src, "-w", m["word"], "-o", out, "--report", rep, "--padding-before",
                str(PAD_BEFORE), "--padding-after", str(PAD_AFTER), "--merge-gap", "0"] + list(extra), timeout=timeout)
        self.assertEqual(p.returncode, 0, "supercut of %r failed: %s" % (src, p.stderr_text[-3000:]))
        with open(rep, "rb") as f:
            raw = f.read()
        report = json.loads(raw.decode("utf-8"))  # a report is valid UTF-8 JSON
        clips = report["clips"]
        s = m["sentences"][m["target"]]
        self.assertEqual(len(clips), 1, "one '%s' is said, at %.2f-%.2f s; clips: %s" % (
            m["word"], s["start"], s["end"], clips))
        c = clips[0]
        # Each property below is checked on its own (subTest), so one run
        # tells every way a case goes wrong.
        with self.subTest("report times are file times"):
            # The word lies in the target sentence, so the padded clip
            # starts PAD_BEFORE before a point inside it.
            self.assertGreaterEqual(c["start"], s["start"] - PAD_BEFORE - TOL,
                                    "clip %s is not at the sentence %s (file time)" % (c, s))
            self.assertLessEqual(c["start"], s["end"] - PAD_BEFORE + TOL,
                                 "clip %s is not at the sentence %s (file time)" % (c, s))
            self.assertGreaterEqual(c["end"], s["start"] + 1.0, "clip %s ends before the sentence %s" % (c, s))
            self.assertLessEqual(c["end"], s["end"] + PAD_AFTER + TOL, "clip %s runs past the sentence %s" % (c, s))
        info = probe(out)
        self.assertEqual(len([x for x in info["streams"] if x["codec_type"] == "audio"]), 1)
        v = video_stream(info)
        self.assertIsNotNone(v, "the output has no video stream")
        with self.subTest("output is even-sized yuv420p"):
            self.assertEqual(v["pix_fmt"], "yuv420p")
            self.assertEqual((v["width"] % 2, v["height"] % 2), (0, 0))
        self.m, self.clip, self.info, self.out, self.report = m, c, info, out, report
        return m, c, info

    def checks(self, **named):
        """Runs each named check as its own subTest."""
        for name, fn in named.items():
            with self.subTest(name):
                fn()

    def output_time(self, t):
        return self.clip["output_start"] + (t - self.clip["start"])

    def check_words(self, picture="colour"):
        """The output says the target word inside the target sentence's span
        and, while it is said, shows that sentence's picture."""
        m, c = self.m, self.clip
        s = m["sentences"][m["target"]]
        words = transcribe_words(self.out)
        said = [w for w in words if w["word"].lower() == m["word"]]
        self.assertEqual(len(said), 1, "the output should say '%s' once: %s" % (
            m["word"], [w["word"] for w in words]))
        w = said[0]
        self.assertGreaterEqual(w["start"], self.output_time(s["start"]) - TOL, (w, c, s))
        self.assertLessEqual(w["end"], self.output_time(s["end"]) + TOL, (w, c, s))
        mid = (w["start"] + w["end"]) / 2
        if picture == "colour":
            rgb = e2e_lib.frame_rgb(self.out, mid)
            self.assertLess(e2e_lib.color_distance(rgb, s["color"]), 40,
                            "while '%s' is said the picture is %s, expected #%s" % (m["word"], rgb, s["color"]))
        elif picture == "black":
            rgb = e2e_lib.frame_rgb(self.out, mid)
            self.assertLess(max(rgb), 30, "audio-only input should render over black, got %s" % (rgb,))
        return w

    def check_sync(self, video=True):
        """The flash and the beep come out where the report puts the source
        mark, and together: within one output frame."""
        fps = rate(video_stream(self.info)["avg_frame_rate"])
        frame = 1.0 / fps
        expected = self.output_time(self.m["flash"])
        self.assertTrue(self.clip["start"] <= self.m["flash"] and self.m["flash"] + tm.FLASH_DUR <= self.clip["end"],
                        "the clip %s does not hold the mark at %.3f s" % (self.clip, self.m["flash"]))
        frames, pcm, t0 = tm.decode_marks(self.out, video=video)
        b = tm.beeps(pcm, t0)
        f = tm.flashes(frames) if video else []
        sys.stderr.write("%s: mark expected at %.3f s of the output; beeps %s, flashes %s\n" % (
            self.m["case"], expected, ["%.3f" % x for x in b], ["%.3f" % x for x in f]))
        self.assertEqual(len(b), 1, "one beep expected at %.3f s of the output, found %s" % (expected, b))
        self.assertLessEqual(abs(b[0] - expected), frame + 0.002,
                             "the beep is at %.3f s of the output, the report puts it at %.3f s" % (b[0], expected))
        if video:
            self.assertEqual(len(f), 1, "one flash expected at %.3f s of the output, found %s" % (expected, f))
            self.assertLessEqual(abs(f[0] - expected), frame + 0.002,
                                 "the flash is at %.3f s of the output, the report puts it at %.3f s"
                                 % (f[0], expected))
            self.assertLessEqual(abs(f[0] - b[0]), frame + 0.002,
                                 "picture and sound out of sync: flash at %.3f s, beep at %.3f s (%+.0f ms)"
                                 % (f[0], b[0], 1000 * (b[0] - f[0])))
        return frames

    def check_size(self, w, h):
        v = video_stream(self.info)
        self.assertEqual(displayed_size(v), (w, h), "output picture as shown")


class TortureRotated(Torture):
    def test_phone_clip_comes_out_upright_at_its_displayed_size(self):
        m, c, info = self.supercut("rotated")

        def upright():
            w = self.check_words(picture=None)
            s = m["sentences"][m["target"]]
            top, bottom = picture_halves(self.out, (w["start"] + w["end"]) / 2)
            self.assertLess(e2e_lib.color_distance(top, s["color"]), 40,
                            "top half should be #%s (upright), got %s / bottom %s" % (s["color"], top, bottom))
            self.assertLess(e2e_lib.color_distance(bottom, m["bottom_color"]), 40,
                            "bottom half should be #%s (upright), got %s" % (m["bottom_color"], bottom))
        self.checks(size=lambda: self.check_size(*m["display_size"]), upright_with_the_word=upright,
                    sync=self.check_sync)


class TortureTransportStreamClock(Torture):
    def test_ts_starting_at_an_hour_gives_file_times(self):
        m, c, info = self.supercut("ts_offset")
        self.checks(size=lambda: self.check_size(640, 360), words=self.check_words, sync=self.check_sync)


class TortureAudioHole(Torture):
    def test_words_after_dropped_audio_packets_are_at_their_real_time(self):
        self.supercut("audio_hole")
        self.checks(words=self.check_words, sync=self.check_sync)


class TortureVariableFrameRate(Torture):
    def test_vfr_input_cut_by_timestamp_into_constant_rate(self):
        self.supercut("vfr")

        def constant_rate():
            frames, _, _ = tm.decode_marks(self.out, audio=False)
            steps = sorted({round(b[0] - a[0], 4) for a, b in zip(frames, frames[1:])})
            self.assertLessEqual(steps[-1] - steps[0], 0.0011, "output frame steps are not constant: %s" % steps)
        self.checks(words=self.check_words, sync=self.check_sync, constant_rate=constant_rate)


class TortureSurround(Torture):
    def test_51_with_voice_only_in_the_centre(self):
        self.supercut("surround")
        self.checks(words=self.check_words, sync=self.check_sync)


class TortureFormatChange(Torture):
    def test_joined_captures_with_a_mid_stream_audio_format_change(self):
        self.supercut("format_change")
        self.checks(words=self.check_words, sync=self.check_sync)


class TortureHevc10(Torture):
    def test_hevc_main10(self):
        self.supercut("hevc10")
        self.checks(size=lambda: self.check_size(640, 360), words=self.check_words, sync=self.check_sync)


class TortureOdd444(Torture):
    def test_odd_size_444(self):
        m, c, info = self.supercut("odd444")

        def size():
            w, h = displayed_size(video_stream(info))
            self.assertLessEqual(abs(w - 853), 1, (w, h))
            self.assertLessEqual(abs(h - 479), 1, (w, h))
        self.checks(size=size, words=self.check_words, sync=self.check_sync)


class TortureMjpegMulaw(Torture):
    def test_mjpeg_with_8khz_mulaw(self):
        self.supercut("mjpeg_mulaw")
        self.checks(size=lambda: self.check_size(320, 240), words=self.check_words, sync=self.check_sync)


class TortureMp3Cover(Torture):
    def test_cover_art_is_not_video(self):
        self.supercut("mp3_cover")
        self.checks(words=lambda: self.check_words(picture="black"), sync=lambda: self.check_sync(video=False))


class TortureLatin1Name(Torture):
    def test_file_name_that_is_not_utf8(self):
        self.supercut("latin1")
        self.checks(report_names_the_input=lambda: self.assertIn("caf", self.report["inputs"][0]["path"]),
                    words=self.check_words, sync=self.check_sync)

    def test_missing_latin1_name_is_a_clear_error(self):
        missing = os.path.join(os.fsencode(self.dir), b"r\xe9sum\xe9.mp4")
        p = sf(["supercut", "-i", missing, "-w", "budget", "-o", os.path.join(self.dir, "x.mp4")])
        self.assertEqual(p.returncode, 3, p.stderr_text)
        self.assertIn("sum", p.stderr_text)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.mp4")))


class TortureLongSilence(Torture):
    def check_long(self, name, timeout):
        self.supercut(name, timeout=timeout)
        self.checks(words=lambda: self.check_words(picture="black"), sync=lambda: self.check_sync(video=False))

    def test_hour_of_silence_with_a_talk_at_the_end(self):
        self.check_long("long1h", RUN_TIMEOUT)

    @unittest.skipUnless(os.environ.get("SF_LONG_TESTS") == "1", "3-hour input: set SF_LONG_TESTS=1")
    def test_three_hours_of_silence_with_a_talk_at_the_end(self):
        self.check_long("long3h", 3 * RUN_TIMEOUT)


class TortureMedia(unittest.TestCase):
    """Each generated file has the property its case claims, and its sync
    mark is where the sidecar says (checked when the file is made)."""

    def load(self, name):
        try:
            return tm.make(name), tm.meta(name)
        except tm.Unavailable as e:
            self.skipTest(str(e))

    def streams(self, path, kind):
        return [s for s in probe(path)["streams"] if s["codec_type"] == kind]

    def test_marks_and_timelines(self):
        for name in tm.DEFAULT:
            with self.subTest(name):
                path, m = self.load(name)
                self.assertLess(abs(m["flash"] - m["beep"]), 0.003)
                s = m["sentences"][m["target"]]
                self.assertIn(m["word"], s["text"].lower())
                self.assertAlmostEqual(s["start"] - m["flash"], tm.FLASH_LEAD, delta=1.0 / 25)

    def test_rotated(self):
        path, m = self.load("rotated")
        v = self.streams(path, "video")[0]
        self.assertEqual((v["width"], v["height"]), (640, 360))
        self.assertEqual(displayed_size(v), (360, 640))
        top, bottom = picture_halves(path, m["sentences"][m["target"]]["start"] + 0.5)
        self.assertLess(e2e_lib.color_distance(top, m["sentences"][m["target"]]["color"]), 40)
        self.assertLess(e2e_lib.color_distance(bottom, m["bottom_color"]), 40)

    def test_ts_offset(self):
        path, m = self.load("ts_offset")
        info = probe(path)
        self.assertEqual(info["format"]["format_name"], "mpegts")
        self.assertGreaterEqual(float(info["format"]["start_time"]), 3600)

    def test_audio_hole(self):
        path, m = self.load("audio_hole")
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                              "packet=pts_time,duration_time", "-of", "csv=p=0", path],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        pk = [tuple(map(float, l.split(","))) for l in out.split()]
        gaps = [(a[0] + a[1], b[0]) for a, b in zip(pk, pk[1:]) if b[0] - (a[0] + a[1]) > 0.5]
        self.assertEqual(len(gaps), 1, gaps)
        self.assertAlmostEqual(gaps[0][0], m["hole"][0], delta=0.1)
        self.assertAlmostEqual(gaps[0][1], m["hole"][1], delta=0.1)

    def test_vfr(self):
        path, m = self.load("vfr")
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                              "packet=pts_time", "-of", "csv=p=0", path],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        pts = sorted(float(x) for x in out.split())
        steps = {round(b - a, 3) for a, b in zip(pts, pts[1:])}
        self.assertGreaterEqual(len(steps), 3, steps)

    def test_surround(self):
        path, m = self.load("surround")
        a = self.streams(path, "audio")[0]
        self.assertEqual(a["channels"], 6)
        # Per-channel peak levels: only the centre carries sound.
        p = subprocess.run(["ffmpeg", "-v", "info", "-nostdin", "-i", path, "-map", "0:a", "-af",
                            "astats=measure_overall=none:measure_perchannel=Peak_level", "-f", "null", "-"],
                           capture_output=True, text=True, timeout=60)
        peaks = [float(l.split("Peak level dB:")[1]) if "inf" not in l.split("Peak level dB:")[1] else -999
                 for l in p.stderr.splitlines() if "Peak level dB:" in l]
        self.assertEqual(len(peaks), 6, p.stderr[-2000:])
        loud = [i for i, x in enumerate(peaks) if x > -60]
        self.assertEqual(loud, [2], peaks)  # FL FR FC LFE SL SR

    def test_format_change(self):
        path, m = self.load("format_change")
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_frames", "-show_entries",
                              "frame=sample_rate,channels", "-of", "csv=p=0", path],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        formats = []
        for line in out.split():
            f = [int(x) for x in line.split(",") if x]
            if not formats or formats[-1] != f:
                formats.append(f)
        self.assertEqual(len(formats), 2, formats)

    def test_hevc10(self):
        path, m = self.load("hevc10")
        v = self.streams(path, "video")[0]
        self.assertEqual((v["codec_name"], v["pix_fmt"]), ("hevc", "yuv420p10le"))

    def test_odd444(self):
        path, m = self.load("odd444")
        v = self.streams(path, "video")[0]
        self.assertEqual((v["codec_name"], v["pix_fmt"], v["width"], v["height"]), ("h264", "yuv444p", 853, 479))

    def test_mjpeg_mulaw(self):
        path, m = self.load("mjpeg_mulaw")
        v, a = self.streams(path, "video")[0], self.streams(path, "audio")[0]
        self.assertEqual(v["codec_name"], "mjpeg")
        self.assertEqual((a["codec_name"], a["sample_rate"], a["channels"]), ("pcm_mulaw", "8000", 1))

    def test_mp3_cover(self):
        path, m = self.load("mp3_cover")
        info = probe(path)
        self.assertEqual(info["format"]["format_name"], "mp3")
        v = [s for s in info["streams"] if s["codec_type"] == "video"]
        self.assertEqual(len(v), 1)
        self.assertEqual(v[0]["disposition"]["attached_pic"], 1)

    def test_latin1(self):
        path, m = self.load("latin1")
        self.assertIsInstance(path, bytes)
        with self.assertRaises(UnicodeDecodeError):
            os.path.basename(path).decode("utf-8")
        self.assertTrue(os.path.exists(path))

    def test_long(self):
        path, m = self.load("long1h")
        info = probe(path)
        self.assertGreaterEqual(float(info["format"]["duration"]), 3599)
        self.assertEqual(video_stream(info), None)


if __name__ == "__main__":
    unittest.main()
