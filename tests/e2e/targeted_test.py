"""End-to-end tests of targeted search: a supercut listens for its words,
finds a name the recognizer's dictionary lacks, and on a degraded copy of a
talk finds what it finds on the clean one. Short talks (a few seconds)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from e2e_lib import run

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import degrade  # noqa: E402


def say(text, path, voice="slt"):
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", path], check=True)


class TargetedSearch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-e2e-targeted-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cut(self, path, words, *extra, codes=(0, 4), flag="--targeted"):
        rep = os.path.join(self.dir, "r.json")
        if os.path.exists(rep):
            os.remove(rep)
        args = ["supercut", "-i", path, "--dry-run", "--no-library", "--report", rep] + ([flag] if flag else [])
        for w in words:
            args += ["-w", w]
        p = run(args + list(extra))
        self.assertIn(p.returncode, codes, p.stderr)
        if p.returncode != 0 and not os.path.exists(rep):
            return None, p
        with open(rep) as f:
            return json.load(f), p

    def found(self, report):
        return sorted(m["query"] for c in report["clips"] for m in c["matches"])

    def test_an_out_of_dictionary_name_is_found(self):
        path = os.path.join(self.dir, "name.wav")
        say("Doctor Okonkwo spoke to the council.", path)
        report, p = self.cut(path, ["okonkwo", "council"])
        self.assertTrue(report["targeted"])
        self.assertIn("okonkwo", self.found(report), p.stdout)
        m = [m for c in report["clips"] for m in c["matches"] if m["query"] == "okonkwo"][0]
        self.assertFalse(m["evidence"]["one_best"])  # the one-best transcript cannot have it
        self.assertTrue(m["evidence"]["spotted"])
        self.assertGreaterEqual(m["confidence"], report["min_confidence"])

    def test_a_model_whose_phone_lengths_cannot_be_read_still_listens(self):
        # PocketSphinx reads a model definition in text too; the phone
        # lengths are read from the binary one only. Such a model loads with
        # a warning naming the file, and its detections are judged by a
        # fixed length a phone: the name is still found, without an
        # expected length in its evidence.
        model = os.path.join(self.dir, "model")
        hmm = os.path.join(model, "en-us")
        os.makedirs(hmm)
        pkg = subprocess.run(["pkg-config", "--variable=modeldir", "pocketsphinx"], capture_output=True, text=True)
        source = os.path.join(pkg.stdout.strip() or "/usr/share/pocketsphinx/model", "en-us")
        for name in os.listdir(os.path.join(source, "en-us")):
            if name != "mdef":
                os.symlink(os.path.join(source, "en-us", name), os.path.join(hmm, name))
        for name in ("en-us.lm.bin", "cmudict-en-us.dict"):
            os.symlink(os.path.join(source, name), os.path.join(model, name))
        subprocess.run(["pocketsphinx_mdef_convert", "-text", os.path.join(source, "en-us", "mdef"),
                        os.path.join(hmm, "mdef")], check=True, capture_output=True)
        path = os.path.join(self.dir, "name.wav")
        say("Doctor Okonkwo spoke to the council.", path)
        report, p = self.cut(path, ["okonkwo", "council"], "--model", model)
        self.assertIn(os.path.join(hmm, "mdef") + " is not readable", p.stderr)
        self.assertIn("fixed length a phone", p.stderr)
        self.assertEqual(self.found(report), ["council", "okonkwo"], p.stdout)
        for c in report["clips"]:
            for m in c["matches"]:
                self.assertNotIn("expected_seconds", m["evidence"])
        # The model as installed gives the expected lengths.
        report, p = self.cut(path, ["okonkwo", "council"])
        self.assertNotIn("not readable", p.stderr)
        spotted = [m for c in report["clips"] for m in c["matches"] if m["evidence"]["spotted"]]
        self.assertTrue(spotted)
        for m in spotted:
            self.assertGreater(m["evidence"]["expected_seconds"], 0)

    def test_targeted_search_is_the_default_and_can_be_turned_off(self):
        path = os.path.join(self.dir, "name.wav")
        say("Doctor Okonkwo spoke to the council.", path)
        report, p = self.cut(path, ["okonkwo", "council"], flag=None)
        self.assertTrue(report["targeted"])
        self.assertEqual(self.found(report), ["council", "okonkwo"], p.stdout)
        # The one-best transcript alone hears "dr congo spoke to the town sell".
        report, p = self.cut(path, ["okonkwo", "council"], flag="--no-targeted", codes=(4,))
        self.assertIsNone(report)
        self.assertIn("no match", p.stderr)
        _, p = self.cut(path, ["okonkwo"], "--no-targeted", codes=(2,))
        self.assertIn("contradict", p.stderr)

    def test_a_word_that_cannot_be_pronounced_is_named(self):
        path = os.path.join(self.dir, "x.wav")
        say("The council met today.", path)
        _, p = self.cut(path, ["council", "qx9z"])
        self.assertIn("qx9z", p.stderr)

    def degraded(self, noise="pink", seed=1, snr=20):
        clean = os.path.join(self.dir, "clean.wav")
        say("The budget was approved by the council. Teachers say the budget helps.", clean, "rms")
        noisy = os.path.join(self.dir, "noisy.wav")
        degrade.write_wav(noisy, degrade.degrade(degrade.read_wav(clean), noise=noise, snr=snr, seed=seed))
        words = ["budget", "council", "teachers"]
        want, _ = self.cut(clean, words)
        got, p = self.cut(noisy, words)
        self.assertEqual(self.found(want), ["budget", "budget", "council", "teachers"])
        return want, got, p

    def test_degraded_talk_finds_no_wrong_words(self):
        want, got, p = self.degraded()
        found = self.found(got)
        for q in set(found):
            self.assertLessEqual(found.count(q), self.found(want).count(q), p.stdout)
        self.assertGreaterEqual(len(found), 3, p.stdout)

    # At 20 dB pink noise every word of the clean copy is found (with the
    # noise taken out before recognition, asr/sphinx/denoise.h).
    def test_degraded_talk_finds_what_the_clean_one_finds(self):
        want, got, p = self.degraded()
        self.assertEqual(self.found(got), self.found(want), p.stdout)

    # The evidence says what noise a word was heard in (the fusion trusts
    # the spotter more in steady noise): the clean copy is at 30 dB or more
    # (or has no noise to measure); pink noise at 20 dB reads below 30 dB.
    # The spread tells steady noise from voices: a babble spreads more than
    # pink noise, beyond the 3.5 dB the fusion calls steady. (This short
    # pink copy reads 4.8 dB: its quietest frames mix the pauses' noise
    # with the softest speech; the bench's longer stretches read 1.1-4.1.)
    def test_the_evidence_carries_the_noise_where_it_was_heard(self):
        def spotted(report):
            return [m["evidence"] for c in report["clips"] for m in c["matches"] if m["evidence"]["spotted"]]

        want, got, p = self.degraded()
        clean = [m["evidence"] for c in want["clips"] for m in c["matches"]]
        pink = spotted(got)
        self.assertTrue(clean)
        self.assertTrue(pink, p.stdout)
        for e in clean:
            self.assertGreaterEqual(e.get("snr_db", 99), 30, e)
        for e in pink:
            self.assertLess(e["snr_db"], 30, e)
            self.assertGreater(e["snr_db"], 10, e)
        self.assertIn(",n", p.stdout)  # --dry-run shows it too
        _, babble, p = self.degraded("babble", seed=3)
        voices = spotted(babble)
        self.assertTrue(voices, p.stdout)
        for e in voices:
            self.assertLess(e["snr_db"], 30, e)
            self.assertGreater(e["noise_spread_db"], 3.5, e)
            self.assertGreater(e["noise_spread_db"], max(n["noise_spread_db"] for n in pink) + 2, (e, pink))

    # Under a babble of voices at 20 dB too: the babble is not steady, so
    # it is not denoised (subtracting one noise spectrum from it lost
    # "teachers" with this seed).
    def test_talk_under_babble_finds_what_the_clean_one_finds(self):
        want, got, p = self.degraded("babble", seed=3)
        self.assertEqual(self.found(got), self.found(want), p.stdout)

    # Under a music bed at 10 dB too: the recognizer's model is fitted to
    # the noisy audio before it listens (asr/sphinx/adapt.h). Heard through
    # the model as trained, "council" is lost with this seed.
    def test_talk_under_loud_music_finds_what_the_clean_one_finds(self):
        want, got, p = self.degraded("music", seed=4, snr=10)
        self.assertEqual(self.found(got), self.found(want), p.stdout)

    def test_the_library_keeps_targeted_hits_for_the_same_words(self):
        path = os.path.join(self.dir, "lib.wav")
        say("Doctor Okonkwo spoke to the council about the budget.", path)
        lib = os.path.join(self.dir, "library.db")

        def cut(*words):
            rep = os.path.join(self.dir, "lib-report.json")
            args = ["supercut", "-i", path, "--dry-run", "--targeted", "--library", lib, "--report", rep]
            for w in words:
                args += ["-w", w]
            p = run(args)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(rep) as f:
                return json.load(f)

        def clips(report):
            return [(c["start"], c["end"], c["confidence"],
                     [(m["query"], m["confidence"], m["evidence"]) for m in c["matches"]]) for c in report["clips"]]

        first = cut("okonkwo", "council")
        self.assertEqual((first["transcripts_from_library"], first["targeted_from_library"]), (0, 0))
        self.assertIn("okonkwo", self.found(first))
        # The same words again, in another order: nothing is decoded, and the
        # clips, confidences and evidence are those of the first run.
        again = cut("council", "okonkwo")
        self.assertEqual((again["transcripts_from_library"], again["targeted_from_library"]), (1, 1))
        self.assertEqual(clips(again), clips(first))
        # Other words: the one-best transcript is the library's, the audio is
        # listened to again for them, and those hits are kept too.
        other = cut("budget")
        self.assertEqual((other["transcripts_from_library"], other["targeted_from_library"]), (1, 0))
        self.assertEqual(self.found(other), ["budget"])
        self.assertEqual(cut("budget")["targeted_from_library"], 1)

    def test_every_clip_carries_confidence_and_evidence(self):
        path = os.path.join(self.dir, "c.wav")
        say("The council met today.", path)
        report, p = self.cut(path, ["council"])
        self.assertTrue(p.stdout.strip())
        spotted = []
        for c in report["clips"]:
            self.assertIn("confidence", c)
            for m in c["matches"]:
                self.assertIn("evidence", m)
                if m["evidence"]["spotted"]:
                    spotted.append(m["evidence"])
        # The spotter heard the word said clearly, in about as long as
        # people take to say its phones (not squeezed: fusion.h).
        self.assertTrue(spotted, report["clips"])
        for e in spotted:
            self.assertIn("spot_score", e)
            self.assertGreater(e["phone_seconds"], 0.05, e)
            self.assertLess(e["phone_seconds"], 0.3, e)
            # The length the acoustic model expects of K AW N S AH L, and
            # the detection at least 0.8 of it.
            self.assertGreater(e["expected_seconds"], 0.3, e)
            self.assertLess(e["expected_seconds"], 1.0, e)
            self.assertGreaterEqual(e["phone_seconds"] * e["phones"], 0.8 * e["expected_seconds"], e)
        _, p = self.cut(path, ["council"], "--min-confidence", "1.01", codes=(2,))
        self.assertIn("--min-confidence", p.stderr)


class LibraryTargeted(unittest.TestCase):
    """The targeted pass over media the library knows: search --targeted and
    supercut --from-library --targeted listen again to part of the audio."""

    SENTENCES = [
        "Doctor Okonkwo spoke to the council.",
        "The weather was cold and the river was high.",
        "Children played football in the park until dark.",
        "The budget was approved on Monday.",
        "Farmers sold apples and bread at the market.",
        "Okonkwo thanked the teachers for their work.",
    ]

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-e2e-libtargeted-")
        self.talk = os.path.join(self.dir, "talk.wav")
        import numpy as np
        parts = []
        for i, text in enumerate(self.SENTENCES):
            wav = os.path.join(self.dir, "s%d.wav" % i)
            say(text, wav, "rms")
            parts += [degrade.read_wav(wav), np.zeros(16000 * 2, dtype=np.float32)]
        degrade.write_wav(self.talk, np.concatenate(parts))
        self.lib = os.path.join(self.dir, "library.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cut(self, *args):
        rep = os.path.join(self.dir, "r.json")
        p = run(["supercut", "--dry-run", "--report", rep] + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rep) as f:
            return json.load(f)

    def test_from_library_listens_again_to_part_of_the_audio(self):
        # The library gets the one-best transcript (no targeted pass).
        self.cut("-i", self.talk, "--library", self.lib, "-w", "council")
        full = self.cut("-i", self.talk, "--no-library", "--targeted", "-w", "okonkwo")
        part = self.cut("--from-library", "--library", self.lib, "--targeted", "-w", "okonkwo")
        self.assertTrue(part["targeted"])
        heard = part["targeted_listened"]
        self.assertEqual((heard["media"], heard["from_library"], heard["decoded_media"]), (1, 0, 1))
        # Only the places where the transcript says something like the
        # name were decoded, not the whole talk.
        self.assertGreater(heard["decoded_seconds"], 0)
        self.assertLess(heard["decoded_seconds"], 0.7 * heard["audio_seconds"])
        # What it found, a pass over the whole file finds there too (times
        # within a few frames: the whole-file pass also has the name in its
        # own one-best words, the library's transcript has not).
        def found(r):
            return [(round(c["start"], 2), round(c["end"], 2), round(c["confidence"], 3)) for c in r["clips"]]
        self.assertTrue(found(part))
        for s, e, conf in found(part):
            self.assertTrue(any(abs(s - s2) < 0.1 and abs(e - e2) < 0.1 for s2, e2, _ in found(full)),
                            (found(part), found(full)))
            self.assertGreaterEqual(conf, part["min_confidence"])
        # The same search again decodes nothing and cuts the same clips.
        again = self.cut("--from-library", "--library", self.lib, "--targeted", "-w", "okonkwo")
        self.assertEqual((again["targeted_listened"]["from_library"], again["targeted_listened"]["decoded_seconds"]),
                         (1, 0))
        self.assertEqual(found(again), found(part))

    def test_search_targeted_finds_what_the_transcript_lacks(self):
        self.cut("-i", self.talk, "--library", self.lib, "-w", "council")
        plain = run(["search", "okonkwo", "--library", self.lib])
        self.assertEqual(plain.returncode, 4, plain.stdout)  # the one-best transcript cannot say the name
        p = run(["search", "okonkwo", "--targeted", "--library", self.lib, "--json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        hits = json.loads(p.stdout)
        self.assertTrue(hits)
        for h in hits:
            self.assertEqual(h["query"], "okonkwo")
            self.assertTrue(h["evidence"]["spotted"])
            self.assertGreaterEqual(h["confidence"], 0.75)  # the default --min-confidence
            self.assertEqual(os.path.realpath(h["path"]), os.path.realpath(self.talk))
        # Each hit lies in a sentence that says the name: the first (from
        # 0 s) or the last (after five sentences and their pauses).
        for h in hits:
            self.assertTrue(h["start"] < 3.0 or h["start"] > 20.0, h)
        self.assertIn("listened again", p.stderr)
        # Plain text: path, time, confidence, the transcript there.
        p = run(["search", "okonkwo", "--targeted", "--library", self.lib])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.strip().splitlines()), len(hits))
        # Bad combinations are named.
        p = run(["search", "okonkwo", "--targeted", "--match", "prefix", "--library", self.lib])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--targeted", p.stderr)
        # --min-confidence without --targeted, whatever its value (the
        # default's too: it is the flag that is out of place).
        for value in ("0.2", "0.75"):
            p = run(["search", "okonkwo", "--min-confidence", value, "--library", self.lib])
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--min-confidence", p.stderr)


if __name__ == "__main__":
    unittest.main()
