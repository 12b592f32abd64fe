"""End-to-end tests of `studioflow supercut --export`: every editor format
written from a real supercut and from a dry run, read back with Python's
own parsers and checked clip by clip against the --report JSON; sources
with a start timecode (a `tmcd` track written by the ffmpeg CLI); a bad
extension is a usage error that writes nothing."""
import glob
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import xml.etree.ElementTree as ET
from fractions import Fraction

from e2e_lib import run, talk

EXIT_USAGE = 2
FORMATS = {"edl": "cut.edl", "fcp7": "cut.xml", "fcpxml": "cut.fcpxml", "otio": "cut.otio",
           "mpv": "cut.mpv.edl", "srt": "cut.srt", "vtt": "cut.vtt"}


# ---- frames and timecodes, written here from the definitions ----

def rate_of(fps):
    """(num, den) an editor uses for a measured rate: 30000/1001 for 29.97."""
    nominal = round(fps * 1.001)
    if nominal >= 1 and abs(fps - nominal * 1000 / 1001) <= 1e-4 * fps:
        return (nominal * 1000, 1001)
    if abs(fps - round(fps)) <= 0.01:
        return (round(fps), 1)
    f = Fraction(round(fps * 1000), 1000)
    return (f.numerator, f.denominator)


def frames(seconds, rate):
    return math.floor(seconds * rate[0] / rate[1] + 0.5 + 1e-9)


def timebase(rate):
    return (rate[0] + rate[1] // 2) // rate[1]


def drop_frame(rate):
    return rate[1] == 1001 and timebase(rate) in (30, 60)


def tc_to_frames(tc, rate):
    """Frame named by a timecode label; ';' drop-frame at 29.97 / 59.94."""
    m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)([:;.,])(\d\d)", tc)
    assert m, "not a timecode: %r" % tc
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    tb = timebase(rate)
    n = (hh * 3600 + mm * 60 + ss) * tb + ff
    if sep != ":" and drop_frame(rate):
        minutes = hh * 60 + mm
        n -= (tb // 15) * (minutes - minutes // 10)
    return n


def file_url_path(url):
    assert url.startswith("file://"), url
    rest = url[len("file://"):]
    if rest.startswith("localhost/"):
        rest = rest[len("localhost"):]
    return urllib.parse.unquote(rest)


def fcpx_time(s):
    m = re.fullmatch(r"(-?\d+)(?:/(\d+))?s", s)
    assert m, "not an FCPXML time: %r" % s
    return Fraction(int(m[1]), int(m[2] or 1))


# ---- readers ----

def read_edl(text):
    lines = text.splitlines()
    title = fcm = None
    events = []
    ev = re.compile(r"^(\d{3,}) +(\S{1,8}) +(AA/V|AA|V|A|B) +C +(\S+) (\S+) (\S+) (\S+)$")
    for line in lines:
        if not line:
            continue
        if line.startswith("TITLE: "):
            title = line[7:]
        elif line.startswith("FCM: "):
            fcm = line[5:]
        elif line.startswith("* "):
            events[-1]["comments"].append(line[2:])
        else:
            m = ev.match(line)
            assert m, "not an EDL line: %r" % line
            events.append(dict(num=int(m[1]), reel=m[2], chan=m[3], src_in=m[4], src_out=m[5], rec_in=m[6],
                               rec_out=m[7], comments=[]))
    return title, fcm, events


def read_mpv(text):
    lines = text.splitlines()
    out = []
    for line in lines[1:]:
        if line.startswith("%"):
            close = line.index("%", 1)
            n = int(line[1:close])
            raw = line.encode()
            start = len(line[:close + 1].encode())
            path = raw[start:start + n].decode()
            rest = raw[start + n:].decode()
        else:
            path, rest = line.split(",", 1)
            rest = "," + rest
        _, s, length = rest.split(",")
        out.append((path, float(s), float(length)))
    return lines[0], out


def read_cues(text, vtt):
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    if vtt:
        assert blocks[0] == "WEBVTT", blocks[0]
        blocks = blocks[1:]
    cues = []
    sep = "." if vtt else ","
    pat = re.compile(r"(\d\d):(\d\d):(\d\d)%s(\d{3}) --> (\d\d):(\d\d):(\d\d)%s(\d{3})" % (re.escape(sep),
                                                                                         re.escape(sep)))
    for b in blocks:
        lines = b.split("\n")
        m = pat.fullmatch(lines[1])
        assert m, "not a cue timing: %r" % lines[1]
        g = [int(x) for x in m.groups()]
        t0 = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        t1 = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append((int(lines[0]), t0, t1, "\n".join(lines[2:])))
    return cues


class Workdir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-export-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def export_args(self):
        args = []
        for name in FORMATS.values():
            args += ["--export", self.path(name)]
        return args

    def read(self, name):
        with open(self.path(name), encoding="utf-8") as f:
            return f.read()

    # What each report clip must be in the exports.
    def expected(self, report, record_rate):
        inputs = report["inputs"]
        out = []
        for c in report["clips"]:
            src = inputs[c["input"]]
            rate = rate_of(src["fps"]) if "fps" in src else record_rate
            tc0 = tc_to_frames(src["timecode"], rate) if src.get("timecode") else 0
            rec_in, rec_out = frames(c["output_start"], record_rate), frames(c["output_end"], record_rate)
            src_in = frames(c["start"], rate)
            src_out = src_in + (rec_out - rec_in) if rate == record_rate else frames(c["end"], rate)
            out.append(dict(rate=rate, tc0=tc0, src_in=src_in, src_out=src_out, rec_in=rec_in, rec_out=rec_out,
                            video="fps" in src, path=c["path"]))
        return out

    def check_all_formats(self, report, record_rate):
        clips = report["clips"]
        want = self.expected(report, record_rate)
        self.assertGreater(len(clips), 0)
        self.assertEqual([e["format"] for e in report["exports"]], list(FORMATS))

        # CMX 3600 EDL.
        title, fcm, events = read_edl(self.read("cut.edl"))
        self.assertEqual(fcm, "DROP FRAME" if drop_frame(record_rate) else "NON-DROP FRAME")
        self.assertEqual(len(events), len(clips))
        for k, (ev, w, c) in enumerate(zip(events, want, clips)):
            self.assertEqual(ev["num"], k + 1)
            self.assertEqual(tc_to_frames(ev["src_in"], w["rate"]), w["tc0"] + w["src_in"], ev)
            self.assertEqual(tc_to_frames(ev["src_out"], w["rate"]), w["tc0"] + w["src_out"], ev)
            self.assertEqual(tc_to_frames(ev["rec_in"], record_rate), w["rec_in"], ev)
            self.assertEqual(tc_to_frames(ev["rec_out"], record_rate), w["rec_out"], ev)
            self.assertEqual(ev["src_in"][8] == ";", drop_frame(w["rate"]))
            self.assertEqual(ev["chan"], "AA/V" if w["video"] else "AA")
            self.assertLessEqual(len(ev["reel"]), 8)
            self.assertRegex(ev["reel"], r"^[A-Z0-9_]+$")
            self.assertIn("FROM CLIP NAME: " + os.path.basename(c["path"]), ev["comments"])

        # Final Cut Pro 7 XML.
        root = ET.fromstring(self.read("cut.xml"))
        self.assertEqual((root.tag, root.get("version")), ("xmeml", "5"))
        seq = root.find("sequence")
        self.assertEqual(int(seq.find("rate/timebase").text), timebase(record_rate))
        self.assertEqual(seq.find("rate/ntsc").text, "TRUE" if record_rate[1] == 1001 else "FALSE")
        files = {f.get("id"): f for f in root.iter("file") if f.find("pathurl") is not None}
        audio_items = seq.findall("media/audio/track/clipitem")
        video_items = seq.findall("media/video/track/clipitem")
        self.assertEqual(len(audio_items), len(clips))
        self.assertEqual(len(video_items), sum(1 for w in want if w["video"]))
        for item, w in zip(audio_items, want):
            self.assertEqual(int(item.find("start").text), w["rec_in"])
            self.assertEqual(int(item.find("end").text), w["rec_out"])
            self.assertEqual(int(item.find("in").text), w["src_in"])
            self.assertEqual(int(item.find("out").text), w["src_out"])
            f = files[item.find("file").get("id")]
            self.assertEqual(file_url_path(f.find("pathurl").text), w["path"])
            self.assertEqual(int(f.find("timecode/frame").text), w["tc0"])
        self.assertEqual(int(seq.find("duration").text), want[-1]["rec_out"])

        # FCPXML.
        root = ET.fromstring(self.read("cut.fcpxml"))
        self.assertEqual(root.tag, "fcpxml")
        self.assertIn(root.get("version"), ("1.9", "1.10"))
        res = {r.get("id"): r for r in root.find("resources")}
        seq = root.find("library/event/project/sequence")
        fd = fcpx_time(res[seq.get("format")].get("frameDuration"))
        self.assertEqual(fd, Fraction(record_rate[1], record_rate[0]))
        spine = seq.findall("spine/asset-clip")
        self.assertEqual(len(spine), len(clips))
        for clip, w in zip(spine, want):
            asset = res[clip.get("ref")]
            self.assertEqual(asset.tag, "asset")
            self.assertEqual(file_url_path(asset.find("media-rep").get("src")), w["path"])
            self.assertEqual(fcpx_time(asset.get("start")), Fraction(w["tc0"] * w["rate"][1], w["rate"][0]))
            self.assertEqual(fcpx_time(clip.get("offset")), Fraction(w["rec_in"] * record_rate[1], record_rate[0]))
            self.assertEqual(fcpx_time(clip.get("duration")),
                             Fraction((w["rec_out"] - w["rec_in"]) * record_rate[1], record_rate[0]))
            self.assertEqual(fcpx_time(clip.get("start")),
                             Fraction((w["tc0"] + w["src_in"]) * w["rate"][1], w["rate"][0]))

        # OpenTimelineIO.
        with open(self.path("cut.otio")) as f:
            tl = json.load(f)
        self.assertEqual(tl["OTIO_SCHEMA"], "Timeline.1")
        self.assertEqual(tl["tracks"]["OTIO_SCHEMA"], "Stack.1")
        kinds = {t["kind"]: t for t in tl["tracks"]["children"]}
        self.assertEqual(kinds["Video"]["OTIO_SCHEMA"], "Track.1")
        audio = kinds["Audio"]["children"]
        video = kinds["Video"]["children"]
        self.assertEqual(len(audio), len(clips))
        for a, v, w in zip(audio, video, want):
            self.assertEqual(a["OTIO_SCHEMA"], "Clip.2")
            self.assertEqual(v["OTIO_SCHEMA"], "Clip.2" if w["video"] else "Gap.1")
            sr = a["source_range"]
            self.assertEqual(sr["OTIO_SCHEMA"], "TimeRange.1")
            self.assertAlmostEqual(sr["start_time"]["rate"], w["rate"][0] / w["rate"][1])
            self.assertEqual(sr["start_time"]["value"], w["tc0"] + w["src_in"])
            self.assertEqual(sr["duration"]["value"], w["src_out"] - w["src_in"])
            ref = a["media_references"][a["active_media_reference_key"]]
            self.assertEqual(ref["OTIO_SCHEMA"], "ExternalReference.1")
            self.assertEqual(file_url_path(ref["target_url"]), w["path"])

        # mpv's EDL: file time, not frames.
        header, entries = read_mpv(self.read("cut.mpv.edl"))
        self.assertEqual(header, "# mpv EDL v0")
        self.assertEqual(len(entries), len(clips))
        for (path, start, length), c in zip(entries, clips):
            self.assertEqual(path, c["path"])
            self.assertAlmostEqual(start, c["start"], places=5)
            self.assertAlmostEqual(length, c["end"] - c["start"], places=5)

        # Subtitles: one cue per clip at output times, its sentence, the word
        # highlighted.
        for name, vtt in (("cut.srt", False), ("cut.vtt", True)):
            cues = read_cues(self.read(name), vtt)
            self.assertEqual(len(cues), len(clips), name)
            for (n, t0, t1, text), c in zip(cues, clips):
                self.assertAlmostEqual(t0, c["output_start"], delta=0.0011)
                self.assertAlmostEqual(t1, c["output_end"], delta=0.0011)
                self.assertIn("<b>", text)
                self.assertEqual(re.sub(r"</?b>", "", text), c["text"] or c["words"])
                for word in re.findall(r"<b>(.*?)</b>", text):
                    self.assertIn(word.lower(), c["words"].lower().split())


class ExportsOfASupercut(Workdir):
    def test_every_format_after_a_render(self):
        # 25 fps video, 30 fps video, audio only: one output at 25 fps.
        inputs = [talk("a"), talk("b"), talk("c")]
        out, rep = self.path("cut.mp4"), self.path("cut.json")
        p = run(["supercut", "-i"] + inputs + ["-w", "budget", "-o", out, "--report", rep] + self.export_args())
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rep) as f:
            report = json.load(f)
        self.assertEqual(report["output"]["fps"], 25)
        self.assertEqual(len({c["input"] for c in report["clips"]}), 3)
        for c in report["clips"]:
            self.assertIn("budget", c["text"].lower())
        self.check_all_formats(report, (25, 1))
        self.assertEqual(glob.glob(os.path.join(self.dir, ".*partial*")), [])

    def test_every_format_at_2997_output(self):
        out, rep = self.path("cut.mp4"), self.path("cut.json")
        p = run(["supercut", "-i", talk("b"), talk("a"), "-w", "budget", "-o", out, "--report", rep,
                 "--fps", "29.97", "--size", "320x180"] + self.export_args())
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rep) as f:
            report = json.load(f)
        self.assertEqual(rate_of(report["output"]["fps"]), (30000, 1001))
        self.check_all_formats(report, (30000, 1001))

    def test_dry_run_exports_planned_positions(self):
        rep = self.path("cut.json")
        p = run(["supercut", "-i", talk("a"), talk("c"), "-w", "budget", "-w", "weekend", "--dry-run",
                 "--report", rep] + self.export_args())
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rep) as f:
            report = json.load(f)
        at = 0.0
        for c in report["clips"]:
            self.assertAlmostEqual(c["output_start"], at, places=9)
            at += c["end"] - c["start"]
            self.assertAlmostEqual(c["output_end"], at, places=9)
        # The sequence runs at the first video input's rate.
        self.check_all_formats(report, (25, 1))
        self.assertEqual([n for n in os.listdir(self.dir) if n.endswith(".mp4")], [])

    def test_forced_format(self):
        p = run(["supercut", "-i", talk("a"), "-w", "budget", "--dry-run", "--export", self.path("list.txt"),
                 "--export-format", "edl"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.read("list.txt").startswith("TITLE: list"))


class ExportErrors(Workdir):
    def check_usage(self, args, *needles):
        p = run(args)
        self.assertEqual(p.returncode, EXIT_USAGE, p.stderr)
        for n in needles:
            self.assertIn(n, p.stderr)
        self.assertEqual(os.listdir(self.dir), [], "nothing may be written")
        return p

    def test_bad_extension_is_a_usage_error_before_any_work(self):
        bad = self.path("cut.aaf")
        self.check_usage(["supercut", "-i", talk("a"), "-w", "budget", "-o", self.path("cut.mp4"),
                          "--export", self.path("cut.edl"), "--export", bad, "--report", self.path("r.json")],
                         bad, "edl (.edl)", "fcpxml (.fcpxml)", "mpv (.mpv.edl)")

    def test_bad_forced_format(self):
        self.check_usage(["supercut", "-i", talk("a"), "-w", "budget", "--dry-run", "--export",
                          self.path("cut.edl"), "--export-format", "avid"], "avid", "otio (.otio)")

    def test_export_onto_an_input_or_the_output(self):
        self.check_usage(["supercut", "-i", talk("a"), "-w", "budget", "-o", self.path("cut.mp4"),
                          "--export", self.path("cut.mp4"), "--export-format", "edl"], "is the output")
        self.check_usage(["supercut", "-i", talk("a"), "-w", "budget", "--dry-run", "--export", talk("a"),
                          "--export-format", "edl"], talk("a"))


class SourceTimecode(Workdir):
    """Sources with a start timecode (tmcd track): source times offset by it."""

    def make(self, name, rate, tc):
        out = self.path(name)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", talk("a"), "-r", rate, "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "copy", "-timecode", tc, out], check=True)
        return out

    def test_timecode_offsets_source_times(self):
        ntsc = self.make("ntsc.mov", "30000/1001", "00:59:00;02")
        pal = self.make("pal.mp4", "25", "10:00:00:00")
        rep = self.path("cut.json")
        p = run(["supercut", "-i", ntsc, pal, "-w", "budget", "-o", self.path("cut.mp4"), "--report", rep]
                + self.export_args())
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rep) as f:
            report = json.load(f)
        self.assertEqual([i.get("timecode") for i in report["inputs"]], ["00:59:00;02", "10:00:00:00"])
        self.assertEqual([i.get("timecode_frame") for i in report["inputs"]], [106094, 900000])
        self.check_all_formats(report, rate_of(report["output"]["fps"]))
        _, fcm, events = read_edl(self.read("cut.edl"))
        self.assertEqual(fcm, "DROP FRAME")  # the first input's 29.97
        first = [e for e, c in zip(events, report["clips"]) if c["input"] == 0][0]
        self.assertTrue(first["src_in"].startswith("00:59:"), first)
        self.assertEqual(first["src_in"][8], ";")
        later = [e for e, c in zip(events, report["clips"]) if c["input"] == 1][0]
        self.assertTrue(later["src_in"].startswith("10:00:"), later)
        root = ET.fromstring(self.read("cut.xml"))
        tcs = sorted(f.find("timecode/string").text for f in root.iter("file") if f.find("timecode") is not None)
        self.assertEqual(tcs, ["00:59:00;02", "10:00:00:00"])


class ServiceExports(unittest.TestCase):
    """POST /create_compilation {"exports": [...]}: each export downloadable
    from /download/<id>?format=..., the same cut as the task's clips."""

    def test_exports_of_a_service_task(self):
        from serve_test import ServeCase
        case = ServeCase()
        case.setUp()
        self.addCleanup(case.tearDown)
        s = case.serve()
        bad = {"url": case.a, "target_words": ["budget"], "exports": ["edl", "avid"]}
        code, r = s.json("POST", "/create_compilation", bad)
        self.assertEqual(code, 400, r)
        self.assertIn("avid", r["error"])
        self.assertIn("fcpxml (.fcpxml)", r["error"])
        code, r = s.json("POST", "/create_compilation", dict(bad, exports=["edl", "EDL"]))
        self.assertEqual(code, 400, r)
        code, r = s.json("POST", "/create_compilation", dict(bad, exports="edl,otio"))
        self.assertEqual(code, 400, r)

        code, r = s.json("POST", "/create_compilation",
                         {"url": [case.a, case.c], "target_words": ["budget"], "exports": list(FORMATS)})
        self.assertEqual(code, 200, r)
        tid = r["task_id"]
        st = s.wait(tid)
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertEqual(sorted(st["exports"]), sorted(FORMATS))
        clips = st["clips_extracted"]
        for name, route in st["exports"].items():
            self.assertEqual(route, "/download/%s?format=%s" % (tid, name))
            code, data, headers = s.request("GET", route)
            self.assertEqual(code, 200, (name, data))
            self.assertIn(tid, headers.get("Content-Disposition", ""))
        # The EDL and the OTIO timeline carry the task's clips at their output times.
        code, data, _ = s.request("GET", "/download/%s?format=edl" % tid)
        _, fcm, events = read_edl(data.decode())
        self.assertEqual(len(events), len(clips))
        for ev, c in zip(events, clips):
            self.assertEqual(tc_to_frames(ev["rec_in"], (25, 1)), frames(c["output_start"], (25, 1)))
            self.assertEqual(tc_to_frames(ev["src_in"], (25, 1)), frames(c["start"], (25, 1)))
        code, data, _ = s.request("GET", "/download/%s?format=otio" % tid)
        tl = json.loads(data)
        audio = [t for t in tl["tracks"]["children"] if t["kind"] == "Audio"][0]["children"]
        self.assertEqual(len(audio), len(clips))
        code, data, _ = s.request("GET", "/download/%s?format=vtt" % tid)
        self.assertEqual(len(read_cues(data.decode(), True)), len(clips))
        # The video itself is unchanged; unknown formats are 400.
        code, data, headers = s.request("GET", "/download/" + tid)
        self.assertEqual((code, headers.get("Content-Type")), (200, "video/mp4"))
        code, data, _ = s.request("GET", "/download/%s?format=avid" % tid)
        self.assertEqual(code, 400, data)

        # A task that asked for no export has none to download.
        code, r = s.json("POST", "/create_compilation", {"url": case.a, "target_words": ["budget"]})
        st = s.wait(r["task_id"])
        self.assertNotIn("exports", st)
        code, data, _ = s.request("GET", "/download/%s?format=edl" % r["task_id"])
        self.assertEqual(code, 404, data)


if __name__ == "__main__":
    unittest.main()
