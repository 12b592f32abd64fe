"""End-to-end tests of the transcript library: `transcribe` and `supercut`
reuse transcripts of known content (renamed files too, changed files not),
two processes share one library, damaged and newer library files are refused
untouched, and `search`, `supercut --from-library` and `library list|forget`
work on real transcripts of synthesized talks."""
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from e2e_lib import BINARY, run, talk, timeline, ffprobe, sentence_at

EXIT_BAD_INPUT, EXIT_NO_MATCH = 3, 4


def words_of(stdout):
    d = json.loads(stdout)
    return [(w["word"], w["start"], w["end"], w["probability"]) for s in d["segments"] for w in s["words"]]


class LibraryDir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-lib-")
        self.lib = os.path.join(self.dir, "library.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def copy(self, name, as_name=None):
        src = talk(name)
        dst = self.path(as_name or os.path.basename(src))
        shutil.copyfile(src, dst)
        shutil.copyfile(src + ".json", dst + ".json")
        return dst

    def transcribe(self, path, *extra):
        p = run(["transcribe", "-i", path, "--format", "json", "--library", self.lib] + list(extra))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p


class Cache(LibraryDir):
    def test_second_run_hit_renamed_hit_changed_miss(self):
        a = self.copy("a")
        first = self.transcribe(a)
        self.assertIn("library: 0 of 1 inputs known", first.stderr)
        second = self.transcribe(a)
        self.assertIn("library: 1 of 1 inputs known", second.stderr)
        # What comes back is exactly what the engine produced.
        self.assertEqual(words_of(second.stdout), words_of(first.stdout))
        self.assertGreater(len(words_of(first.stdout)), 10)

        renamed = self.path("renamed.mp4")
        os.rename(a, renamed)
        p = self.transcribe(renamed)
        self.assertIn("library: 1 of 1 inputs known", p.stderr)
        self.assertEqual(words_of(p.stdout), words_of(first.stdout))

        # Another model is another transcript (the model is keyed as given).
        p = self.transcribe(renamed, "--model", "/usr/share/pocketsphinx/model/en-us")
        self.assertIn("library: 0 of 1 inputs known", p.stderr)

        # The same file with bytes added is other content.
        with open(renamed, "ab") as f:
            f.write(b"\0" * 4096)
        p = self.transcribe(renamed)
        self.assertIn("library: 0 of 1 inputs known", p.stderr)

        p = run(["library", "list", "--json", "--library", self.lib], check=True)
        media = json.loads(p.stdout)
        self.assertEqual(len(media), 2)
        self.assertEqual(len(media[0]["transcripts"]), 2)
        self.assertIn(os.path.abspath(renamed), media[0]["paths"])

    def test_no_library_neither_reads_nor_writes(self):
        a = self.copy("c")
        p = run(["transcribe", "-i", a, "--format", "json", "--library", self.lib, "--no-library"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("library:", p.stderr)
        self.assertFalse(os.path.exists(self.lib))

    def test_environment_variable_chooses_the_file(self):
        a = self.copy("c")
        env = dict(os.environ, STUDIOFLOW_LIBRARY=self.path("env.db"))
        p = subprocess.run([BINARY, "transcribe", "-i", a, "--format", "txt"], capture_output=True, text=True,
                           env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(self.path("env.db")))
        help_env = subprocess.run([BINARY, "--help-env"], capture_output=True, text=True, env=env).stdout
        self.assertIn("STUDIOFLOW_LIBRARY", help_env)
        self.assertIn(self.path("env.db"), help_env)

    def test_two_processes_write_one_library_at_once(self):
        a, b = self.copy("a"), self.copy("b")
        procs = [subprocess.Popen([BINARY, "transcribe", "-i", x, "--format", "txt", "--library", self.lib,
                                   "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for x in (a, b)]
        for p in procs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
        media = json.loads(run(["library", "list", "--json", "--library", self.lib], check=True).stdout)
        self.assertEqual(sorted(os.path.basename(m["paths"][0]) for m in media), ["talk_a.mp4", "talk_b.webm"])
        for m in media:
            self.assertGreater(m["transcripts"][0]["words"], 5)
        p = self.transcribe(a)
        self.assertIn("library: 1 of 1 inputs known", p.stderr)


class BadLibrary(LibraryDir):
    def assert_refused(self, expect):
        with open(self.lib, "rb") as f:
            before = f.read()
        p = run(["transcribe", "-i", talk("c"), "--library", self.lib])
        self.assertEqual(p.returncode, EXIT_BAD_INPUT, p.stderr)
        self.assertIn(self.lib, p.stderr)
        self.assertIn(expect, p.stderr)
        with open(self.lib, "rb") as f:
            self.assertEqual(f.read(), before, "library file was changed")
        p = run(["search", "budget", "--library", self.lib])
        self.assertEqual(p.returncode, EXIT_BAD_INPUT, p.stderr)
        self.assertIn(self.lib, p.stderr)

    def test_corrupt_file_is_refused_and_kept(self):
        with open(self.lib, "wb") as f:
            f.write(b"SQLite format 3\0" + os.urandom(8192))
        self.assert_refused("damaged")

    def test_newer_schema_is_refused_and_kept(self):
        self.transcribe(self.copy("c"))
        db = sqlite3.connect(self.lib)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA user_version = 42")
        db.execute("PRAGMA journal_mode = DELETE")
        db.close()
        self.assert_refused("schema version 42")

    def test_missing_library_for_search(self):
        p = run(["search", "budget", "--library", self.lib])
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("does not exist", p.stderr)
        self.assertFalse(os.path.exists(self.lib))


class SearchAndCut(LibraryDir):
    """Three talks in one library: search finds every 'budget' in the known
    sentences; supercut --from-library cuts them without transcribing."""

    def setUp(self):
        super().setUp()
        self.inputs = [self.copy("a"), self.copy("b"), self.copy("c")]
        p = run(["transcribe", "-i"] + self.inputs + ["--format", "txt", "--library", self.lib])
        self.assertEqual(p.returncode, 0, p.stderr)

    def expected(self, word):
        out = []
        for path in self.inputs:
            for s in timeline(path)["sentences"]:
                if word in s["text"].lower():
                    out.append((os.path.abspath(path), s))
        return out

    def test_search_words_and_phrases_at_the_known_sentences(self):
        p = run(["search", "budget", "--json", "--library", self.lib], check=True)
        hits = json.loads(p.stdout)
        expected = self.expected("budget")
        self.assertEqual(len(hits), len(expected))
        for h, (path, s) in zip(hits, expected):
            self.assertEqual(h["path"], path)
            self.assertGreaterEqual(h["start"], s["start"] - 0.3)
            self.assertLessEqual(h["end"], s["end"] + 0.3)
            self.assertIn("budget", h["sentence"]["text"].lower())
            self.assertLessEqual(h["sentence"]["start"], h["start"])
            self.assertGreaterEqual(h["sentence"]["end"], h["end"])

        # Plain output: path, time, sentence.
        p = run(["search", "BUDGET", "--library", self.lib], check=True)
        lines = p.stdout.strip().split("\n")
        self.assertEqual(len(lines), len(expected))
        self.assertTrue(lines[0].startswith(os.path.abspath(self.inputs[0]) + "\t00:"))

        # A phrase (several arguments are one phrase), a prefix, one medium.
        p = run(["search", "the", "budget", "--json", "--library", self.lib], check=True)
        phrase = json.loads(p.stdout)
        self.assertGreaterEqual(len(phrase), 2)
        for h in phrase:
            self.assertEqual([w.lower().strip(".,") for w in h["words"]], ["the", "budget"])
        p = run(["search", "budg", "--match", "prefix", "--json", "--library", self.lib], check=True)
        self.assertEqual(len(json.loads(p.stdout)), len(expected))
        p = run(["search", "budget", "--media", self.inputs[1], "--json", "--library", self.lib], check=True)
        self.assertEqual([h["path"] for h in json.loads(p.stdout)], [os.path.abspath(self.inputs[1])])
        p = run(["search", "budget", "--limit", "1", "--json", "--library", self.lib], check=True)
        self.assertEqual(len(json.loads(p.stdout)), 1)
        p = run(["search", "zebra", "--library", self.lib])
        self.assertEqual(p.returncode, EXIT_NO_MATCH)
        p = run(["search", "budget", "--media", self.path("nope.mp4"), "--library", self.lib])
        self.assertEqual(p.returncode, 3)
        self.assertIn("nope.mp4", p.stderr)

    def test_supercut_from_library_transcribes_nothing_and_skips_missing_files(self):
        out, rep = self.path("cut.mp4"), self.path("cut.json")
        p = run(["--log-level", "debug", "supercut", "--from-library", "-w", "budget", "-o", out, "--report", rep,
                 "--library", self.lib])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("transcription worker", p.stderr)
        with open(rep) as f:
            report = json.load(f)
        expected = self.expected("budget")
        self.assertEqual([os.path.abspath(c["path"]) for c in report["clips"]], [e[0] for e in expected])
        info = ffprobe(out)
        self.assertAlmostEqual(float(info["format"]["duration"]), report["output"]["duration"], delta=0.1)

        # A medium whose file is gone or changed is skipped with a warning.
        os.remove(self.inputs[2])
        with open(self.inputs[1], "ab") as f:
            f.write(b"\0" * 1024)
        p = run(["supercut", "--from-library", "-w", "budget", "--dry-run", "--library", self.lib])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is gone", p.stderr)
        self.assertIn("changed since it was transcribed", p.stderr)
        paths = {line.split("\t")[0] for line in p.stdout.strip().split("\n")}
        self.assertEqual(paths, {os.path.abspath(self.inputs[0])})

        # -i and --from-library do not go together; a word nobody said.
        p = run(["supercut", "--from-library", "-i", self.inputs[0], "-w", "budget", "--dry-run",
                 "--library", self.lib])
        self.assertEqual(p.returncode, 2)
        p = run(["supercut", "--from-library", "-w", "zebra", "--dry-run", "--library", self.lib])
        self.assertEqual(p.returncode, EXIT_NO_MATCH)

    def test_list_and_forget(self):
        media = json.loads(run(["library", "list", "--json", "--library", self.lib], check=True).stdout)
        self.assertEqual(len(media), 3)
        p = run(["library", "forget", self.inputs[0], "--library", self.lib], check=True)
        self.assertIn("forgot %d" % media[0]["id"], p.stdout)
        os.remove(self.inputs[2])
        p = run(["library", "forget", "--missing", "--library", self.lib], check=True)
        self.assertIn("forgot %d" % media[2]["id"], p.stdout)
        media = json.loads(run(["library", "list", "--json", "--library", self.lib], check=True).stdout)
        self.assertEqual([m["paths"][0] for m in media], [os.path.abspath(self.inputs[1])])
        hits = json.loads(run(["search", "budget", "--json", "--library", self.lib], check=True).stdout)
        self.assertEqual({h["path"] for h in hits}, {os.path.abspath(self.inputs[1])})
        p = run(["library", "forget", "12345", "--library", self.lib])
        self.assertEqual(p.returncode, 3)


if __name__ == "__main__":
    unittest.main()
