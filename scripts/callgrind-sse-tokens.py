#!/usr/bin/env python3
"""Instructions per streamed token in the real binary, repeatable under load (wall-clock figures
on a shared 2-core machine are not): `woodwork-actors serve` runs under valgrind's callgrind with
`llm openai` on the paced provider of `bench-sse-latency.py`; after two warm-up turns the counters
are zeroed, one streamed turn of N tokens runs, and the counts are dumped. The gap must stay
above the server's per-token time under valgrind (a few ms), or tokens queue and batch.

  cargo build --release --bin woodwork-actors
  python3 scripts/callgrind-sse-tokens.py [--tokens 400] [--gap-us 8000] [--out /tmp/cg.sse]
  callgrind_annotate --inclusive=yes /tmp/cg.sse.1 | less   # totals / tokens = per token
"""
import argparse, importlib.util, json, http.client, multiprocessing, os, subprocess, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=400)
    ap.add_argument("--gap-us", type=int, default=8000)
    ap.add_argument("--out", default="/tmp/cg.sse")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "woodwork-actors"))
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bench", os.path.join(HERE, "bench-sse-latency.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    q = multiprocessing.Queue()
    prov = multiprocessing.Process(target=bench.provider, args=(q, a.tokens, a.gap_us * 1000), daemon=True)
    prov.start()
    port = q.get(timeout=30)
    ww = os.path.join(tempfile.mkdtemp(), "main.ww")
    open(ww, "w").write('model = llm openai { api_key: "sk-bench", model: "m", base_url: "http://127.0.0.1:%d/v1" }\n' % port)
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + a.out, a.bin, "serve", ww, "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
    try:
        base = None
        for line in p.stdout:
            line = line.decode()
            if line.startswith("listening on "):
                base = line.split("listening on ")[1].strip()
                break
        host, port2 = base.replace("http://", "").split(":")
        threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
        def turn():
            conn = http.client.HTTPConnection(host, int(port2))
            conn.request("POST", "/model/input?stream=true", body=json.dumps({"input": "go"}),
                         headers={"content-type": "application/json"})
            return bench.read_sse(conn.getresponse(), bench.pick_woodwork)
        turn(); turn()  # warm-up: connection pools, the event feed's recorder, first allocations
        time.sleep(0.5)
        subprocess.run(["callgrind_control", "-z", str(p.pid)], stdout=subprocess.DEVNULL, check=True)
        lat = turn()
        subprocess.run(["callgrind_control", "-d", "streamed", str(p.pid)], stdout=subprocess.DEVNULL, check=True)
    finally:
        p.terminate(); p.wait(); prov.terminate()
    total = 0
    with open(a.out + ".1") as f:
        for line in f:
            if line.startswith("summary:"):
                total = int(line.split()[1])
    print("tokens=%d gap=%dus p50 under valgrind=%.0fus" % (len(lat), a.gap_us, bench.pct(lat, .5)))
    print("instructions per token = %d (%d in the streamed turn; profile: %s.1)" % (total // max(1, len(lat)), total, a.out))

if __name__ == "__main__":
    main()
