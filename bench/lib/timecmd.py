#!/usr/bin/python3
"""Runs one command and prints its cost as JSON on stdout.

    timecmd.py [--stdout FILE] -- CMD [ARG...]

Prints {"wall": s, "user": s, "sys": s, "cpu": s, "rc": n, "load1": x}: wall
seconds, CPU seconds of the command and every descendant it waited for, and
the 1-minute load average just before the start (how busy the machine was).
The command's stdout goes to FILE (default: stderr, so it does not mix with
the JSON). Exits with the command's status.
"""
import json
import os
import resource
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    out = None
    if len(args) >= 2 and args[0] == "--stdout":
        out, args = args[1], args[2:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    load1 = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sink = open(out, "wb") if out else sys.stderr
    t0 = time.perf_counter()
    rc = subprocess.run(args, stdout=sink).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out:
        sink.close()
    user = after.ru_utime - before.ru_utime
    syst = after.ru_stime - before.ru_stime
    print(json.dumps({"wall": round(wall, 3), "user": round(user, 3), "sys": round(syst, 3),
                      "cpu": round(user + syst, 3), "rc": rc, "load1": load1}))
    return rc


if __name__ == "__main__":
    sys.exit(main())
