# Persistent Python worker for woodwork hooks and pipes (started by woodwork-actors).
# Protocol: one JSON request per line on stdin, one JSON answer per line on the original stdout.
# User code's print() goes to stderr so it can never corrupt the protocol.
import importlib.util
import json
import sys
import traceback

proto = sys.stdout
sys.stdout = sys.stderr


class Payload(dict):
    """A woodwork payload dict that also allows attribute access (payload.input)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value


def answer(obj):
    proto.write(json.dumps(obj, default=str) + "\n")
    proto.flush()


def main():
    path = sys.argv[1]
    try:
        spec = importlib.util.spec_from_file_location("woodwork_user_hooks", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - report any load failure to the runtime
        answer({"ok": False, "error": f"cannot load {path}: {type(e).__name__}: {e}"})
        return
    answer({"ok": True, "ready": True})
    for line in sys.stdin:
        try:
            req = json.loads(line)
            fn = getattr(module, req["fn"], None)
            if not callable(fn):
                answer({"ok": False, "error": f"{path} has no function {req['fn']!r}"})
                continue
            if req.get("check"):
                answer({"ok": True})
                continue
            payload = req.get("payload")
            if isinstance(payload, dict):
                payload = Payload(payload)
            result = fn(payload)
            if isinstance(result, dict):
                result = dict(result)
            answer({"ok": True, "result": result})
        except Exception as e:  # noqa: BLE001 - a failing hook is reported, never fatal
            tb = traceback.format_exc().strip().splitlines()[-1]
            answer({"ok": False, "error": f"{type(e).__name__}: {e} ({tb})"})


main()
