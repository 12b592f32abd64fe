"""End-to-end tests of `studioflow serve`: a real server on 127.0.0.1 with a
real worker pool, SQLite task store and transcript library, driven over
HTTP with the seed's contract: every status field, bad requests, tokens,
concurrent compilations, cancellation, and a server killed mid-task that
resumes its task after a restart."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from e2e_lib import BINARY, MEDIA, ffprobe, talk

SEED_FIELDS = [
    "status", "stage", "current_video", "total_videos", "current_video_title", "segments_processing",
    "segments_completed", "total_segments", "clips_downloading", "clips_downloaded", "transcription_progress",
    "words_found", "clips_extracted", "compilation_length", "word_count", "early_termination", "compilation_path",
    "video_file", "final_duration", "errors", "start_time", "request_received_time", "processing_start_time",
    "elapsed_time", "total_transcription_time", "total_request_time", "processing_time", "end_time",
    "gpu_count", "gpus_active", "models_per_gpu", "gpu_utilization", "gpu_memory_used", "pipeline_stages",
    "worker_processes", "performance_metrics",
]


class Serve:
    """One `studioflow serve` process on a free port."""

    def __init__(self, data, media_root=None, token=None, extra=()):
        self.data = data
        args = [BINARY, "-q", "serve", "--port", "0", "--data", data]
        if media_root:
            args += ["--media-root", media_root]
        if token:
            args += ["--token", token]
        args += list(extra)
        env = dict(os.environ)
        env.pop("STUDIOFLOW_LIBRARY", None)  # the server's library lives in its data folder
        env.setdefault("WORKER_HEALTH_CHECK_INTERVAL", "2")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            self.proc.kill()
            raise AssertionError("serve did not start: %r %s" % (line, self.proc.stderr.read()))
        self.base = line.split("listening on ")[1].split()[0]
        self.token = token

    def request(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def json(self, method, path, body=None, **kw):
        code, data, _ = self.request(method, path, body, **kw)
        return code, json.loads(data) if data else None

    def wait(self, task_id, states=("completed", "error", "cancelled"), timeout=240, stage=None):
        end = time.time() + timeout
        while time.time() < end:
            code, s = self.json("GET", "/status/" + task_id)
            assert code == 200, (code, s)
            if stage is None and s["status"] in states:
                return s
            if stage is not None and (s["stage"] == stage or s["status"] in ("completed", "error", "cancelled")):
                return s
            time.sleep(0.1)
        raise AssertionError("task %s did not reach %s: %s" % (task_id, states, s))

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class ServeCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-serve-")
        self.media = os.path.join(self.dir, "media")
        os.makedirs(self.media)
        for n in "abc":
            src = talk(n)
            os.symlink(src, os.path.join(self.media, os.path.basename(src)))
        self.a = os.path.join(self.media, "talk_a.mp4")
        self.b = os.path.join(self.media, "talk_b.webm")
        self.c = os.path.join(self.media, "talk_c.m4a")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, **kw):
        s = Serve(os.path.join(self.dir, "data"), media_root=self.media, **kw)
        self.servers.append(s)
        return s


class Contract(ServeCase):
    def test_a_compilation_and_every_status_field(self):
        s = self.serve()
        code, r = s.json("POST", "/create_compilation", {"url": self.a, "target_words": ["budget"]})
        self.assertEqual(code, 200, r)
        self.assertEqual(len(r["task_id"]), 32)
        self.assertEqual(r["video_title"], "talk_a.mp4")
        self.assertEqual(r["total_videos"], 1)
        self.assertEqual(r["gpu_count"], 0)
        st = s.wait(r["task_id"])
        for f in SEED_FIELDS:
            self.assertIn(f, st)
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertEqual(st["stage"], "done")
        self.assertEqual(st["errors"], [])
        self.assertEqual(st["current_video"], 1)
        self.assertEqual(st["total_videos"], 1)
        self.assertEqual(st["word_count"], 2)  # "budget" is said twice in talk a
        self.assertEqual(st["words_found"], 2)
        self.assertEqual(len(st["clips_extracted"]), 2)
        self.assertEqual(st["clips_downloaded"], 2)
        self.assertEqual(st["clips_downloading"], 0)
        for c in st["clips_extracted"]:
            self.assertEqual(c["words"], ["budget"])
            self.assertLess(c["start"], c["end"])
        self.assertEqual(st["transcription_progress"], 100.0)
        self.assertGreater(st["total_segments"], 0)
        self.assertEqual(st["segments_completed"], st["total_segments"])
        self.assertEqual(st["segments_processing"], 0)
        self.assertFalse(st["early_termination"])
        self.assertEqual(st["compilation_path"], "/download/" + r["task_id"])
        self.assertEqual(st["video_file"], r["task_id"] + ".mp4")
        self.assertAlmostEqual(st["final_duration"], st["compilation_length"])
        clip_sum = sum(c["end"] - c["start"] for c in st["clips_extracted"])
        self.assertAlmostEqual(st["final_duration"], clip_sum, delta=0.15)
        # Times: received <= processing start <= end; durations agree.
        self.assertLessEqual(st["request_received_time"], st["processing_start_time"])
        self.assertLessEqual(st["processing_start_time"], st["end_time"])
        self.assertAlmostEqual(st["total_request_time"], st["end_time"] - st["request_received_time"], delta=0.01)
        self.assertAlmostEqual(st["processing_time"], st["end_time"] - st["processing_start_time"], delta=0.01)
        self.assertAlmostEqual(st["elapsed_time"], st["total_request_time"], delta=0.01)
        self.assertGreater(st["total_transcription_time"], 0)
        self.assertLessEqual(st["total_transcription_time"], st["processing_time"])
        # The machine: no GPU here; two CPU workers, healthy.
        self.assertEqual(st["gpu_count"], 0)
        self.assertEqual(st["gpus_active"], [])
        self.assertEqual(st["models_per_gpu"], {"cpu": 2})
        wp = st["worker_processes"]
        self.assertEqual((wp["total"], wp["healthy"], wp["restarted"]), (2, 2, 0))
        for stage in ("download", "transcription", "compilation"):
            self.assertEqual(set(st["pipeline_stages"][stage]), {"active", "completed", "queued"})
        self.assertEqual(st["pipeline_stages"]["compilation"]["completed"], 2)
        self.assertEqual(st["pipeline_stages"]["transcription"]["completed"], st["segments_completed"])
        pm = st["performance_metrics"]
        self.assertGreater(pm["avg_transcription_speed"], 0)
        self.assertAlmostEqual(pm["total_request_time"], st["total_request_time"])
        # The output, whole and with ranges.
        code, body, headers = s.request("GET", "/download/" + r["task_id"])
        self.assertEqual(code, 200)
        self.assertEqual(headers.get("Content-Type"), "video/mp4")
        out = os.path.join(self.dir, "out.mp4")
        with open(out, "wb") as f:
            f.write(body)
        self.assertAlmostEqual(float(ffprobe(out)["format"]["duration"]), st["final_duration"], delta=0.1)
        code, part, headers = s.request("GET", "/download/" + r["task_id"], headers={"Range": "bytes=100-199"})
        self.assertEqual(code, 206)
        self.assertEqual(part, body[100:200])
        # History: every stage in order, once.
        code, h = s.json("GET", "/status/%s/history" % r["task_id"])
        stages = [e["stage"] for e in h["history"]]
        self.assertEqual(stages[0], "queued")
        for a, b in [("analyzing", "transcribing"), ("transcribing", "matching"), ("matching", "compiling")]:
            self.assertLess(stages.index(a), stages.index(b))
        self.assertEqual(h["history"][-1]["status"], "completed")
        # The task list and the metrics know it.
        code, tasks = s.json("GET", "/tasks")
        self.assertEqual([t["task_id"] for t in tasks["tasks"]], [r["task_id"]])
        code, metrics, _ = s.request("GET", "/metrics")
        self.assertIn(b'studioflow_http_requests_total{route="/create_compilation",code="200"} 1', metrics)
        self.assertIn(b'studioflow_tasks{state="completed"} 1', metrics)
        self.assertIn(b"studioflow_segments_transcribed_total %d" % st["segments_completed"], metrics)

    def test_several_inputs_in_order_and_no_match_is_a_completed_task(self):
        s = self.serve()
        code, r = s.json("POST", "/create_compilation",
                         {"url": [self.b, self.a], "target_words": ["budget"], "padding_before": 0.5,
                          "padding_after": 0.5, "merge_gap": 0, "max_length": None})
        self.assertEqual(code, 200, r)
        self.assertEqual(r["total_videos"], 2)
        st = s.wait(r["task_id"])
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertEqual(st["word_count"], 3)
        self.assertEqual([c["video"] for c in st["clips_extracted"]], [0, 1, 1])  # input order, then time
        self.assertEqual(st["current_video"], 2)
        code, r = s.json("POST", "/create_compilation", {"url": self.c, "target_words": ["zebra"]})
        st = s.wait(r["task_id"])
        self.assertEqual(st["status"], "completed")
        self.assertIn("No target words found in any video", st["errors"])
        self.assertEqual(st["word_count"], 0)
        code, _, _ = s.request("GET", "/download/" + r["task_id"])
        self.assertEqual(code, 404)

    def test_compilations_listen_for_their_words_unless_told_not_to(self):
        # A name the recognizer's dictionary lacks: only targeted search
        # (on by default) can find it.
        name = os.path.join(self.media, "name.wav")
        subprocess.run(["flite", "-voice", "slt", "-t", "Doctor Okonkwo spoke to the council.", "-o", name],
                       check=True)
        s = self.serve()
        code, r = s.json("POST", "/create_compilation", {"url": name, "target_words": ["okonkwo"]})
        self.assertEqual(code, 200, r)
        st = s.wait(r["task_id"])
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertEqual(st["word_count"], 1)
        # The clip says how sure it is and why: the one-best transcript
        # does not have the name, the spotter heard it.
        [clip] = st["clips_extracted"]
        self.assertGreaterEqual(clip["confidence"], 0.75)  # the default min_confidence
        self.assertLessEqual(clip["confidence"], 1.0)
        [m] = clip["matches"]
        self.assertEqual(m["query"], "okonkwo")
        self.assertEqual(m["confidence"], clip["confidence"])
        self.assertLessEqual(clip["start"], m["start"])
        self.assertLessEqual(m["end"], clip["end"])
        self.assertFalse(m["evidence"]["one_best"])
        self.assertTrue(m["evidence"]["spotted"])
        self.assertNotIn("okonkwo", clip["text"].split())  # the sentence as the one-best heard it
        self.assertIn("spoke", clip["text"].split())
        code, r = s.json("POST", "/create_compilation", {"url": name, "target_words": ["okonkwo"], "targeted": False})
        self.assertEqual(code, 200, r)
        st = s.wait(r["task_id"])
        self.assertEqual(st["status"], "completed")
        self.assertEqual(st["word_count"], 0)
        self.assertIn("No target words found in any video", st["errors"])

    def test_events_stream_the_status_until_it_ends(self):
        s = self.serve()
        code, r = s.json("POST", "/create_compilation", {"url": self.c, "target_words": ["budget"]})
        req = urllib.request.Request(s.base + "/events/" + r["task_id"])
        seen = []
        with urllib.request.urlopen(req, timeout=120) as resp:
            self.assertTrue(resp.headers["Content-Type"].startswith("text/event-stream"))
            for raw in resp:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
        self.assertGreaterEqual(len(seen), 2)
        self.assertEqual(seen[-1]["status"], "completed")
        progress = [e["transcription_progress"] for e in seen]
        self.assertEqual(progress, sorted(progress))

    def test_health(self):
        s = self.serve()
        self.assertEqual(s.json("GET", "/health/live")[0], 200)
        code, ready = s.json("GET", "/health/ready")
        self.assertEqual(code, 200, ready)
        self.assertEqual(ready["workers_healthy"], 2)


class BadRequests(ServeCase):
    def assert_refused(self, s, body=None, raw=None, code=400, contains=None):
        c, data, _ = s.request("POST", "/create_compilation", body, raw=raw)
        self.assertEqual(c, code, data)
        err = json.loads(data)["error"]
        self.assertTrue(err)
        if contains:
            self.assertIn(contains, err)

    def test_every_bad_body_is_a_clear_400_and_creates_nothing(self):
        s = self.serve()
        good = {"url": self.a, "target_words": ["budget"]}
        self.assert_refused(s, raw=b"not json", contains="not valid JSON")
        self.assert_refused(s, raw=b"", contains="empty")
        self.assert_refused(s, raw=b"[1, 2]", contains="JSON object")
        self.assert_refused(s, {"target_words": ["budget"]}, contains='"url" is required')
        self.assert_refused(s, {"url": [], "target_words": ["budget"]}, contains='"url" is required')
        self.assert_refused(s, {"url": 5, "target_words": ["budget"]}, contains='"url" must be')
        self.assert_refused(s, {"url": [self.a, 7], "target_words": ["budget"]}, contains='"url" entry')
        self.assert_refused(s, {"url": self.a}, contains='"target_words" is required')
        self.assert_refused(s, {"url": self.a, "target_words": []}, contains='"target_words"')
        self.assert_refused(s, {"url": self.a, "target_words": [3]}, contains='"target_words"')
        self.assert_refused(s, {"url": self.a, "target_words": ["  "]}, contains="empty entry")
        self.assert_refused(s, dict(good, padding_before=-1), contains='"padding_before"')
        self.assert_refused(s, dict(good, padding_after="1"), contains='"padding_after" must be a number')
        self.assert_refused(s, dict(good, merge_gap=[1]), contains='"merge_gap"')
        self.assert_refused(s, dict(good, max_length=0), contains='"max_length"')
        self.assert_refused(s, dict(good, max_clips=2.5), contains='"max_clips"')
        self.assert_refused(s, dict(good, match="fuzzy"), contains='"match"')
        self.assert_refused(s, dict(good, match="regex", target_words=["(unclosed"]))
        self.assert_refused(s, dict(good, size="big"), contains='"size"')
        self.assert_refused(s, dict(good, engine="other"), contains='"engine"')
        self.assert_refused(s, dict(good, colour="red"), contains='unknown field "colour"')
        self.assert_refused(s, dict(good, targeted="yes"), contains='"targeted" must be true or false')
        self.assert_refused(s, dict(good, min_confidence=1.5), contains='"min_confidence"')
        deep = "[" * 200 + "]" * 200
        self.assert_refused(s, raw=('{"url": "%s", "target_words": ["a"], "x": %s}' % (self.a, deep)).encode(),
                            contains="nested deeper")
        c, data, _ = s.request("POST", "/create_compilation", raw=b"{" + b" " * (3 << 20) + b"}")
        self.assertIn(c, (400, 413), data)
        for url in ["ftp://example.com/a.mp4", "file:///etc/passwd", "concat:a|b", "data:text/plain,hi",
                    "subfile:,,start,0,end,0,,:/etc/passwd", "gopher://x/y"]:
            self.assert_refused(s, {"url": url, "target_words": ["a"]})
        self.assert_refused(s, {"url": "/etc/passwd", "target_words": ["a"]}, contains="not under a --media-root")
        self.assert_refused(s, {"url": os.path.join(self.media, "..", "..", "etc", "passwd"), "target_words": ["a"]},
                            contains="not under a --media-root")
        self.assert_refused(s, {"url": os.path.join(self.media, "missing.mp4"), "target_words": ["a"]},
                            contains="no such file")
        self.assertEqual(s.json("GET", "/tasks")[1]["tasks"], [])
        self.assertEqual(os.listdir(os.path.join(s.data, "outputs")), [])

    def test_unknown_and_malicious_task_ids(self):
        s = self.serve()
        for tid in ["0" * 32, "nope", "..%2F..%2Ftasks.db", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "A" * 32]:
            for method, route in [("GET", "/status/"), ("GET", "/download/"), ("POST", "/cancel/"),
                                  ("GET", "/events/"), ("GET", "/status/%s/history")]:
                path = route % tid if "%s" in route else route + tid
                code, data, _ = s.request(method, path)
                self.assertEqual(code, 404, (method, path, data))
                self.assertIn("error", json.loads(data))
        code, data, _ = s.request("GET", "/no/such/route")
        self.assertEqual(code, 404)

    def test_local_paths_need_a_media_root(self):
        s = Serve(os.path.join(self.dir, "data2"))
        self.servers.append(s)
        self.assert_refused(s, {"url": self.a, "target_words": ["budget"]}, contains="--media-root")

    def test_token(self):
        s = self.serve(token="correct-horse-battery")
        tok = s.token
        s.token = None
        code, data, headers = s.request("GET", "/tasks")
        self.assertEqual(code, 401)
        self.assertIn("Authorization", json.loads(data)["error"])
        code, _, _ = s.request("GET", "/tasks", headers={"Authorization": "Bearer wrong-token-here"})
        self.assertEqual(code, 401)
        code, _, _ = s.request("POST", "/create_compilation", {"url": self.a, "target_words": ["x"]})
        self.assertEqual(code, 401)
        self.assertEqual(s.request("GET", "/health/live")[0], 200)  # health needs no token
        s.token = tok
        self.assertEqual(s.request("GET", "/tasks")[0], 200)
        self.assertEqual(s.json("GET", "/tasks")[1]["tasks"], [])  # the refused post created nothing


class Concurrency(ServeCase):
    def test_eight_compilations_at_once_all_complete_correctly(self):
        s = self.serve(extra=["--max-running", "3"])
        expected = {self.a: 2, self.b: 1, self.c: 1}
        inputs = [self.a, self.b, self.c, self.a, self.b, self.c, self.a, self.b]
        ids = [None] * len(inputs)

        def post(i):
            code, r = s.json("POST", "/create_compilation", {"url": inputs[i], "target_words": ["budget"]})
            assert code == 200, r
            ids[i] = r["task_id"]

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(inputs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(set(ids)), 8)
        for i, tid in enumerate(ids):
            st = s.wait(tid)
            self.assertEqual(st["status"], "completed", st["errors"])
            self.assertEqual(st["word_count"], expected[inputs[i]], inputs[i])
            code, body, _ = s.request("GET", "/download/" + tid)
            self.assertEqual(code, 200)
            out = os.path.join(self.dir, tid + ".mp4")
            with open(out, "wb") as f:
                f.write(body)
            self.assertAlmostEqual(float(ffprobe(out)["format"]["duration"]), st["final_duration"], delta=0.1)

    def test_a_full_queue_answers_429(self):
        s = self.serve(extra=["--max-running", "1", "--max-queued", "1"])
        codes = []
        for _ in range(4):
            code, data, headers = s.request("POST", "/create_compilation",
                                            {"url": self.a, "target_words": ["budget"]})
            codes.append(code)
            if code == 429:
                self.assertEqual(headers.get("Retry-After"), "5")
                self.assertIn("queue is full", json.loads(data)["error"])
        self.assertIn(429, codes)
        self.assertEqual(codes[0], 200)


class CancelAndRestart(ServeCase):
    def test_cancel(self):
        s = self.serve(extra=["--max-running", "1"])
        _, first = s.json("POST", "/create_compilation", {"url": self.a, "target_words": ["budget"]})
        _, queued = s.json("POST", "/create_compilation", {"url": self.b, "target_words": ["budget"]})
        code, r = s.json("POST", "/cancel/" + queued["task_id"])
        self.assertEqual(code, 200, r)
        s.wait(first["task_id"], stage="transcribing")
        code, r = s.json("POST", "/cancel/" + first["task_id"])
        self.assertEqual(code, 200, r)
        for tid in (first["task_id"], queued["task_id"]):
            st = s.wait(tid)
            self.assertEqual(st["status"], "cancelled")
            self.assertIsNone(st["compilation_path"])
            self.assertEqual(s.request("GET", "/download/" + tid)[0], 404)
        code, r = s.json("POST", "/cancel/" + first["task_id"])
        self.assertEqual(code, 409)
        self.assertIn("already ended", r["error"])
        self.assertEqual(os.listdir(os.path.join(s.data, "outputs")), [])  # nothing half-written

    def long_talk(self):
        """Talk a six times over (90 s): long enough to act while it is transcribed."""
        path = os.path.join(self.media, "long.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "5", "-i", self.a, "-c", "copy", path],
                       check=True)
        return path

    def wait_first_input_done(self, s, tid):
        """Until talk c (the first input) is transcribed and matched, while the second is in the works."""
        end = time.time() + 120
        while time.time() < end:
            _, st = s.json("GET", "/status/" + tid)
            if st["words_found"] >= 1 and st["stage"] == "transcribing":
                return st
            self.assertIn(st["status"], ("queued", "processing"), st)
            time.sleep(0.05)
        raise AssertionError("the first input was not done in time")

    def test_a_killed_server_resumes_its_task_after_a_restart(self):
        s = self.serve()
        _, r = s.json("POST", "/create_compilation", {"url": [self.c, self.long_talk()], "target_words": ["budget"]})
        tid = r["task_id"]
        self.wait_first_input_done(s, tid)
        s.stop(signal.SIGKILL)  # no chance to save anything more
        self.assertEqual([f for f in os.listdir(os.path.join(s.data, "outputs")) if not f.startswith(".")], [])
        s2 = self.serve()
        st = s2.wait(tid)
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertEqual(st["word_count"], 1 + 2 * 6)
        self.assertEqual(st["resumed"], 1)
        # talk c was complete before the kill: its transcript came from the library.
        self.assertEqual(st["transcripts_from_library"], 1)
        _, h = s2.json("GET", "/status/%s/history" % tid)
        states = [(e["status"], e["stage"]) for e in h["history"]]
        first_transcribing = states.index(("processing", "transcribing"))
        requeued = states.index(("queued", "queued"), 1)
        self.assertLess(first_transcribing, requeued)  # the history before the kill is still there
        self.assertEqual(states[-1], ("completed", "done"))
        self.assertEqual(s2.request("GET", "/download/" + tid)[0], 200)

    def test_early_termination_compiles_what_was_found(self):
        s = self.serve()
        _, r = s.json("POST", "/create_compilation", {"url": [self.c, self.long_talk()], "target_words": ["budget"]})
        tid = r["task_id"]
        self.wait_first_input_done(s, tid)
        code, r2 = s.json("POST", "/cancel/" + tid, {"early_termination": True})
        self.assertEqual(code, 200, r2)
        st = s.wait(tid)
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertTrue(st["early_termination"])
        self.assertEqual(st["word_count"], 1)  # talk c's "budget"; the long talk was not finished
        self.assertTrue(any("stopped early" in e for e in st["errors"]), st["errors"])
        self.assertEqual(s.request("GET", "/download/" + tid)[0], 200)

    def test_sigterm_stops_gracefully_and_the_task_resumes(self):
        s = self.serve()
        _, r = s.json("POST", "/create_compilation", {"url": self.a, "target_words": ["budget"]})
        s.wait(r["task_id"], stage="transcribing")
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(s.proc.wait(timeout=30), 0)
        s2 = self.serve()
        st = s2.wait(r["task_id"])
        self.assertEqual(st["status"], "completed", st["errors"])
        self.assertEqual(st["word_count"], 2)


if __name__ == "__main__":
    unittest.main()
