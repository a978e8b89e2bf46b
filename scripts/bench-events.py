#!/usr/bin/env python3
"""/events throughput: frames per second delivered to 10 subscribers while a mock pipeline runs.

Starts `woodwork-actors serve examples/quickstart/main.ww` (an input, an agent on `llm mock`, a
console output), drives it with a few keep-alive clients posting inputs for --seconds, first with
no subscriber (the pipeline alone), then with --subscribers `/events` readers, and prints turns/s
for both, the frames each subscriber read per second, and any `lagged` frames (frames lost by a
reader that fell behind). Standard library only.

    cargo build --release --bin woodwork-actors
    python3 scripts/bench-events.py [--bin target/release/woodwork-actors] [--seconds 5]
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def start(binary, extra):
    p = subprocess.Popen(
        [binary, "serve", os.path.join(ROOT, "examples/quickstart/main.ww"), "--port", "0"] + extra,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, RUST_LOG="warn"))
    for line in p.stdout:
        if line.startswith("listening on "):
            host, port = line.split("http://")[1].strip().rsplit(":", 1)
            return p, host, int(port)
    p.kill()
    sys.exit("the server did not start")


def load(host, port, stop, counts, i):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    n = 0
    while not stop.is_set():
        body = json.dumps({"input": f"hello {n}", "session_id": f"bench-{i}-{n % 50}"})
        conn.request("POST", "/in/input", body, {"content-type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            n += 1
    counts[i] = n


def subscribe(host, port, stop, counts, lagged, ready, i):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/events")
    r = conn.getresponse()
    assert r.status == 200, r.status
    ready.release()
    n = 0
    while not stop.is_set():
        line = r.readline()
        if not line:
            break
        if line.startswith(b"id: "):
            n += 1
        elif line.startswith(b"event: lagged"):
            lagged[i] += 1
    counts[i] = n
    conn.close()


def phase(host, port, seconds, subscribers, clients):
    stop, sub_stop = threading.Event(), threading.Event()
    ready = threading.Semaphore(0)
    frames, lagged = [0] * subscribers, [0] * subscribers
    subs = [threading.Thread(target=subscribe, args=(host, port, sub_stop, frames, lagged, ready, i),
                             daemon=True) for i in range(subscribers)]
    for t in subs:
        t.start()
    for _ in subs:
        ready.acquire()
    turns = [0] * clients
    workers = [threading.Thread(target=load, args=(host, port, stop, turns, i)) for i in range(clients)]
    t0 = time.monotonic()
    for t in workers:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in workers:
        t.join()
    elapsed = time.monotonic() - t0
    time.sleep(0.5)  # let the last frames arrive
    sub_stop.set()
    # A reader blocked in readline wakes at the next keep-alive (2 s).
    for t in subs:
        t.join(timeout=5)
    return sum(turns) / elapsed, [f / elapsed for f in frames], sum(lagged)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "woodwork-actors"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--subscribers", type=int, default=10)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args()
    p, host, port = start(a.bin, [])
    try:
        base, _, _ = phase(host, port, a.seconds, 0, a.clients)
        with_feed, per_sub, lagged = phase(host, port, a.seconds, a.subscribers, a.clients)
    finally:
        p.terminate()
        p.wait(timeout=30)
    total = sum(per_sub)
    print(f"pipeline alone:            {base:10.0f} turns/s ({a.clients} clients)")
    print(f"with {a.subscribers} /events readers:   {with_feed:10.0f} turns/s")
    print(f"frames delivered:          {total:10.0f} frames/s in all, "
          f"{min(per_sub):.0f}..{max(per_sub):.0f} per subscriber")
    print(f"lagged frames:             {lagged:10d} (a reader fell behind and was told)")


if __name__ == "__main__":
    main()
