"""N real WebSocket clients (the `websockets` package) at once against an `input api` `/input`:
each opens its socket, sends `socket-<i>`, and reads until its `agent.response`. Prints one JSON
document for tests/it/input_api.rs: per socket its session id, the session ids and events of
every frame it got, and the answer.

    ws_many.py ws://127.0.0.1:PORT/input N
"""

import asyncio
import json
import sys

import websockets

READ_TIMEOUT = 60.0


async def one(url, i):
    async with websockets.connect(url, open_timeout=READ_TIMEOUT) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), READ_TIMEOUT))
        await ws.send(json.dumps({"type": "user_input", "input": f"socket-{i}"}))
        seen, events = set(), []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), READ_TIMEOUT))
            seen.add(frame.get("session_id"))
            events.append(frame.get("event"))
            if frame.get("event") in ("agent.response", "agent.error"):
                return {
                    "input": f"socket-{i}",
                    "session_id": hello["payload"]["session_id"],
                    "seen_sessions": sorted(s for s in seen if s is not None),
                    "events": events,
                    "answer": frame["payload"].get("response"),
                    "error": frame["payload"].get("error"),
                }


async def main(url, n):
    results = await asyncio.gather(*(one(url, i) for i in range(n)), return_exceptions=True)
    out = []
    for r in results:
        out.append({"exception": repr(r)} if isinstance(r, BaseException) else r)
    print(json.dumps({"sockets": out}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
