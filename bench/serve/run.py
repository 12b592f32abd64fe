#!/usr/bin/python3
"""Load benchmark of `studioflow serve` on loopback (bounded in count and time).

1. Requests per second on GET /status/<task_id> (one real task), from
   --clients keep-alive connections for --seconds.
2. Transcription requests (POST /v1/audio/transcriptions) completed per
   minute: --requests uploads one by one, then --requests others all at
   once. Beside it, the parallelism the machine gives now (two busy
   processes against one, before and after), the ceiling of that ratio on
   a shared machine. The talk has --sentences sentences (one segment each: with one, a
   request alone keeps one worker busy). Every upload is a distinct file (the talk remuxed with its own
   title), so the transcript library never answers from a cache.

Prints one JSON object. Usage:
  bench/serve/run.py [--binary build/release/studioflow] [--requests 6] [--seconds 5] [--clients 8] [--sentences 1]
"""
import argparse
import concurrent.futures
import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYNTH = os.path.join(ROOT, "scripts", "synth_talk.py")
BOUNDARY = "5e0b1c9a7d3f4e2a8b6c0d1e2f3a4b5c"


def multipart(filename, data):
    head = ('--%s\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
            '--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
            'Content-Type: video/mp4\r\n\r\n' % (BOUNDARY, BOUNDARY, filename)).encode()
    return head + data + ("\r\n--%s--\r\n" % BOUNDARY).encode()


def cpu_seconds(pid):
    """User + system CPU seconds of `pid` and of each of its children (the workers)."""
    def one(p):
        with open("/proc/%d/stat" % p) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = set()
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            children.update(int(c) for c in f.read().split())
    return one(pid), {c: one(c) for c in children}


def _spin(seconds, q):
    t0, c0 = time.monotonic(), time.process_time()
    while time.monotonic() - t0 < seconds:
        pass
    q.put(time.process_time() - c0)


def parallel_ceiling(seconds=2.0):
    """The machine's parallelism available to us now: CPU seconds that two
    busy processes get together over what one gets alone, in the same wall
    time (2.0 on two idle cores; less when others' work shares them)."""
    got = []
    for n in (1, 2):
        q = multiprocessing.Queue()
        ps = [multiprocessing.Process(target=_spin, args=(seconds, q)) for _ in range(n)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        got.append(sum(q.get() for _ in ps))
    return got[1] / got[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "studioflow"))
    ap.add_argument("--requests", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--sentences", type=int, default=1, choices=[1, 2, 3, 4])
    a = ap.parse_args()
    a.requests = max(1, min(a.requests, 32))
    a.seconds = max(1, min(a.seconds, 60))
    work = tempfile.mkdtemp(prefix="sf-bench-serve-")
    proc = None
    try:
        talk = os.path.join(work, "talk.mp4")
        sentences = ["The budget was approved by the council today.", "Teachers say the new budget helps every school.",
                     "Nobody expected the budget to pass so quickly.", "The city budget will be discussed tomorrow."]
        synth = ["/usr/bin/python3", SYNTH, talk]
        for sentence in sentences[:a.sentences]:
            synth += ["--sentence", sentence]
        subprocess.run(synth, check=True, capture_output=True)
        files = []
        for i in range(2 * a.requests):
            p = os.path.join(work, "copy%02d.mp4" % i)
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", talk, "-c", "copy", "-metadata", "title=copy %d" % i,
                            p], check=True)
            with open(p, "rb") as f:
                files.append((os.path.basename(p), f.read()))
        media = os.path.join(work, "media")
        os.makedirs(media)
        shutil.copy(talk, media)
        proc = subprocess.Popen([a.binary, "serve", "--port", "0", "--data", os.path.join(work, "data"),
                                 "--media-root", media], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
        if not m:
            raise SystemExit("serve did not start")
        port = int(m.group(1))
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        base = "http://127.0.0.1:%d" % port
        load0 = os.getloadavg()[0]
        ceiling_before = parallel_ceiling()

        # 1. /status under load.
        req = urllib.request.Request(base + "/create_compilation", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"url": os.path.join(media, "talk.mp4"),
                                                      "target_words": ["budget"]}).encode())
        task = json.load(urllib.request.urlopen(req))["task_id"]
        while json.load(urllib.request.urlopen(base + "/status/" + task))["status"] in ("queued", "processing"):
            time.sleep(0.2)
        def rps(path):
            counts = [0] * a.clients
            stop_at = time.monotonic() + a.seconds

            def poll(i):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                while time.monotonic() < stop_at:
                    c.request("GET", path)
                    r = c.getresponse()
                    r.read()
                    if r.status == 200:
                        counts[i] += 1
                c.close()
            t0 = time.monotonic()
            threads = [threading.Thread(target=poll, args=(i,)) for i in range(a.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sum(counts) / (time.monotonic() - t0)
        status_rps = rps("/status/" + task)
        live_rps = rps("/health/live")  # the floor: the HTTP layer alone

        # 2. Transcriptions: one by one, then all at once.
        def transcribe(item):
            name, data = item
            r = urllib.request.Request(base + "/v1/audio/transcriptions", data=multipart(name, data), method="POST",
                                       headers={"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
            text = json.load(urllib.request.urlopen(r, timeout=600))["text"]
            if "budget" not in text.lower():
                raise SystemExit("wrong transcript: %r" % text)
        def busy(before, after, wall):
            """Cores kept busy: the server, and each worker, in CPU seconds per wall second."""
            workers = sorted(round((after[1][w] - before[1].get(w, 0)) / wall, 2) for w in after[1])
            return {"server": round((after[0] - before[0]) / wall, 2), "workers": workers}
        c0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        for item in files[:a.requests]:
            transcribe(item)
        sequential = time.monotonic() - t0
        c1 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(a.requests) as ex:
            list(ex.map(transcribe, files[a.requests:]))
        concurrent_s = time.monotonic() - t0
        c2 = cpu_seconds(proc.pid)
        load1 = os.getloadavg()[0]
        ceiling_after = parallel_ceiling()
        print(json.dumps({
            "status_requests_per_second": round(status_rps, 1),
            "health_live_requests_per_second": round(live_rps, 1), "status_clients": a.clients,
            "status_seconds": a.seconds, "transcriptions": a.requests, "sentences": a.sentences,
            "sequential_seconds": round(sequential, 2), "concurrent_seconds": round(concurrent_s, 2),
            "sequential_per_minute": round(60 * a.requests / sequential, 1),
            "concurrent_per_minute": round(60 * a.requests / concurrent_s, 1),
            "speedup": round(sequential / concurrent_s, 2),
            "parallel_ceiling": [round(ceiling_before, 2), round(ceiling_after, 2)],
            "cores_busy_sequential": busy(c0, c1, sequential), "cores_busy_concurrent": busy(c1, c2, concurrent_s),
            "cores": os.cpu_count(), "load_at_start": round(load0, 2), "load_at_end": round(load1, 2)}, indent=1))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
