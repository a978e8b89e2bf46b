#!/usr/bin/env python3
"""WebSocket answers per second on an `input api` port, through the real binary.

Starts `woodwork-actors serve` on a mock pipeline (`input api` -> `llm mock`, which answers
"echo: <input>" streamed word by word), opens N sockets (default 200) with the real `websockets`
client, and has each send inputs one after another (the next once the previous `agent.response`
arrived) for a fixed time. Prints answers/s over all sockets and the per-answer latency p50/p99
(input sent -> `agent.response` received). One client process: past a few thousand answers/s the
client's own event loop is part of the figure, so the number is a floor for the server.

  cargo build --release --bin woodwork-actors
  .venv/bin/python scripts/bench-ws.py [--sockets 200] [--seconds 5] [--bin target/release/woodwork-actors]
"""
import argparse, asyncio, json, os, subprocess, sys, tempfile, time

import websockets

WW = """model = llm mock {}
door = input api { port: 0, to: model }
"""


def start_server(binary, workers):
    d = tempfile.mkdtemp(prefix="bench-ws-")
    path = os.path.join(d, "main.ww")
    with open(path, "w") as f:
        f.write(WW)
    args = [binary, "serve", path, "--port", "0"]
    if workers:
        args += ["--workers", str(workers)]
    env = dict(os.environ, RUST_LOG="warn")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("input api `door` listening on http://"):
            return proc, "ws://" + line.split("http://", 1)[1].strip() + "/input"
    proc.kill()
    sys.exit("the server did not print its input api address")


async def socket_loop(ws, i, stop_at, latencies, counts):
    n = 0
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        await ws.send(json.dumps({"type": "user_input", "input": f"socket {i} message {n}"}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame["event"] == "agent.response":
                break
            if frame["event"] in ("agent.error", "error"):
                counts["errors"] += 1
                break
        latencies.append(time.perf_counter() - t0)
        n += 1
    counts["answers"] += n


async def run(url, sockets, seconds):
    latencies, counts = [], {"answers": 0, "errors": 0}
    # Every socket is open and greeted before the clock starts.
    conns = await asyncio.gather(*(websockets.connect(url, open_timeout=60) for _ in range(sockets)))
    for ws in conns:
        json.loads(await ws.recv())  # session.connected
    t0 = time.perf_counter()
    await asyncio.gather(*(socket_loop(ws, i, t0 + seconds, latencies, counts) for i, ws in enumerate(conns)))
    elapsed = time.perf_counter() - t0
    await asyncio.gather(*(ws.close() for ws in conns))
    return counts, latencies, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=0, help="--workers for serve (default: its own)")
    ap.add_argument("--bin", default=os.environ.get("WOODWORK_BIN", "target/release/woodwork-actors"))
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit(f"{a.bin} not found: cargo build --release --bin woodwork-actors (or --bin PATH)")
    proc, url = start_server(a.bin, a.workers)
    try:
        counts, lat, elapsed = asyncio.run(run(url, a.sockets, a.seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    print(f"sockets: {a.sockets}, seconds: {elapsed:.2f}, answers: {counts['answers']}, errors: {counts['errors']}")
    print(f"answers/s: {counts['answers'] / elapsed:.0f}")
    print(f"latency ms: p50 {pct(0.50):.2f}, p99 {pct(0.99):.2f}")


if __name__ == "__main__":
    main()
