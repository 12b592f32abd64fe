"""End-to-end tests of `studioflow import`: real footage made at test time
(flite speech at known loudness, libx264 pictures), measured afterwards
with ffmpeg's own EBU R128 meter (an implementation independent of ours),
and checked product by product."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import e2e_lib

SENTENCES = ["The budget for the new library was approved by the council.",
             "Everyone agreed that the budget should grow next year."]


def measure(path):
    """(integrated LUFS, true peak dBTP) by ffmpeg's ebur128 filter."""
    err = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", path, "-map", "0:a:0", "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    summary = err[err.rindex("Summary:"):]
    i = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    tp = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return i, tp


def packets_md5(path, stream):
    return subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:%s" % stream, "-c", "copy", "-f",
                           "streamhash", "-hash", "md5", "-"], capture_output=True, text=True,
                          check=True).stdout.strip().split(",")[-1]


def video_frames(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
                          "stream=nb_read_packets,width,height", "-of", "json", path], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["streams"][0]


def make_talk(path, lufs, fps, size="640x360", vcodec="libx264", acodec="aac", extra_silence=1.0, rate=48000,
              channels=2, sentences=SENTENCES):
    """A talk whose speech measures `lufs` integrated loudness."""
    d = os.path.dirname(path)
    wav = path + ".speech.wav"
    subprocess.run(["flite", "-voice", "rms", "-t", " ".join(sentences), "-o", wav], check=True)
    # Level the speech to the wanted loudness (float, so nothing clips).
    level = os.path.join(d, os.path.basename(path) + ".level.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", wav, "-c:a", "pcm_f32le", "-ar", str(rate), "-ac",
                    str(channels), level], check=True)
    now, _ = measure(level)
    gain = lufs - now
    args = ["ffmpeg", "-v", "error", "-y"]
    if vcodec != "none":
        args += ["-f", "lavfi", "-i", "testsrc=size=%s:rate=%s" % (size, fps)]
    args += ["-i", level, "-filter_complex", "[%d:a]volume=%.3fdB,apad=pad_dur=%.2f[a]" %
             (0 if vcodec == "none" else 1, gain, extra_silence)]
    if vcodec != "none":
        args += ["-map", "0:v", "-c:v", vcodec, "-pix_fmt", "yuv420p", "-g", "30"]
    args += ["-map", "[a]", "-shortest", "-c:a", acodec, path]
    subprocess.run(args, check=True)
    os.remove(wav)
    os.remove(level)
    return path


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sf-import-")
        cls.src = os.path.join(cls.tmp, "footage")
        os.makedirs(os.path.join(cls.src, "day2"))
        cls.library = os.path.join(cls.tmp, "library.db")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def studioflow(self, *args, check=True):
        p = e2e_lib.run(list(args) + ["--library", self.library])
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def report(self, project):
        with open(os.path.join(project, "import-report.json")) as f:
            return {os.path.basename(x["source"]): x for x in json.load(f)["files"]}


class Loudness(Base):
    """Quiet (-35 LUFS, AAC in MP4) and loud (-10 LUFS, float PCM in MOV)
    speech, an audio-only WAV and a text file, imported with the defaults."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        make_talk(os.path.join(cls.src, "quiet.mp4"), -35, 25)
        make_talk(os.path.join(cls.src, "day2", "loud.mov"), -10, 30, acodec="pcm_f32le", channels=1)
        make_talk(os.path.join(cls.src, "day2", "radio.wav"), -28, 0, vcodec="none", acodec="pcm_s16le")
        with open(os.path.join(cls.src, "notes.mp4"), "w") as f:  # not media, whatever its name
            f.write("shot list: interview, b-roll\n")
        cls.sources_md5 = {n: subprocess.run(["md5sum", os.path.join(cls.src, n)], capture_output=True,
                                             text=True).stdout.split()[0]
                           for n in ["quiet.mp4", "day2/loud.mov", "day2/radio.wav"]}
        cls.project = os.path.join(cls.tmp, "project")
        p = e2e_lib.run(["import", cls.src, "--to", cls.project, "--library", cls.library])
        assert p.returncode == 0, p.stderr
        cls.stdout = p.stdout
        with open(os.path.join(cls.project, "import-report.json")) as f:
            cls.first_report = {os.path.basename(x["source"]): x for x in json.load(f)["files"]}

    def test_loudness_within_half_a_lu_and_under_the_ceiling(self):
        for rel in ["normalized/footage/quiet.mp4", "normalized/footage/day2/loud.mov",
                    "normalized/footage/day2/radio.wav"]:
            i, tp = measure(os.path.join(self.project, rel))
            self.assertLess(abs(i + 23), 0.5, "%s: %.2f LUFS" % (rel, i))
            self.assertLess(tp, -1.0, "%s: true peak %.2f" % (rel, tp))

    def test_picture_is_bit_identical_and_audio_format_kept(self):
        for name in ["quiet.mp4", "day2/loud.mov"]:
            src = os.path.join(self.src, name)
            out = os.path.join(self.project, "normalized", "footage", name)
            self.assertEqual(packets_md5(src, "v:0"), packets_md5(out, "v:0"), name)
            a = [s for s in e2e_lib.ffprobe(src)["streams"] if s["codec_type"] == "audio"][0]
            b = [s for s in e2e_lib.ffprobe(out)["streams"] if s["codec_type"] == "audio"][0]
            for k in ["codec_name", "sample_rate", "channels"]:
                self.assertEqual(a[k], b[k], "%s: %s" % (name, k))
            self.assertLess(abs(float(e2e_lib.ffprobe(src)["format"]["duration"]) -
                                float(e2e_lib.ffprobe(out)["format"]["duration"])), 0.05)

    def test_sources_untouched(self):
        for n, md5 in self.sources_md5.items():
            now = subprocess.run(["md5sum", os.path.join(self.src, n)], capture_output=True, text=True)
            self.assertEqual(md5, now.stdout.split()[0], n)

    def test_proxies_match_the_source(self):
        for name, (w, h) in [("quiet", (320, 180)), ("day2/loud", (320, 180))]:
            ext = ".mp4" if name == "quiet" else ".mov"
            src = os.path.join(self.src, name + ext)
            proxy = os.path.join(self.project, "proxies", "footage", name + ".proxy.mp4")
            ps, ss = video_frames(proxy), video_frames(src)
            self.assertEqual((ps["width"], ps["height"]), (w, h))
            self.assertEqual(ps["nb_read_packets"], ss["nb_read_packets"], name)
            d = lambda p: float(e2e_lib.ffprobe(p)["format"]["duration"])
            self.assertLess(abs(d(src) - d(proxy)), 0.05, name)
            self.assertLess(os.path.getsize(proxy), os.path.getsize(src) * 1.5)
            # A short GOP: a keyframe at least every second.
            keys = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                   "packet=pts_time,flags", "-of", "csv=p=0", proxy], capture_output=True,
                                  text=True).stdout.split()
            times = [float(k.split(",")[0]) for k in keys if "K" in k.split(",")[1]]
            self.assertLessEqual(max(b - a for a, b in zip(times, times[1:])), 1.0)

    def test_transcripts_and_report(self):
        r = self.first_report
        self.assertEqual(set(r), {"quiet.mp4", "loud.mov", "radio.wav"})
        for name, base in [("quiet.mp4", "proxies/footage/quiet"), ("radio.wav", "proxies/footage/day2/radio")]:
            with open(os.path.join(self.project, base + ".srt")) as f:
                srt = f.read()
            self.assertIn("budget", srt.lower())
            with open(os.path.join(self.project, base + ".json")) as f:
                words = [w["word"].lower() for s in json.load(f)["segments"] for w in s["words"]]
            self.assertIn("budget", words)
            self.assertEqual(r[name]["transcript"]["state"], "done")
            self.assertGreater(r[name]["transcript"]["words"], 10)
        self.assertEqual(r["radio.wav"]["proxy"]["state"], "skipped")
        q = r["quiet.mp4"]["normalized"]["streams"][0]
        self.assertLess(abs(q["before"]["integrated"] + 35), 0.3)
        self.assertLess(abs(q["after"]["integrated"] + 23), 0.5)
        self.assertIn("quiet", self.stdout)
        self.assertIn("1 not media", self.stdout)
        # The transcripts are in the library: a supercut from it needs no transcription.
        p = self.studioflow("supercut", "--from-library", "-w", "budget", "--dry-run")
        self.assertGreaterEqual(p.stdout.count("\n"), 4, p.stdout)

    def test_second_run_does_nothing(self):
        before = {f: os.path.getmtime(os.path.join(dp, f)) for dp, _, fs in os.walk(self.project) for f in fs
                  if not f.startswith("import-report") and not f.startswith(".")}
        self.studioflow("import", self.src, "--to", self.project)
        r = self.report(self.project)
        for f in r.values():
            for product in ["normalized", "proxy", "transcript"]:
                self.assertIn(f[product]["state"], ["reused", "skipped"], (f["name"], product))
        after = {f: os.path.getmtime(os.path.join(dp, f)) for dp, _, fs in os.walk(self.project) for f in fs
                 if not f.startswith("import-report") and not f.startswith(".")}
        for f, m in before.items():
            if f != "studioflow-import.json":
                self.assertEqual(m, after[f], f)


class LoudTarget(Base):
    """-12 LUFS from -35: +23 dB pushes the speech's peaks over -1 dBTP, so
    the limiter works; the loudness still lands within 0.5 LU."""

    def test_limited_to_the_ceiling(self):
        make_talk(os.path.join(self.src, "quiet.mp4"), -35, 25)
        project = os.path.join(self.tmp, "web")
        self.studioflow("import", self.src, "--to", project, "--loudness", "-12", "--no-proxy", "--no-transcript")
        i, tp = measure(os.path.join(project, "normalized", "footage", "quiet.mp4"))
        self.assertLess(abs(i + 12), 0.5, i)
        self.assertLess(tp, -1.0)
        s = self.report(project)["quiet.mp4"]["normalized"]["streams"][0]
        self.assertTrue(s["limited"])


class Resume(Base):
    """A killed run is finished by the next one; a changed source is redone."""

    def test_killed_run_resumes_and_changed_source_is_redone(self):
        for k in range(3):
            make_talk(os.path.join(self.src, "talk%d.mp4" % k), -30, 25, size="1280x720", extra_silence=20)
        project = os.path.join(self.tmp, "p")
        env = dict(os.environ, STUDIOFLOW_LIBRARY=self.library)
        p = subprocess.Popen([e2e_lib.BINARY, "import", self.src, "--to", project, "--proxy-jobs", "1",
                              "--normalize-jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=env)
        manifest = os.path.join(project, "studioflow-import.json")
        deadline = time.time() + 120
        # Kill it once something, not everything, is recorded.
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(manifest):
                with open(manifest) as f:
                    try:
                        m = json.load(f)
                    except ValueError:
                        continue
                if any(s.get("products") for s in m["sources"].values()):
                    break
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        # Whatever is visible is whole: every media file there probes.
        for dp, _, fs in os.walk(project):
            for f in fs:
                if f.endswith(".mp4") and not f.startswith("."):
                    e2e_lib.ffprobe(os.path.join(dp, f))
        with open(manifest) as f:
            done_before = sum(len(s.get("products", {})) for s in json.load(f)["sources"].values())
        self.studioflow("import", self.src, "--to", project)
        r = self.report(project)
        states = [f[p]["state"] for f in r.values() for p in ["normalized", "proxy", "transcript"]]
        self.assertTrue(all(s in ("done", "reused") for s in states), states)
        # Exactly what the killed run had recorded is kept; the rest is made now.
        self.assertEqual(states.count("reused"), done_before)
        self.assertGreater(done_before, 0)
        leftovers = [f for dp, _, fs in os.walk(project) for f in fs if ".partial-" in f]
        self.assertEqual(leftovers, [])

        # Change one source: only it is redone.
        make_talk(os.path.join(self.src, "talk1.mp4"), -20, 25, size="1280x720", extra_silence=5)
        self.studioflow("import", self.src, "--to", project)
        r = self.report(project)
        for name, f in r.items():
            want = "done" if name == "talk1.mp4" else "reused"
            for product in ["normalized", "proxy", "transcript"]:
                self.assertEqual(f[product]["state"], want, (name, product))


class Errors(Base):
    def test_bad_inputs(self):
        project = os.path.join(self.tmp, "never")
        p = self.studioflow("import", os.path.join(self.tmp, "missing"), "--to", project, check=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("missing", p.stderr)
        self.assertFalse(os.path.exists(project))
        p = self.studioflow("import", self.src, "--to", project, "--loudness", "3", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--loudness", p.stderr)
        inner = os.path.join(self.tmp, "proj-in")
        os.makedirs(os.path.join(inner, "normalized"))
        shutil.copy(make_talk(os.path.join(self.tmp, "t.mp4"), -30, 25, sentences=SENTENCES[:1]),
                    os.path.join(inner, "normalized", "t.mp4"))
        p = self.studioflow("import", os.path.join(inner, "normalized", "t.mp4"), "--to", inner, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("inside the project folder", p.stderr)
        p = self.studioflow("import", self.src, "--to", project, "--proxy-size", "huge", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--proxy-size", p.stderr)
        self.assertFalse(os.path.exists(project))

    def test_silent_input_is_reported_not_amplified(self):
        silent = os.path.join(self.tmp, "silent")
        os.makedirs(silent)
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "3",
                        "-c:a", "aac", os.path.join(silent, "room.m4a")], check=True)
        project = os.path.join(self.tmp, "sp")
        self.studioflow("import", silent, "--to", project, "--no-transcript")
        s = self.report(project)["room.m4a"]["normalized"]["streams"][0]
        self.assertEqual(s["gain_db"], 0)
        self.assertIn("silent", s.get("note", ""))


class Timecode(Base):
    def test_proxy_and_normalized_copy_keep_the_source_timecode(self):
        src = os.path.join(self.src, "cam.mov")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi",
                        "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:v", "libx264", "-pix_fmt",
                        "yuv420p", "-c:a", "aac", "-timecode", "10:00:00:00", src], check=True)
        project = os.path.join(self.tmp, "tc")
        self.studioflow("import", src, "--to", project, "--no-transcript")

        def timecode(path):
            out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream_tags=timecode:format_tags=timecode",
                                  "-of", "json", path], capture_output=True, text=True, check=True).stdout
            j = json.loads(out)
            tags = [s.get("tags", {}).get("timecode") for s in j.get("streams", [])]
            tags.append(j.get("format", {}).get("tags", {}).get("timecode"))
            return {t for t in tags if t}

        self.assertEqual(timecode(src), {"10:00:00:00"})
        self.assertEqual(timecode(os.path.join(project, "proxies", "cam.proxy.mp4")), {"10:00:00:00"})
        self.assertEqual(timecode(os.path.join(project, "normalized", "cam.mov")), {"10:00:00:00"})


class ProxyCodecs(Base):
    def test_prores_and_dnxhr_proxies_in_mov(self):
        src = make_talk(os.path.join(self.src, "clip.mp4"), -30, 25, sentences=SENTENCES[:1])
        for codec, name, profile, pix in [("prores", "prores", "Proxy", "yuv422p10le"),
                                          ("dnxhr", "dnxhd", "DNXHR LB", "yuv422p")]:
            project = os.path.join(self.tmp, codec)
            self.studioflow("import", src, "--to", project, "--no-normalize", "--no-transcript",
                            "--proxy-codec", codec)
            proxy = os.path.join(project, "proxies", "clip.proxy.mov")
            v = [s for s in e2e_lib.ffprobe(proxy)["streams"] if s["codec_type"] == "video"][0]
            self.assertEqual((v["codec_name"], v["profile"], v["pix_fmt"]), (name, profile, pix))
            self.assertEqual((v["width"], v["height"]), (320, 180))
            self.assertEqual(video_frames(proxy)["nb_read_packets"], video_frames(src)["nb_read_packets"])
        p = self.studioflow("import", src, "--to", os.path.join(self.tmp, "x"), "--proxy-codec", "h265",
                            check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--proxy-codec", p.stderr)


class Watch(Base):
    def test_new_file_is_imported_once_complete(self):
        project = os.path.join(self.tmp, "w")
        staging = os.path.join(self.tmp, "staging")
        os.makedirs(staging)
        make_talk(os.path.join(staging, "late.mp4"), -30, 25)
        env = dict(os.environ, STUDIOFLOW_LIBRARY=self.library)
        p = subprocess.Popen([e2e_lib.BINARY, "import", self.src, "--to", project, "--watch", "--settle", "1",
                              "--no-transcript"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            time.sleep(2)
            # Copied in slowly, in pieces: nothing is imported while it grows.
            with open(os.path.join(staging, "late.mp4"), "rb") as f:
                data = f.read()
            dst = os.path.join(self.src, "late.mp4")
            with open(dst, "wb") as f:
                for k in range(0, len(data), len(data) // 4 + 1):
                    f.write(data[k:k + len(data) // 4 + 1])
                    f.flush()
                    time.sleep(0.4)
            proxy = os.path.join(project, "proxies", "footage", "late.proxy.mp4")
            deadline = time.time() + 60
            while time.time() < deadline and not os.path.exists(proxy):
                time.sleep(0.2)
            self.assertTrue(os.path.exists(proxy))
            self.assertEqual(video_frames(proxy)["nb_read_packets"], video_frames(dst)["nb_read_packets"])
        finally:
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, err)  # stopped by Ctrl-C, cleanly
        self.assertEqual([f for dp, _, fs in os.walk(project) for f in fs if ".partial-" in f], [])


class Service(Base):
    """POST /import on a real server: the same products, status like a
    compilation's, bad requests refused with a JSON error."""

    def test_import_over_http(self):
        from serve_test import Serve
        make_talk(os.path.join(self.src, "quiet.mp4"), -35, 25)
        s = Serve(os.path.join(self.tmp, "data"), media_root=self.tmp)
        try:
            project = os.path.join(self.tmp, "served")
            code, r = s.json("POST", "/import", {"sources": [self.src], "project": project, "loudness": -20})
            self.assertEqual(code, 200, r)
            done = s.wait(r["task_id"], timeout=180)
            self.assertEqual(done["status"], "completed", done)
            self.assertEqual(done["progress"]["normalize"], {"done": 1, "running": 0, "total": 1})
            files = done["report"]["files"]
            self.assertEqual([f["normalized"]["state"] for f in files], ["done"])
            i, tp = measure(os.path.join(project, "normalized", "footage", "quiet.mp4"))
            self.assertLess(abs(i + 20), 0.5)
            self.assertTrue(os.path.exists(os.path.join(project, "proxies", "footage", "quiet.proxy.mp4")))
            # Again: nothing to do.
            code, r = s.json("POST", "/import", {"sources": [self.src], "project": project, "loudness": -20})
            again = s.wait(r["task_id"], timeout=60)
            self.assertEqual({f["normalized"]["state"] for f in again["report"]["files"]}, {"reused"})
            for body, field in [({"sources": ["/etc"]}, "media-root"), ({}, "sources"),
                                ({"sources": [self.src], "loudness": 4}, "loudness"),
                                ({"sources": [self.src], "proxy_size": "big"}, "proxy-size"),
                                ({"sources": [self.src], "colour": 1}, "colour"),
                                ({"sources": [self.src], "project": "/tmp/elsewhere"}, "media-root")]:
                code, err = s.json("POST", "/import", body)
                self.assertEqual(code, 400, body)
                self.assertIn(field, err["error"], body)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
