"""A small HTTP/1.1 file server for the URL tests and benchmarks (stdlib only).

Serves the files under a root folder on 127.0.0.1 (an ephemeral port by
default) with range requests and keep-alive, as media servers and CDNs do,
and counts the body bytes sent per file, so tests can check how much of a
file a reader fetched. Modes:
  normal  every request answered in full
  drop    a response is cut (the connection closed) after `drop_after` body
          bytes, at most `drops` times per file: a network that fails mid-file
  slow    each response waits `delay` seconds and then sends at most `rate`
          bytes per second

Use from Python:  srv = start(root, mode="drop"); srv.url("a.mp4"); srv.bytes_served["a.mp4"]; srv.stop()
or as a program:  http_server.py ROOT [--mode M] [--port P]  (prints the base URL)
"""
import argparse
import email.utils
import http.server
import mimetypes
import os
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".m3u": "audio/x-mpegurl", ".ts": "video/mp2t",
         ".html": "text/html; charset=utf-8", ".mp4": "video/mp4", ".m4a": "audio/mp4", ".webm": "video/webm"}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root, mode="normal", drop_after=300_000, drops=3, delay=0.05, rate=4_000_000, port=0,
                 send_buffer=128 * 1024):
        self.root = os.path.realpath(root)
        self.send_buffer = send_buffer
        self.mode = mode
        self.drop_after = drop_after
        self.drops = drops
        self.delay = delay
        self.rate = rate
        self.lock = threading.Lock()
        self.bytes_served = {}   # relative path -> body bytes sent
        self.requests = {}       # relative path -> requests answered
        self.dropped = {}        # relative path -> responses cut
        super().__init__(("127.0.0.1", port), Handler)
        self.port = self.server_address[1]
        self.thread = None

    def url(self, rel=""):
        return "http://127.0.0.1:%d/%s" % (self.port, urllib.parse.quote(rel))

    def reset_counts(self):
        with self.lock:
            self.bytes_served.clear()
            self.requests.clear()
            self.dropped.clear()

    def total_bytes(self):
        with self.lock:
            return sum(self.bytes_served.values())

    def handle_error(self, request, client_address):
        # Readers close connections when they seek: not an error here.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # A fixed send buffer, as a server across a real network has in
        # flight: loopback's autotuned buffers (megabytes) would let every
        # request a reader abandons after a seek take most of a small file,
        # and the byte counts would measure the kernel, not the reader.
        if self.server.send_buffer:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.server.send_buffer)

    def log_message(self, fmt, *args):  # quiet: tests read the counters instead
        pass

    def _count(self, table, rel, n):
        with self.server.lock:
            table[rel] = table.get(rel, 0) + n

    def _resolve(self):
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        full = os.path.realpath(os.path.join(self.server.root, rel))
        if not (full == self.server.root or full.startswith(self.server.root + os.sep)):
            return rel, None
        return rel, full if os.path.isfile(full) else None

    def _error(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        srv = self.server
        rel, full = self._resolve()
        if full is None:
            return self._error(404, "not found: " + rel)
        size = os.path.getsize(full)
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if not m or (m.group(1) == "" and m.group(2) == ""):
                return self._error(416, "bad range")
            if m.group(1) == "":
                start = max(0, size - int(m.group(2)))
            else:
                start = int(m.group(1))
                if m.group(2) != "":
                    end = min(end, int(m.group(2)))
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        length = end - start + 1
        if srv.mode == "slow":
            time.sleep(srv.delay)
        self.send_response(status)
        ext = os.path.splitext(full)[1].lower()
        self.send_header("Content-Type", TYPES.get(ext) or mimetypes.guess_type(full)[0] or "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        self.send_header("Last-Modified", email.utils.formatdate(os.path.getmtime(full), usegmt=True))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        self._count(srv.requests, rel, 1)
        if self.command == "HEAD":
            return
        cut_at = None
        if srv.mode == "drop" and length > srv.drop_after:
            with srv.lock:
                if srv.dropped.get(rel, 0) < srv.drops:
                    srv.dropped[rel] = srv.dropped.get(rel, 0) + 1
                    cut_at = srv.drop_after
        sent = 0
        with open(full, "rb") as f:
            f.seek(start)
            while sent < length:
                chunk = f.read(min(65536, length - sent, (cut_at - sent) if cut_at is not None else 65536))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
                self._count(srv.bytes_served, rel, len(chunk))
                if srv.mode == "slow" and srv.rate > 0:
                    time.sleep(len(chunk) / srv.rate)
                if cut_at is not None and sent >= cut_at:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
        if sent < length:
            self.close_connection = True


def start(root, **kw):
    srv = Server(root, **kw)
    srv.thread = threading.Thread(target=srv.serve_forever, daemon=True)
    srv.thread.start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--mode", default="normal", choices=["normal", "drop", "slow"])
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = Server(a.root, mode=a.mode, port=a.port)
    print(srv.url(), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
