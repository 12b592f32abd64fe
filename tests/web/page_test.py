"""The web page of `studioflow serve` in a real browser: Debian's headless
Chromium driven by playwright-core (page.mjs). Starts a compilation from the
form on a synthesized talk, watches it complete, checks the player, and
saves a screenshot (SF_SCREENSHOT, default build/serve-page.png).

Chromium, node and playwright-core are required (scripts/install-deps.sh
installs them): without them the test fails and says what is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
import serve_lib  # noqa: E402
from serve_lib import e2e_lib  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = os.environ.get("SF_SCREENSHOT", os.path.join(e2e_lib.ROOT, "build", "serve-page.png"))


def require_tools(test):
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("%s (apt-get install chromium)" % CHROMIUM)
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        missing.append("tests/web/node_modules/playwright-core (run scripts/install-deps.sh)")
    if missing:
        test.fail("the browser test needs: " + ", ".join(missing))


def run_page(url, media, word, shot, token=None):
    args = ["node", os.path.join(HERE, "page.mjs"), url, media, word, shot] + ([token] if token else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=420, cwd=HERE)
    if p.returncode != 0:
        raise AssertionError("page.mjs failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    return json.loads(p.stdout.strip().splitlines()[-1])


class Page(unittest.TestCase):
    def setUp(self):
        require_tools(self)
        self.media = tempfile.mkdtemp(prefix="sf-page-media-")
        self.talk = os.path.join(self.media, "morning_news.mp4")
        shutil.copy(e2e_lib.talk("a"), self.talk)
        self.shots = tempfile.mkdtemp(prefix="sf-page-shot-")

    def tearDown(self):
        shutil.rmtree(self.media, ignore_errors=True)
        shutil.rmtree(self.shots, ignore_errors=True)

    def check(self, r, server, expected_problems=()):
        self.assertEqual(r["title"], "studioflow")
        self.assertEqual([p for p in r["problems"] if not any(e in p for e in expected_problems)], [])
        self.assertIn("Engine: sphinx", r["system"])
        self.assertIn("workers", r["system"])
        self.assertEqual(r["seen_states"][-1], "completed", r)
        # The form sends targeted search (on unless unticked) and the confidence bar.
        self.assertIs(r["create_request"]["targeted"], True, r["create_request"])
        self.assertEqual(r["create_request"]["min_confidence"], 0.6, r["create_request"])
        self.assertIn("morning_news", r["task_text"])
        self.assertIn("budget", r["task_text"])
        self.assertEqual(float(r["bar_width"].rstrip("%")), 100)
        self.assertTrue(r["cancel_hidden"])
        # The player has the compilation as its source, and it plays.
        video = r["video"]
        self.assertIsNone(video["error"], video)
        self.assertGreaterEqual(video["readyState"], 1, video)
        self.assertTrue(r["frame_shown"], video)
        self.assertGreater(video["width"], 0, video)
        self.assertGreater(video["height"], 0, video)
        status, tasks = server.json("GET", "/tasks")
        task = tasks["tasks"][0]
        self.assertEqual(task["status"], "completed")
        status, st = server.json("GET", "/status/" + task["task_id"])
        self.assertAlmostEqual(video["duration"], st["final_duration"], delta=0.2)
        return task

    def test_compilation_from_the_form(self):
        server = serve_lib.Server(media_roots=[self.media])
        try:
            shot = os.path.join(self.shots, "page.png")
            r = run_page(server.url + "/", self.talk, "budget", shot)
            task = self.check(r, server)
            self.assertTrue(r["video"]["src"].endswith("/download/" + task["task_id"]), r["video"])
            self.assertGreater(os.path.getsize(shot), 10000)
            os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
            shutil.copy(shot, SCREENSHOT)
        finally:
            server.stop()

    def test_with_a_token(self):
        server = serve_lib.Server(media_roots=[self.media], token="page-test-token")
        try:
            r = run_page(server.url + "/", self.talk, "budget", os.path.join(self.shots, "token.png"),
                         token="page-test-token")
            self.assertTrue(r["asked_for_token"])
            self.assertEqual(r["token_stored"], "page-test-token")
            # Before the token is given, the page's requests are refused.
            self.check(r, server, expected_problems=["status of 401"])
            self.assertTrue(r["video"]["src"].startswith("blob:"), r["video"])
        finally:
            server.stop()


class StopButtons(unittest.TestCase):
    """"Stop & compile found" and "Cancel" on tasks still transcribing (a long talk)."""

    def setUp(self):
        require_tools(self)
        self.media = tempfile.mkdtemp(prefix="sf-page-media-")
        self.talk = os.path.join(self.media, "long_news.mp4")
        subprocess.run(["/usr/bin/python3", e2e_lib.SYNTH, self.talk, "--repeat", "4", "--size", "160x90", "--fps",
                        "10"], check=True, capture_output=True)

    def tearDown(self):
        shutil.rmtree(self.media, ignore_errors=True)

    def test_stop_and_cancel(self):
        server = serve_lib.Server(media_roots=[self.media])
        try:
            p = subprocess.run(["node", os.path.join(HERE, "cancel.mjs"), server.url + "/", self.talk, "budget"],
                               capture_output=True, text=True, timeout=700, cwd=HERE)
            if p.returncode != 0:
                raise AssertionError("cancel.mjs failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
            r = json.loads(p.stdout.strip().splitlines()[-1])
            self.assertEqual(r["problems"], [])
            # "Stop & compile found": the seed's early termination, asked while transcribing.
            self.assertEqual(r["stop_request"], {"early_termination": True})
            self.assertEqual(r["stop_answer"]["status"], "stopping")
            self.assertTrue(r["stop_answer"]["early_termination"])
            self.assertLess(r["stopped_at_percent"], 100)
            _, st = server.json("GET", "/status/" + r["stopped_task"])
            self.assertIn(st["status"], ("completed", "cancelled"))
            self.assertIn(st["status"], r["stopped_text"])
            # What was found is compiled and served (the player itself is checked by Page).
            # (A stop that arrives once transcription is over changes nothing.)
            # Only whole inputs are compiled: a stop inside the only input finds nothing.
            if st["status"] == "completed":
                code = server.request("GET", "/download/" + r["stopped_task"])[0]
                if "No target words found in any video" in st["errors"]:
                    self.assertEqual(code, 404)
                else:
                    self.assertEqual(code, 200)
            else:
                self.assertEqual(r["stopped_player"], 0)
            # "Cancel": no body, the task ends cancelled and its buttons go.
            self.assertIsNone(r["cancel_request"])
            self.assertEqual(r["cancel_answer"]["status"], "cancelling")
            self.assertIn("cancelled", r["cancelled_text"])
            self.assertTrue(r["cancelled_buttons_hidden"])
            _, st = server.json("GET", "/status/" + r["cancelled_task"])
            self.assertEqual(st["status"], "cancelled")
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
