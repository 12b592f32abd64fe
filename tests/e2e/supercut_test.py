"""End-to-end tests of `studioflow supercut` and `transcribe` on synthesized
talks: the right sentences, in the right order, with matching pictures and
sound, and clear errors with no output for every bad input."""
import glob
import json
import os
import shutil
import tempfile
import unittest

from e2e_lib import (run, talk, timeline, ffprobe, frame_rgb, color_distance, transcribe, sentence_at)



def load(path):
    with open(path) as f:
        return json.load(f)


EXIT_USAGE, EXIT_BAD_INPUT, EXIT_NO_MATCH, EXIT_OUTPUT = 2, 3, 4, 5


class Workdir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-e2e-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def assert_no_output(self, *names):
        for n in names:
            self.assertFalse(os.path.exists(self.path(n)), "%s should not exist" % n)
        self.assertEqual(glob.glob(os.path.join(self.dir, ".*partial*")), [], "partial file left behind")


class SupercutAcrossInputs(Workdir):
    """Three inputs (H.264/AAC MP4 640x360@25, VP9/Opus WebM 480x270@30, AAC
    audio only): every 'budget' in order, right pictures, right sound."""

    def test_right_clips_in_order_with_pictures_and_sound(self):
        inputs = [talk("a"), talk("b"), talk("c")]
        out, rep = self.path("cut.mp4"), self.path("cut.json")
        p = run(["supercut", "-i"] + inputs + ["-w", "budget", "-o", out, "--report", rep])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rep) as f:
            report = json.load(f)
        clips = report["clips"]

        # Every sentence with "budget" gives one clip, in (input, time) order.
        expected = []
        for i, path in enumerate(inputs):
            for s in timeline(path)["sentences"]:
                if "budget" in s["text"].lower():
                    expected.append((i, s))
        self.assertEqual([c["input"] for c in clips], [i for i, _ in expected])
        keys = [(c["input"], c["start"]) for c in clips]
        self.assertEqual(keys, sorted(keys))
        for c, (i, s) in zip(clips, expected):
            # The clip lies on the sentence: it starts at most the padding
            # (1 s) before the sentence, inside it, and ends after it starts.
            self.assertGreaterEqual(c["start"], s["start"] - 1.3)
            self.assertLess(c["start"], s["end"])
            self.assertGreater(c["end"], s["start"] + 0.3)
            self.assertEqual(c["words"].lower(), "budget")

        # The output: first video input's profile, AAC 48 kHz stereo, the
        # planned duration (each clip rounded to whole frames).
        info = ffprobe(out)
        v = [s for s in info["streams"] if s["codec_type"] == "video"][0]
        a = [s for s in info["streams"] if s["codec_type"] == "audio"][0]
        self.assertEqual((v["codec_name"], v["width"], v["height"]), ("h264", 640, 360))
        self.assertEqual(v["avg_frame_rate"], "25/1")
        self.assertEqual((a["codec_name"], a["sample_rate"], a["channels"]), ("aac", "48000", 2))
        planned = sum(c["end"] - c["start"] for c in clips)
        self.assertAlmostEqual(float(info["format"]["duration"]), planned, delta=0.05 * len(clips) + 0.1)
        self.assertAlmostEqual(float(v["duration"]), float(a["duration"]), delta=0.1)
        self.assertAlmostEqual(report["output"]["duration"], planned, delta=0.04 * len(clips))
        for prev, nxt in zip(clips, clips[1:]):
            self.assertAlmostEqual(prev["output_end"], nxt["output_start"], places=6)

        # Sound: the output, transcribed, says "budget" once per clip, at the
        # output time each clip's word was planned for.
        words = transcribe(out)
        said = [w for w in words if w["word"].lower() == "budget"]
        self.assertEqual(len(said), len(clips), [w["word"] for w in words])
        for w, c, (i, s) in zip(said, clips, expected):
            self.assertGreaterEqual(w["start"], c["output_start"] - 0.1)
            self.assertLessEqual(w["end"], c["output_end"] + 0.1)
            # Pictures: while the word is heard, the picture is the colour of
            # the sentence it belongs to (black for the audio-only input).
            rgb = frame_rgb(out, (w["start"] + w["end"]) / 2)
            if not inputs[i].endswith(".m4a"):
                self.assertLess(color_distance(rgb, s["color"]), 40,
                                "clip %s shows %s, expected #%s" % (c, rgb, s["color"]))
            else:
                self.assertLess(max(rgb), 30, "audio-only clip should be black, got %s" % (rgb,))

    def test_phrase_and_sync_on_one_input(self):
        src = talk("a")
        tl = timeline(src)
        out, rep = self.path("p.mp4"), self.path("p.json")
        p = run(["supercut", "-i", src, "-w", "new budget", "-o", out, "--report", rep,
                 "--padding-before", "0.5", "--padding-after", "0.5", "--size", "320x240", "--fps", "30"])
        self.assertEqual(p.returncode, 0, p.stderr)
        clips = load(rep)["clips"]
        self.assertEqual(len(clips), 1)
        s = sentence_at(tl, clips[0]["start"] + 0.5)
        self.assertIn("new budget", s["text"])
        info = ffprobe(out)
        v = [x for x in info["streams"] if x["codec_type"] == "video"][0]
        self.assertEqual((v["width"], v["height"], v["avg_frame_rate"]), (320, 240, "30/1"))
        # 16:9 into 4:3: letterboxed, the middle shows the sentence colour,
        # the top rows are black.
        mid = frame_rgb(out, 0.6)
        self.assertLess(color_distance(mid, s["color"]), 60, mid)
        words = [w["word"].lower() for w in transcribe(out)]
        self.assertIn("new", words)
        self.assertIn("budget", words)
        self.assertLess(words.index("new"), words.index("budget"))


class OptionsAndDryRun(Workdir):
    def test_dry_run_lists_matches_and_writes_nothing(self):
        src = talk("a")
        p = run(["supercut", "-i", src, "-w", "budget", "-w", "weekend", "-o", self.path("x.mp4"), "--dry-run"])
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [l.split("\t") for l in p.stdout.strip().splitlines()]
        # "weekend" ends sentence 3 and "budget" is early in sentence 4: their
        # padded clips are closer than the merge gap, so they merge.
        self.assertEqual([l[3].lower() for l in lines], ["budget", "weekend budget"], p.stdout)
        starts = [float(l[1]) for l in lines]
        self.assertEqual(starts, sorted(starts))
        p = run(["supercut", "-i", src, "-w", "budget", "-w", "weekend", "--merge-gap", "0",
                 "--padding-after", "0.2", "--dry-run"])
        self.assertEqual([l.split("\t")[3].lower() for l in p.stdout.strip().splitlines()],
                         ["budget", "weekend", "budget"], p.stdout)
        self.assert_no_output("x.mp4")

    def test_max_clips_and_max_length(self):
        src = talk("a")
        rep = self.path("r.json")
        p = run(["supercut", "-i", src, "-w", "budget", "-w", "weekend", "--dry-run", "--max-clips", "2",
                 "--report", rep])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(load(rep)["clips"]), 2)
        p = run(["supercut", "-i", src, "-w", "budget", "-w", "weekend", "--dry-run", "--max-length", "4",
                 "--report", rep])
        self.assertEqual(p.returncode, 0, p.stderr)
        clips = load(rep)["clips"]
        self.assertLessEqual(sum(c["end"] - c["start"] for c in clips), 4.0 + 1e-6)
        self.assertEqual(len(clips), 2)

    def test_prefix_and_regex_modes(self):
        src = talk("a")
        p = run(["supercut", "-i", src, "-w", "teach", "--match", "prefix", "--dry-run"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("teachers", p.stdout.lower())
        p = run(["supercut", "-i", src, "-w", "bud.*", "--match", "regex", "--dry-run"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.strip().splitlines()), 2)


class BadInput(Workdir):
    def check_fails(self, args, code, *needles):
        p = run(args)
        self.assertEqual(p.returncode, code, "exit %d, stderr: %s" % (p.returncode, p.stderr))
        for n in needles:
            self.assertIn(n, p.stderr)
        self.assert_no_output("out.mp4", "r.json")
        return p

    def test_missing_input(self):
        missing = self.path("nope.mp4")
        self.check_fails(["supercut", "-i", missing, "-w", "x", "-o", self.path("out.mp4")], EXIT_BAD_INPUT,
                         missing, "no such file")

    def test_not_media(self):
        bad = self.path("notes.mp4")
        with open(bad, "w") as f:
            f.write("this is a text file, not a video\n" * 20)
        self.check_fails(["supercut", "-i", talk("a"), bad, "-w", "budget", "-o", self.path("out.mp4")],
                         EXIT_BAD_INPUT, bad)

    def test_empty_file(self):
        bad = self.path("empty.mp4")
        open(bad, "w").close()
        self.check_fails(["supercut", "-i", bad, "-w", "budget", "-o", self.path("out.mp4")], EXIT_BAD_INPUT, bad)

    def test_unreadable_input(self):
        if os.geteuid() == 0:
            self.skipTest("root can read any file")
        bad = self.path("locked.mp4")
        shutil.copy(talk("a"), bad)
        os.chmod(bad, 0)
        self.check_fails(["supercut", "-i", bad, "-w", "budget", "-o", self.path("out.mp4")], EXIT_BAD_INPUT, bad)

    def test_input_without_audio(self):
        silent = self.path("silent.mp4")
        import subprocess
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:d=2", "-c:v",
                        "libx264", silent], check=True)
        self.check_fails(["supercut", "-i", silent, "-w", "budget", "-o", self.path("out.mp4")],
                         EXIT_BAD_INPUT, silent, "no audio stream")

    def test_no_words(self):
        self.check_fails(["supercut", "-i", talk("a"), "-o", self.path("out.mp4")], EXIT_USAGE, "no words")

    def test_bad_regex(self):
        self.check_fails(["supercut", "-i", talk("a"), "-w", "bud(", "--match", "regex", "-o",
                          self.path("out.mp4")], EXIT_USAGE, "bud(")

    def test_missing_output_folder(self):
        out = os.path.join(self.dir, "no", "such", "out.mp4")
        self.check_fails(["supercut", "-i", talk("a"), "-w", "budget", "-o", out], EXIT_OUTPUT, out,
                         "does not exist")

    def test_output_folder_not_writable(self):
        if os.geteuid() == 0:
            # root writes anywhere; a file standing where the folder should be
            # is the unwritable case here.
            blocker = self.path("file")
            open(blocker, "w").close()
            out = os.path.join(blocker, "out.mp4")
        else:
            ro = self.path("ro")
            os.mkdir(ro, 0o555)
            out = os.path.join(ro, "out.mp4")
        self.check_fails(["supercut", "-i", talk("a"), "-w", "budget", "-o", out], EXIT_OUTPUT, out)

    def test_no_match(self):
        p = self.check_fails(["supercut", "-i", talk("a"), "-w", "zebra", "-o", self.path("out.mp4"),
                              "--report", self.path("r.json")], EXIT_NO_MATCH, "no match", "zebra")

    def test_forced_unknown_encoder(self):
        self.check_fails(["supercut", "-i", talk("a"), "-w", "budget", "-o", self.path("out.mp4"),
                          "--encoder", "h264_nonexistent"], EXIT_USAGE, "h264_nonexistent")


class Interrupt(Workdir):
    def test_ctrl_c_during_render_leaves_nothing(self):
        import signal
        import subprocess
        from e2e_lib import BINARY
        out = self.path("out.mp4")
        proc = subprocess.Popen([BINARY, "supercut", "-i", talk("a"), "-w", "budget", "-w", "weekend",
                                 "--size", "3840x2160", "-o", out], stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if "render" in line:
                proc.send_signal(signal.SIGINT)
                break
        proc.stderr.read()
        self.assertEqual(proc.wait(timeout=60), 130)
        self.assert_no_output("out.mp4")


class WhisperEngine(Workdir):
    """`--engine whisper` end to end on a random-weight tiny model in both
    file formats: the words are nonsense, but every stage must run and the
    outputs must be well-formed."""

    def make_model(self):
        import subprocess
        from e2e_lib import ROOT
        gen = os.path.join(ROOT, "tests", "asr", "whisper", "reference", "make_model.py")
        hf, ggml = self.path("tiny-hf"), self.path("ggml-tiny.bin")
        subprocess.run(["/usr/bin/python3", gen, "--size", "tiny.en", "--dtype", "f16", "--hf-out", hf,
                        "--ggml-out", ggml], check=True, capture_output=True)
        return hf, ggml

    def test_supercut_and_transcribe_with_random_weights(self):
        hf, ggml = self.make_model()
        src = talk("c")
        out, rep = self.path("w.mp4"), self.path("w.json")
        p = run(["supercut", "-i", src, "--engine", "whisper", "--model", hf, "--workers", "1",
                 "-w", ".*", "--match", "regex", "-o", out, "--report", rep])
        if p.returncode == EXIT_NO_MATCH:
            self.assert_no_output("w.mp4")
        else:
            self.assertEqual(p.returncode, 0, p.stderr)
            report = load(rep)
            self.assertEqual(report["engine"], "whisper")
            self.assertGreater(len(report["clips"]), 0)
            info = ffprobe(out)
            self.assertAlmostEqual(float(info["format"]["duration"]), report["output"]["duration"], delta=0.1)
        p = run(["-q", "transcribe", "-i", src, "--engine", "whisper", "--model", ggml, "--workers", "1",
                 "--format", "json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        d = json.loads(p.stdout)
        duration = timeline(src)["duration"]
        for seg in d["segments"]:
            for w in seg["words"]:
                self.assertLessEqual(0, w["start"])
                self.assertLessEqual(w["start"], w["end"])
                self.assertLessEqual(w["end"], duration + 0.5)

    def test_hotwords_compute_type_and_device(self):
        hf, _ = self.make_model()
        src = talk("c")
        lib = self.path("lib.db")

        def cut(*extra):
            p = run(["supercut", "-i", src, "--engine", "whisper", "--model", hf, "--workers", "1",
                     "--library", lib, "-w", "budget", "--dry-run", "--compute-type", "f32", *extra])
            self.assertIn(p.returncode, (0, EXIT_NO_MATCH), p.stderr)
            return p.stderr

        # The target words bias the decoder by default, so the transcript
        # made with them is stored under its own key: the same supercut
        # finds it again, one without hotwords or with other words does not.
        self.assertIn("0 of 1 inputs known", cut())
        self.assertIn("1 of 1 inputs known", cut())
        self.assertIn("0 of 1 inputs known", cut("--no-hotwords"))
        self.assertIn("1 of 1 inputs known", cut("--no-hotwords"))
        # Another compute type is another transcript too.
        p = run(["supercut", "-i", src, "--engine", "whisper", "--model", hf, "--workers", "1",
                 "--library", lib, "-w", "budget", "--dry-run", "--compute-type", "int8"])
        self.assertIn(p.returncode, (0, EXIT_NO_MATCH), p.stderr)
        self.assertIn("0 of 1 inputs known", p.stderr)

        # Bad values name themselves; a GPU that is not there says why.
        for flag, value, words in (("--compute-type", "fp4", "fp4"), ("--device", "tpu:0", "tpu:0"),
                                   ("--device", "cuda:0", "cuda:0")):
            out = self.path("bad.mp4")
            p = run(["supercut", "-i", src, "--engine", "whisper", "--model", hf, "--workers", "1",
                     "--no-library", "-w", "budget", flag, value, "-o", out, "--in-process"])
            self.assertNotIn(p.returncode, (0, EXIT_NO_MATCH), p.stderr)
            self.assertIn(words, p.stderr)
            self.assert_no_output("bad.mp4")

    def test_missing_model_is_a_clear_error(self):
        p = run(["supercut", "-i", talk("c"), "--engine", "whisper", "--model", self.path("nope"), "-w", "x",
                 "-o", self.path("out.mp4")])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nope", p.stderr)
        self.assert_no_output("out.mp4")


class Transcribe(Workdir):
    def test_formats(self):
        src = talk("a")
        tl = timeline(src)
        for fmt in ("json", "srt", "vtt", "txt"):
            p = run(["transcribe", "-i", src, "--format", fmt, "-o", self.dir])
            self.assertEqual(p.returncode, 0, p.stderr)
            text = open(self.path("talk_a." + fmt)).read()
            self.assertIn("budget", text.lower())
            if fmt == "srt":
                self.assertIn(" --> ", text)
                self.assertTrue(text.startswith("1\n"))
            if fmt == "vtt":
                self.assertTrue(text.startswith("WEBVTT"))
            if fmt == "json":
                d = json.loads(text)
                words = [w for s in d["segments"] for w in s["words"]]
                budget = [w for w in words if w["word"] == "budget"]
                self.assertEqual(len(budget), 2)
                for w in budget:
                    s = sentence_at(tl, w["start"])
                    self.assertIsNotNone(s, w)
                    self.assertIn("budget", s["text"])
                    self.assertTrue(0 < w["probability"] <= 1)

    def test_bad_format(self):
        p = run(["transcribe", "-i", talk("a"), "--format", "doc"])
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertIn("doc", p.stderr)


if __name__ == "__main__":
    unittest.main()
