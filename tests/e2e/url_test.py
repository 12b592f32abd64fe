"""End-to-end tests of inputs from URLs: media files over HTTP (range
requests), HLS renditions, M3U playlists, pages resolved by yt-dlp, servers
that drop connections or are slow, refused schemes and missing URLs.

A real HTTP server (tests/e2e/http_server.py) runs on 127.0.0.1 and serves
the synthesized talks; the cuts from URLs must be those from the local files.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import http_server
from e2e_lib import MEDIA, SYNTH, run, talk, timeline, ffprobe

EXIT_USAGE, EXIT_BAD_INPUT = 2, 3
_reference = {}  # local path -> clips of a local dry run (transcription is the slow part)


def clips_of(report):
    return [(c["input"], c["start"], c["end"], c["words"]) for c in report["clips"]]


def supercut(args, words=("budget",)):
    """Runs a dry-run supercut; returns (process, report or None)."""
    fd, rep = tempfile.mkstemp(suffix=".json", prefix="sf-url-")
    os.close(fd)
    os.unlink(rep)
    cmd = ["-q", "supercut"] + args + ["--dry-run", "--report", rep]
    for w in words:
        cmd += ["-w", w]
    p = run(cmd)
    report = None
    if os.path.exists(rep):
        with open(rep) as f:
            report = json.load(f)
        os.unlink(rep)
    return p, report


def local_clips(*paths):
    key = tuple(paths)
    if key not in _reference:
        p, rep = supercut(["-i"] + list(paths))
        if p.returncode != 0:
            raise AssertionError("local supercut failed: " + p.stderr)
        _reference[key] = clips_of(rep)
    return _reference[key]


def long_talk():
    """About a minute of a busy picture with two sentences far apart: a
    supercut of one word needs a few seconds of it."""
    path = os.path.join(MEDIA, "talk_long.mp4")
    if not os.path.exists(path + ".json"):
        tmp = path + ".tmp.mp4"
        subprocess.run(["/usr/bin/python3", SYNTH, tmp, "--pattern", "testsrc", "--gap", "25", "--voice", "rms",
                        "--sentence", "Welcome to the morning news.",
                        "--sentence", "The budget was approved by the council today.",
                        "--sentence", "Rain is expected across the north this weekend."],
                       check=True, capture_output=True)
        os.rename(tmp + ".json", path + ".json")
        os.rename(tmp, path)
    return path


class Served(unittest.TestCase):
    """A temporary folder served over HTTP, holding copies of the talks."""
    mode = "normal"
    server_args = {}

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="sf-url-root-")
        for name in ("a", "b", "c"):
            shutil.copy(talk(name), cls.root)
        cls.srv = http_server.start(cls.root, mode=cls.mode, **cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def url(self, rel):
        return self.srv.url(rel)

    def assert_same_clips(self, got, want, tolerance=0.0):
        self.assertEqual([(c[0], c[3]) for c in got], [(c[0], c[3]) for c in want])
        for g, w in zip(got, want):
            self.assertAlmostEqual(g[1], w[1], delta=tolerance + 1e-6, msg="start of %s" % (g,))
            self.assertAlmostEqual(g[2], w[2], delta=tolerance + 1e-6, msg="end of %s" % (g,))


class UrlInputs(Served):
    def test_media_urls_cut_the_same_clips_as_local_files(self):
        names = [os.path.basename(talk(n)) for n in ("a", "b", "c")]
        p, rep = supercut(["-i"] + [self.url(n) for n in names])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_same_clips(clips_of(rep), local_clips(talk("a"), talk("b"), talk("c")))
        self.assertEqual([i["path"] for i in rep["inputs"]], [self.url(n) for n in names])
        # No title tag in the synthesized talks: the file name is the title.
        self.assertEqual([i["title"] for i in rep["inputs"]], names)
        self.assertTrue(all(c["path"].startswith("http://127.0.0.1:") for c in rep["clips"]))

    def test_container_title_tag_is_the_title(self):
        titled = os.path.join(self.root, "titled.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", talk("a"), "-c", "copy", "-metadata",
                        "title=Morning News, Tuesday", titled], check=True)
        p, rep = supercut(["-i", self.url("titled.mp4")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["inputs"][0]["title"], "Morning News, Tuesday")
        self.assert_same_clips(clips_of(rep), local_clips(talk("a")))

    def test_full_render_from_a_url(self):
        out = os.path.join(self.root, "..", os.path.basename(self.root) + "-cut.mp4")
        try:
            p = run(["-q", "supercut", "-i", self.url(os.path.basename(talk("a"))), "-w", "budget", "-o", out])
            self.assertEqual(p.returncode, 0, p.stderr)
            info = ffprobe(out)
            kinds = sorted(s["codec_type"] for s in info["streams"])
            self.assertEqual(kinds, ["audio", "video"])
            want = sum(c[2] - c[1] for c in local_clips(talk("a")))
            self.assertAlmostEqual(float(info["format"]["duration"]), want, delta=0.25)
        finally:
            if os.path.exists(out):
                os.unlink(out)


class HlsAndPlaylists(Served):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        hls = os.path.join(cls.root, "hls")
        os.mkdir(hls)
        subprocess.run(["ffmpeg", "-v", "error", "-i", talk("a"), "-c", "copy", "-f", "hls", "-hls_time", "2",
                        "-hls_playlist_type", "vod", "-hls_segment_filename", os.path.join(hls, "seg%03d.ts"),
                        os.path.join(hls, "index.m3u8")], check=True)
        lists = os.path.join(cls.root, "lists")
        os.mkdir(lists)
        with open(os.path.join(lists, "news.m3u"), "w") as f:
            f.write("#EXTM3U\n#EXTINF:-1,The radio report\n../%s\n\n# a comment line\n"
                    "#EXTINF:12,Morning news\n/%s\n" % (os.path.basename(talk("c")), os.path.basename(talk("a"))))

    def test_hls_rendition_cuts_the_same_clips(self):
        p, rep = supercut(["-i", self.url("hls/index.m3u8")])
        self.assertEqual(p.returncode, 0, p.stderr)
        # MPEG-TS segments start at the muxer's offset (about 1.4 s); times
        # are file times, so the cut is the same as from the MP4.
        want = local_clips(talk("a"))
        self.assert_same_clips(clips_of(rep), want, tolerance=0.1)
        self.assertGreater(len(rep["clips"]), 0)
        self.assertGreater(self.srv.requests.get("hls/seg000.ts", 0), 0)

    def test_remote_m3u_expands_in_order_with_titles(self):
        p, rep = supercut(["-i", self.url("lists/news.m3u")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([i["title"] for i in rep["inputs"]], ["The radio report", "Morning news"])
        self.assertEqual([i["path"] for i in rep["inputs"]],
                         [self.url(os.path.basename(talk("c"))), self.url(os.path.basename(talk("a")))])
        self.assert_same_clips(clips_of(rep), local_clips(talk("c"), talk("a")))

    def test_local_m3u_with_relative_and_url_entries(self):
        d = tempfile.mkdtemp(prefix="sf-url-list-")
        try:
            shutil.copy(talk("c"), d)
            lst = os.path.join(d, "mixed.m3u")
            with open(lst, "w") as f:
                f.write("%s\n#EXTINF:3,Remote A\n%s\n" % (os.path.basename(talk("c")),
                                                          self.url(os.path.basename(talk("a")))))
            p, rep = supercut(["-i", lst])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual([i["path"] for i in rep["inputs"]],
                             [os.path.join(d, os.path.basename(talk("c"))), self.url(os.path.basename(talk("a")))])
            self.assertEqual(rep["inputs"][1]["title"], "Remote A")
            self.assert_same_clips(clips_of(rep), local_clips(talk("c"), talk("a")))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_playlist_entry_with_a_refused_scheme_is_left_out(self):
        with open(os.path.join(self.root, "lists", "evil.m3u"), "w") as f:
            f.write("file:///etc/passwd\n/%s\n" % os.path.basename(talk("c")))
        p, rep = supercut(["-i", self.url("lists/evil.m3u")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("file:///etc/passwd", p.stderr)
        self.assertIn("not allowed", p.stderr)
        self.assertEqual(len(rep["inputs"]), 1)
        self.assert_same_clips(clips_of(rep), local_clips(talk("c")))


class DroppingServer(Served):
    """Every file's first responses are cut after 60 kB: libav reconnects
    with a range request where it stopped."""
    mode = "drop"
    server_args = {"drop_after": 60_000, "drops": 3}

    def test_same_clips_despite_dropped_connections(self):
        name = os.path.basename(talk("a"))
        self.assertGreater(os.path.getsize(talk("a")), 3 * 60_000)
        p, rep = supercut(["-i", self.url(name)])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(self.srv.dropped.get(name, 0), 0, "the server never dropped a connection")
        self.assert_same_clips(clips_of(rep), local_clips(talk("a")))


class SlowServer(Served):
    mode = "slow"
    server_args = {"delay": 0.2, "rate": 1_000_000}

    def test_same_clips_from_a_slow_server(self):
        names = [os.path.basename(talk(n)) for n in ("a", "c")]
        p, rep = supercut(["-i"] + [self.url(n) for n in names])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_same_clips(clips_of(rep), local_clips(talk("a"), talk("c")))


class BytesRead(Served):
    def test_render_reads_only_the_clips_ranges(self):
        src = long_talk()
        shutil.copy(src, self.root)
        name = os.path.basename(src)
        size = os.path.getsize(src)
        self.srv.reset_counts()
        p, rep = supercut(["-i", self.url(name)])
        self.assertEqual(p.returncode, 0, p.stderr)
        analysis = self.srv.total_bytes()
        clips = clips_of(rep)
        self.assertEqual(len(clips), 1, clips)
        self.assert_same_clips(clips, local_clips(src))

        out = os.path.join(tempfile.gettempdir(), "sf-url-bytes-%d.mp4" % os.getpid())
        try:
            self.srv.reset_counts()
            p = run(["-q", "supercut", "-i", self.url(name), "-w", "budget", "-o", out])
            self.assertEqual(p.returncode, 0, p.stderr)
            total = self.srv.total_bytes()
            self.assertTrue(os.path.getsize(out) > 0)
        finally:
            if os.path.exists(out):
                os.unlink(out)
        render = total - analysis
        clip_seconds = clips[0][2] - clips[0][1]
        sys.stderr.write("\nbytes: file %d, probe+transcription %d (%.0f%%), render %d (%.1f%%) for %.1f s of %.1f s\n"
                         % (size, analysis, 100.0 * analysis / size, render, 100.0 * render / size, clip_seconds,
                            timeline(src)["duration"]))
        # The clip is 3 % of the talk; the render also opens the file twice
        # (the index at its end, then the first packets) and reads the GOP
        # before the clip, and every request it leaves after a seek has up to
        # the server's send buffer in flight. With all that it stays a small
        # part of the file (about 30 % for this small, 0.7 Mb/s file).
        self.assertLess(render, 0.4 * size)
        self.assertGreater(render, 0)


class RefusedAndMissing(Served):
    def test_other_schemes_are_refused_with_the_input_named(self):
        for bad in ["file:///etc/passwd", "concat:%s|%s" % (talk("a"), talk("c")), "data:text/plain;base64,AAAA",
                    "subfile,,start,0,end,100,,:%s" % talk("a"), "ftp://127.0.0.1/a.mp4",
                    "crypto:%s" % talk("a"), "pipe:0"]:
            p, rep = supercut(["-i", bad])
            self.assertEqual(p.returncode, EXIT_USAGE, "%s: exit %d: %s" % (bad, p.returncode, p.stderr))
            self.assertIn(bad, p.stderr)
            self.assertIn("not allowed", p.stderr)
            self.assertIsNone(rep)

    def test_missing_url_is_reported_and_the_others_go_on(self):
        missing = self.url("no-such-talk.mp4")
        p, rep = supercut(["-i", missing, self.url(os.path.basename(talk("a")))])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(missing, p.stderr)
        self.assertIn("404", p.stderr)
        self.assertEqual(len(rep["inputs"]), 1)
        self.assert_same_clips(clips_of(rep), local_clips(talk("a")))

    def test_only_missing_urls_fail(self):
        missing = self.url("gone.mp4")
        p, rep = supercut(["-i", missing])
        self.assertEqual(p.returncode, EXIT_BAD_INPUT, p.stderr)
        self.assertIn(missing, p.stderr)
        self.assertIn("404", p.stderr)
        self.assertIsNone(rep)

    def test_unreachable_server_is_retried_then_reported(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        dead = "http://127.0.0.1:%d/a.mp4" % port
        p, rep = supercut(["-i", dead, talk("c")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(dead, p.stderr)
        self.assertIn("try 1 of 3", p.stderr)
        self.assertEqual(len(rep["inputs"]), 1)


class Pages(Served):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.root, "page.html"), "w") as f:
            f.write("<!DOCTYPE html><html><head><title>Morning news page</title></head><body>"
                    "<h1>News</h1><video controls src=\"%s\"></video></body></html>\n"
                    % os.path.basename(talk("a")))

    def test_missing_yt_dlp_says_how_to_install_it(self):
        env = dict(os.environ, PATH="/nonexistent")
        from e2e_lib import BINARY
        p = subprocess.run([BINARY, "-q", "supercut", "-i", self.url("page.html"), "-w", "budget", "--dry-run"],
                           capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, EXIT_BAD_INPUT, p.stderr)
        self.assertIn(self.url("page.html"), p.stderr)
        self.assertIn("yt-dlp", p.stderr)
        self.assertIn("apt-get install yt-dlp", p.stderr)

    def test_yt_dlp_finds_the_video_of_a_local_page(self):
        if shutil.which("yt-dlp") is None:
            self.skipTest("yt-dlp is not installed (apt-get install yt-dlp)")
        p, rep = supercut(["-i", self.url("page.html")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(rep["inputs"]), 1)
        self.assertEqual(rep["inputs"][0]["path"], self.url(os.path.basename(talk("a"))))
        self.assertTrue(rep["inputs"][0]["title"])
        self.assert_same_clips(clips_of(rep), local_clips(talk("a")))


if __name__ == "__main__":
    unittest.main()
