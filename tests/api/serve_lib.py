"""Starting `studioflow serve` for the tests: a real server on 127.0.0.1 with
its own data folder, on a free port (read from its first line)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import e2e_lib  # noqa: E402


class Server:
    def __init__(self, media_roots=(), token=None, extra=(), files=None):
        """files: {path under the data folder: bytes} written before the start."""
        self.dir = tempfile.mkdtemp(prefix="sf-serve-")
        self.data = os.path.join(self.dir, "data")
        for rel, data in (files or {}).items():
            os.makedirs(os.path.dirname(os.path.join(self.data, rel)), exist_ok=True)
            with open(os.path.join(self.data, rel), "wb") as f:
                f.write(data)
        args = [e2e_lib.BINARY, "serve", "--port", "0", "--data", self.data]
        for r in media_roots:
            args += ["--media-root", r]
        if token:
            args += ["--token", token]
        args += list(extra)
        env = dict(os.environ)
        env.pop("STUDIOFLOW_TOKEN", None)
        env.pop("STUDIOFLOW_LIBRARY", None)  # the server's library lives in its data folder
        self.token = token
        self.log = open(os.path.join(self.dir, "serve.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.log.seek(0)
            raise AssertionError("serve did not start: %r\n%s" % (line, self.log.read()))
        self.url = m.group(1)
        # Keep reading stdout so the server never blocks on a full pipe.
        self._reader = threading.Thread(target=self.proc.stdout.read, daemon=True)
        self._reader.start()

    def request(self, method, path, body=None, headers=None, timeout=300):
        """(status, headers, body bytes) of one request."""
        h = dict(headers or {})
        if self.token and "Authorization" not in h:
            h["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method, path, body=None, headers=None):
        status, h, data = self.request(method, path, body, headers)
        return status, json.loads(data)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def multipart(fields, files, boundary):
    """The body the official OpenAI Python client (httpx) sends: one part per
    field, repeated names for lists, the file part with its name and type."""
    out = b""
    for name, value in fields:
        out += b"--" + boundary + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
        out += value.encode() + b"\r\n"
    for name, filename, ctype, data in files:
        out += b"--" + boundary + b"\r\n"
        out += (b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="' + filename.encode() +
                b'"\r\n')
        out += b"Content-Type: " + ctype.encode() + b"\r\n\r\n"
        out += data + b"\r\n"
    out += b"--" + boundary + b"--\r\n"
    return out
