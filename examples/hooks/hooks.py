"""Hooks and pipes for examples/hooks/main.ww, in woodwork's form: each function takes the
event's payload dict and returns nothing (a hook) or the new payload (a pipe)."""

import json
import os
import sys
import tempfile

# Outside the checkout, so running the example leaves no file behind in it.
LOG = os.environ.get("WW_EVENTS_LOG") or os.path.join(tempfile.gettempdir(), "woodwork-hooks-events.jsonl")


def record(payload):
    """Global hook: every event of every component and of the runtime, one JSON line each."""
    with open(LOG, "a") as f:
        f.write(json.dumps(payload) + "\n")


def tidy(payload):
    """Global pipe: trims the input before any component sees it."""
    if isinstance(payload.get("input"), str):
        payload["input"] = payload["input"].strip()
    return payload


def on_response(payload):
    """The agent's own hook, the shorthand form: runs for each of its events."""
    print("agent event:", payload.get("response", ""), file=sys.stderr)
