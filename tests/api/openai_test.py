"""The OpenAI-compatible transcription API of `studioflow serve`, on a real
server with its worker pool, with the exact requests the official OpenAI
Python client sends (and curl -F)."""
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import serve_lib
from serve_lib import e2e_lib

BOUNDARY = b"4f1c2b9e8d7a6350b1e2f3a4c5d6e7f8"  # httpx: 32 hex digits
CLIENT_HEADERS = {  # what openai-python 1.x sends besides the body
    "Content-Type": "multipart/form-data; boundary=" + BOUNDARY.decode(),
    "User-Agent": "OpenAI/Python 1.54.0",
    "X-Stainless-Lang": "python",
    "X-Stainless-Package-Version": "1.54.0",
    "X-Stainless-Retry-Count": "0",
    "Accept": "application/json",
}


def content_words(text):
    return [w.strip(".,?!").lower() for w in text.split() if w.strip(".,?!")]


class OpenAiBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.talk = e2e_lib.talk("a")
        with open(cls.talk, "rb") as f:
            cls.audio = f.read()
        cls.timeline = e2e_lib.timeline(cls.talk)
        cls.server = serve_lib.Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def post(self, fields, files=None, path="/v1/audio/transcriptions", headers=None):
        if files is None:
            files = [("file", "talk.mp4", "video/mp4", self.audio)]
        body = serve_lib.multipart(fields, files, BOUNDARY)
        h = dict(CLIENT_HEADERS)
        h.update(headers or {})
        return self.server.request("POST", path, body, h)

    def assert_openai_error(self, status, body, code, param):
        self.assertEqual(status, code, body)
        e = json.loads(body)["error"]
        self.assertEqual(set(e), {"message", "type", "param", "code"})
        self.assertTrue(e["message"])
        self.assertEqual(e["type"], "invalid_request_error" if code < 500 else "server_error")
        self.assertEqual(e["param"], param)
        return e


class ResponseFormats(OpenAiBase):
    def test_json(self):
        status, h, body = self.post([("model", "whisper-1")])
        self.assertEqual(status, 200, body)
        self.assertTrue(h["Content-Type"].startswith("application/json"))
        d = json.loads(body)
        self.assertEqual(set(d), {"text"})
        words = content_words(d["text"])
        self.assertIn("budget", words)
        self.assertIn("council", words)

    def test_verbose_json_segments(self):
        status, _, body = self.post([("model", "whisper-1"), ("response_format", "verbose_json"),
                                     ("temperature", "0.2")])
        self.assertEqual(status, 200, body)
        d = json.loads(body)
        self.assertEqual(d["task"], "transcribe")
        self.assertEqual(d["language"], "english")
        self.assertAlmostEqual(d["duration"], self.timeline["duration"], delta=0.5)
        self.assertNotIn("words", d)  # only when asked
        segs = d["segments"]
        self.assertGreaterEqual(len(segs), 2)
        keys = {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio",
                "no_speech_prob"}
        last_end = 0
        for i, s in enumerate(segs):
            self.assertEqual(set(s), keys)
            self.assertEqual(s["id"], i)
            self.assertLess(s["start"], s["end"])
            self.assertGreaterEqual(s["start"], last_end - 1e-6)
            self.assertLessEqual(s["end"], d["duration"] + 0.1)
            self.assertEqual(s["seek"], int(s["start"] * 100))
            self.assertEqual(s["temperature"], 0.2)
            self.assertLessEqual(s["avg_logprob"], 0)
            self.assertGreater(s["compression_ratio"], 0)
            self.assertIsInstance(s["tokens"], list)
            last_end = s["end"]
        self.assertEqual(d["text"], " ".join(s["text"] for s in segs if s["text"]))
        # Segments are where the sentences were spoken.
        for sentence in self.timeline["sentences"]:
            self.assertTrue(any(s["start"] <= sentence["end"] and s["end"] >= sentence["start"] for s in segs),
                            sentence)

    def test_verbose_json_words_and_segments(self):
        status, _, body = self.post([("model", "whisper-1"), ("response_format", "verbose_json"),
                                     ("timestamp_granularities[]", "word"),
                                     ("timestamp_granularities[]", "segment")])
        self.assertEqual(status, 200, body)
        d = json.loads(body)
        self.assertIn("segments", d)
        words = d["words"]
        self.assertEqual([w["word"].lower().strip(".,") for w in words], content_words(d["text"]))
        for w in words:
            self.assertEqual(set(w), {"word", "start", "end"})
            self.assertLessEqual(w["start"], w["end"])
        # "budget" is said in the second sentence.
        budget = [w for w in words if w["word"].lower() == "budget"]
        self.assertTrue(budget)
        s2 = self.timeline["sentences"][1]
        self.assertTrue(s2["start"] - 0.3 <= budget[0]["start"] <= s2["end"] + 0.3, (budget[0], s2))

    def test_word_granularity_only(self):
        status, _, body = self.post([("model", "whisper-1"), ("response_format", "verbose_json"),
                                     ("timestamp_granularities[]", "word")])
        self.assertEqual(status, 200, body)
        d = json.loads(body)
        self.assertNotIn("segments", d)
        self.assertTrue(d["words"])

    def test_text(self):
        status, h, body = self.post([("model", "whisper-1"), ("response_format", "text")])
        self.assertEqual(status, 200, body)
        self.assertTrue(h["Content-Type"].startswith("text/plain"))
        _, _, jbody = self.post([("model", "whisper-1")])
        self.assertEqual(content_words(body.decode()), content_words(json.loads(jbody)["text"]))

    def test_srt(self):
        status, _, body = self.post([("model", "whisper-1"), ("response_format", "srt")])
        self.assertEqual(status, 200, body)
        blocks = body.decode().strip().split("\n\n")
        self.assertGreaterEqual(len(blocks), 2)
        for i, b in enumerate(blocks, 1):
            lines = b.split("\n")
            self.assertEqual(lines[0], str(i))
            self.assertRegex(lines[1], r"^\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d$")

    def test_vtt(self):
        status, h, body = self.post([("model", "whisper-1"), ("response_format", "vtt")])
        self.assertEqual(status, 200, body)
        self.assertTrue(h["Content-Type"].startswith("text/vtt"))
        text = body.decode()
        self.assertTrue(text.startswith("WEBVTT"))
        self.assertRegex(text, r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d")

    def test_curl_form(self):
        out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", self.server.url + "/v1/audio/transcriptions",
                              "-F", "file=@" + self.talk, "-F", "model=whisper-1", "-F",
                              "response_format=verbose_json", "-F", "timestamp_granularities[]=word"],
                             capture_output=True, text=True, check=True).stdout
        body, code = out.rsplit("\n", 1)
        self.assertEqual(code, "200", body)
        d = json.loads(body)
        self.assertIn("budget", [w["word"].lower() for w in d["words"]])

    def test_models(self):
        status, d = self.server.json("GET", "/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(d["object"], "list")
        self.assertEqual(d["data"][0]["id"], "sphinx")
        self.assertEqual(d["data"][0]["object"], "model")
        self.assertIsInstance(d["data"][0]["created"], int)
        # The listed id is accepted as the model, like "whisper-1".
        status, _, body = self.post([("model", d["data"][0]["id"])])
        self.assertEqual(status, 200, body)

    def test_uploads_are_removed(self):
        self.post([("model", "whisper-1")])
        uploads = os.path.join(self.server.data, "uploads")
        self.assertEqual(os.listdir(uploads), [])


class Errors(OpenAiBase):
    def test_unknown_response_format(self):
        status, _, body = self.post([("model", "whisper-1"), ("response_format", "xml")])
        e = self.assert_openai_error(status, body, 400, "response_format")
        self.assertIn("xml", e["message"])

    def test_missing_file(self):
        status, _, body = self.post([("model", "whisper-1")], files=[])
        self.assert_openai_error(status, body, 400, "file")

    def test_not_media(self):
        status, _, body = self.post([("model", "whisper-1")],
                                    files=[("file", "notes.mp3", "audio/mpeg", b"these are not sounds\n" * 200)])
        e = self.assert_openai_error(status, body, 400, "file")
        self.assertIn("notes.mp3", e["message"])
        self.assertNotIn(self.server.data, e["message"])  # the temporary path is not shown

    def test_empty_file(self):
        status, _, body = self.post([("model", "whisper-1")], files=[("file", "a.wav", "audio/wav", b"")])
        self.assert_openai_error(status, body, 400, "file")

    def test_not_multipart(self):
        status, _, body = self.server.request("POST", "/v1/audio/transcriptions", b'{"model": "whisper-1"}',
                                              {"Content-Type": "application/json"})
        self.assert_openai_error(status, body, 400, "file")

    def test_bad_temperature(self):
        for t in ["hot", "1.5", "-0.1"]:
            status, _, body = self.post([("model", "whisper-1"), ("temperature", t)])
            self.assert_openai_error(status, body, 400, "temperature")

    def test_bad_granularity(self):
        status, _, body = self.post([("response_format", "verbose_json"), ("timestamp_granularities[]", "char")])
        self.assert_openai_error(status, body, 400, "timestamp_granularities[]")
        # Granularities need verbose_json, as with OpenAI.
        status, _, body = self.post([("response_format", "json"), ("timestamp_granularities[]", "word")])
        self.assert_openai_error(status, body, 400, "timestamp_granularities[]")

    def test_unknown_model(self):
        status, _, body = self.post([("model", "gpt-9-transcribe")])
        e = self.assert_openai_error(status, body, 400, "model")
        self.assertEqual(e["code"], "model_not_found")

    def test_language(self):
        status, _, body = self.post([("model", "whisper-1"), ("language", "fr")])
        e = self.assert_openai_error(status, body, 400, "language")
        self.assertIn("sphinx", e["message"])
        status, _, body = self.post([("model", "whisper-1"), ("language", "English!")])
        self.assert_openai_error(status, body, 400, "language")
        status, _, body = self.post([("model", "whisper-1"), ("language", "en")])
        self.assertEqual(status, 200, body)

    def test_translation_needs_whisper(self):
        status, _, body = self.post([("model", "whisper-1")], path="/v1/audio/translations")
        e = self.assert_openai_error(status, body, 400, "model")
        self.assertIn("whisper", e["message"])

    def test_upload_too_large(self):
        # One byte over the server's limit on uploads (512 MiB): answered 413
        # in OpenAI's shape, the body read and dropped, nothing kept.
        size = (512 << 20) + 1
        host, port = self.server.url[len("http://"):].split(":")
        with socket.create_connection((host, int(port)), timeout=120) as s:
            s.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                      b"boundary=" + BOUNDARY + b"\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n")
            chunk = b"\0" * (1 << 20)
            sent = 0
            while sent < size:
                n = min(len(chunk), size - sent)
                s.sendall(chunk[:n])
                sent += n
            data = b""
            while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 20:
                got = s.recv(65536)
                if not got:
                    break
                data += got
                if b"}}" in data:
                    break
        status_line, rest = data.split(b"\r\n", 1)
        self.assertIn(b" 413 ", status_line)
        e = json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]
        self.assertEqual(e["code"], "file_too_large")
        self.assertEqual(e["param"], "file")
        self.assertEqual(os.listdir(os.path.join(self.server.data, "uploads")) if os.path.isdir(
            os.path.join(self.server.data, "uploads")) else [], [])

    def test_leftover_uploads_removed(self):
        # A server killed mid-request leaves its upload; the next start removes
        # it, but not the uploads of a server still running (this process).
        dead = "uploads/999999999-00000000deadbeef-0.mp4"
        live = "uploads/%d-00000000feedface-0.mp4" % os.getpid()
        srv = serve_lib.Server(files={dead: b"x", live: b"y"})
        try:
            self.assertEqual(os.listdir(os.path.join(srv.data, "uploads")), [os.path.basename(live)])
        finally:
            srv.stop()

    def test_token(self):
        srv = serve_lib.Server(token="s3cret-token")
        try:
            body = serve_lib.multipart([("model", "whisper-1")], [("file", "talk.mp4", "video/mp4", self.audio)],
                                       BOUNDARY)
            status, _, data = srv.request("POST", "/v1/audio/transcriptions", body,
                                          {"Content-Type": CLIENT_HEADERS["Content-Type"],
                                           "Authorization": "Bearer wrong"})
            self.assertEqual(status, 401)
            self.assertEqual(json.loads(data)["error"]["code"], "invalid_api_key")
            status, _, data = srv.request("POST", "/v1/audio/transcriptions", body,
                                          {"Content-Type": CLIENT_HEADERS["Content-Type"]})
            self.assertEqual(status, 200, data)
            self.assertIn("budget", content_words(json.loads(data)["text"]))
        finally:
            srv.stop()


class Concurrent(unittest.TestCase):
    """Four requests at once on a fresh server (nothing in its library): each
    answer is the transcript of its own file."""

    def test_four_at_once(self):
        work = tempfile.mkdtemp(prefix="sf-openai-")
        try:
            a = e2e_lib.talk("a")
            copy = os.path.join(work, "a_copy.mp4")  # other bytes, same sound: transcribed again
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", a, "-c", "copy", "-metadata", "title=copy", copy],
                           check=True)
            inputs = [(a, "a"), (e2e_lib.talk("b"), "b"), (e2e_lib.talk("c"), "c"), (copy, "a")]
            srv = serve_lib.Server()
            try:
                def one(item):
                    path, _ = item
                    with open(path, "rb") as f:
                        data = f.read()
                    body = serve_lib.multipart([("model", "whisper-1"), ("response_format", "verbose_json")],
                                               [("file", os.path.basename(path), "application/octet-stream", data)],
                                               BOUNDARY)
                    return srv.request("POST", "/v1/audio/transcriptions", body,
                                       {"Content-Type": CLIENT_HEADERS["Content-Type"]})
                with concurrent.futures.ThreadPoolExecutor(4) as ex:
                    results = list(ex.map(one, inputs))
            finally:
                srv.stop()
            texts = {}
            for (path, talk), (status, _, body) in zip(inputs, results):
                self.assertEqual(status, 200, body)
                d = json.loads(body)
                tl = e2e_lib.timeline(a if talk == "a" else path)
                self.assertAlmostEqual(d["duration"], tl["duration"], delta=0.5)
                texts.setdefault(talk, []).append(d["text"])
            # The same sound gives the same words, whatever ran beside it.
            self.assertEqual(texts["a"][0], texts["a"][1])
            self.assertIn("budget", content_words(texts["a"][0]))
            self.assertIn("football", content_words(texts["b"][0]))
            self.assertIn("radio", content_words(texts["c"][0]))
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
