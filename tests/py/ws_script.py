"""A real WebSocket client (the `websockets` package) that plays a plan against an `input api`
`/input` socket and prints every frame it received, as one JSON document on stdout, for the Rust
integration tests (tests/it/input_api.rs) to assert on.

    ws_script.py ws://127.0.0.1:PORT/input '{"headers": {...}, "steps": [...]}'

Steps, in order:
    {"send": "text"}              a text frame
    {"send_bytes": N}             a binary frame of N bytes
    {"recv": N}                   read N frames
    {"until": ["agent.response"]} read frames until one of these events
    {"abort": true}               drop the TCP connection without a close handshake
    {"close": true}               a normal close
    {"mark": "text"}              print text on stderr (a test waits for it before acting)
    {"wait_close": true}          read frames until the server closes; records {"closed": CODE}

Output: {"frames": [...]} or {"refused": STATUS, "body": "..."} when the upgrade was refused.
Every read is bounded (READ_TIMEOUT): a hang fails with exit 2 instead of hanging the test.
"""

import asyncio
import json
import sys

import websockets

READ_TIMEOUT = 30.0


async def play(url, plan):
    frames = []
    try:
        ws = await websockets.connect(
            url,
            additional_headers=plan.get("headers") or None,
            max_size=None,
            open_timeout=READ_TIMEOUT,
        )
    except websockets.exceptions.InvalidStatus as e:
        body = e.response.body.decode("utf-8", "replace") if e.response.body else ""
        return {"refused": e.response.status_code, "body": body}
    aborted = False
    try:
        for step in plan["steps"]:
            if "send" in step:
                await ws.send(step["send"])
            elif "send_bytes" in step:
                await ws.send(b"\x01" * step["send_bytes"])
            elif "recv" in step:
                for _ in range(step["recv"]):
                    frames.append(json.loads(await asyncio.wait_for(ws.recv(), READ_TIMEOUT)))
            elif "until" in step:
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), READ_TIMEOUT))
                    frames.append(frame)
                    if frame.get("event") in step["until"]:
                        break
            elif "mark" in step:
                print(step["mark"], file=sys.stderr, flush=True)
            elif step.get("wait_close"):
                try:
                    while True:
                        frames.append(json.loads(await asyncio.wait_for(ws.recv(), READ_TIMEOUT)))
                except websockets.exceptions.ConnectionClosed as e:
                    frames.append({"closed": e.rcvd.code if e.rcvd else None})
                break
            elif step.get("abort"):
                ws.transport.abort()
                aborted = True
                break
            elif step.get("close"):
                await ws.close()
                break
    finally:
        if not aborted:
            await ws.close()
    return {"frames": frames}


def main():
    url, plan = sys.argv[1], json.loads(sys.argv[2])
    try:
        out = asyncio.run(play(url, plan))
    except asyncio.TimeoutError:
        print(json.dumps({"error": "timed out waiting for a frame"}))
        sys.exit(2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
