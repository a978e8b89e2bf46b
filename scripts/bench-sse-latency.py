#!/usr/bin/env python3
"""Added latency per streamed token, provider socket -> SSE client, through the real binary.

A loopback server speaking OpenAI Chat Completions SSE streams N tokens, one chunked write each,
paced (default 1 ms apart, so every token is measured unqueued); each token's text is the
CLOCK_MONOTONIC time (ns) at which it was written. The client times each token's arrival:
  direct   - the client reads the provider's stream itself (kernel + Python parsing cost),
  relay    - through a bare TCP relay (examples/bench_relay.rs: one thread, read -> write): the
             floor for any server between the two, one thread wake-up + one read + one write,
  woodwork - `woodwork-actors serve` with `llm openai` on that server, the client reading
             `POST /model/input?stream=true` (SSE `stream.chunk` events).
The three run in interleaved rounds; the figure is the server's own cost per token, woodwork's
p50 minus the relay's p50 in the same round (median of rounds). Target (DESIGN.md §6): <= 15 us.

  cargo build --release --bin woodwork-actors --example bench_relay
  python3 scripts/bench-sse-latency.py [--tokens 500] [--rounds 5] [--gap-us 1000]
"""
import argparse, http.client, json, multiprocessing, os, socket, subprocess, sys, tempfile, threading, time

def provider(port_queue, tokens, gap_ns):
    """Runs in its own process: the client's Python thread must not wait on this one's GIL."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0)); srv.listen(16)
    port_queue.put(srv.getsockname()[1])
    def serve(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = b""
        while b"\r\n\r\n" not in data:
            d = c.recv(65536)
            if not d: return
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            body += c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        def send(ev):
            b = ev.encode()
            c.sendall(b"%x\r\n" % len(b) + b + b"\r\n")
        send('data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n')
        for _ in range(tokens):
            time.sleep(gap_ns / 1e9)
            send('data: {"choices":[{"index":0,"delta":{"content":"%d "},"finish_reason":null}]}\n\n' % time.monotonic_ns())
        send('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
        send("data: [DONE]\n\n")
        c.sendall(b"0\r\n\r\n")
        c.close()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def read_sse(resp, pick):
    lat = []
    while True:
        line = resp.readline()
        if not line: break
        now = time.monotonic_ns()
        if not line.startswith(b"data: "): continue
        t = pick(line[6:])
        if t is not None: lat.append(now - t)
    return lat

def pick_provider(data):
    if data.strip() == b"[DONE]": return None
    c = json.loads(data)["choices"][0]["delta"].get("content") or ""
    return int(c) if c.strip() else None

def pick_woodwork(data):
    ev = json.loads(data)
    if ev.get("event_type") != "stream.chunk": return None
    c = ev["payload"]["chunk"].strip()
    return int(c) if c else None

def pct(xs, p): xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p))] / 1000.0

def stream_once(port):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/v1/chat/completions", body=b"{}", headers={"content-type": "application/json"})
    return read_sse(conn.getresponse(), pick_provider)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=500, help="tokens per stream")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of direct, relay, woodwork, interleaved")
    ap.add_argument("--gap-us", type=int, default=1000)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "woodwork-actors"))
    ap.add_argument("--relay", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples", "bench_relay"))
    a = ap.parse_args()
    for path in (a.bin, a.relay):
        if not os.path.exists(path):
            sys.exit("%s is missing: build it with `cargo build --release --bin woodwork-actors --example bench_relay`" % path)
    q = multiprocessing.Queue()
    prov = multiprocessing.Process(target=provider, args=(q, a.tokens, a.gap_us * 1000), daemon=True)
    prov.start()
    port = q.get(timeout=30)
    r = subprocess.Popen([a.relay, "127.0.0.1:0", "127.0.0.1:%d" % port], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    rport = int(r.stdout.readline().decode().strip().rsplit(":", 1)[1])
    d = tempfile.mkdtemp()
    ww = os.path.join(d, "main.ww")
    open(ww, "w").write('model = llm openai { api_key: "sk-bench", model: "m", base_url: "http://127.0.0.1:%d/v1" }\n' % port)
    p = subprocess.Popen([a.bin, "serve", ww, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env={**os.environ, "RUST_LOG": "warn"})
    runs = {"direct": [], "relay": [], "woodwork": []}
    try:
        base = None
        for line in p.stdout:
            line = line.decode()
            if line.startswith("listening on "): base = line.split("listening on ")[1].strip(); break
        host, port2 = base.replace("http://", "").split(":")
        threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
        def woodwork():
            conn = http.client.HTTPConnection(host, int(port2))
            conn.request("POST", "/model/input?stream=true", body=json.dumps({"input": "go"}),
                         headers={"content-type": "application/json"})
            return read_sse(conn.getresponse(), pick_woodwork)
        woodwork()  # warm-up: connection pools, first allocations
        # Interleaved rounds: a burst of load from elsewhere on the machine lands on all three
        # alike, and the figures are per-round differences, not one long run against another.
        for _ in range(a.rounds):
            runs["direct"].append(stream_once(port))
            runs["relay"].append(stream_once(rport))
            runs["woodwork"].append(woodwork())
    finally:
        p.terminate(); p.wait(); r.terminate(); r.wait(); prov.terminate()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print("tokens=%d x %d rounds, gap=%dus" % (a.tokens, a.rounds, a.gap_us))
    for name, rs in runs.items():
        xs = [x for r_ in rs for x in r_]
        print("%-9s n=%d p50=%.1fus p90=%.1fus p99=%.1fus" % (name, len(xs), pct(xs, .5), pct(xs, .9), pct(xs, .99)))
    over = [pct(w, .5) - pct(r_, .5) for w, r_ in zip(runs["woodwork"], runs["relay"])]
    floor = [pct(r_, .5) - pct(d_, .5) for r_, d_ in zip(runs["relay"], runs["direct"])]
    print("relay added over direct, p50 per round: %s us (the floor: one thread wake-up, a read, a write)"
          % " ".join("%.1f" % x for x in floor))
    print("woodwork over the relay, p50 per round: %s us" % " ".join("%.1f" % x for x in over))
    print("woodwork over the relay p50 (median of rounds) = %.1f us (target <= 15 us, DESIGN.md §6)" % med(over))

if __name__ == "__main__":
    main()
