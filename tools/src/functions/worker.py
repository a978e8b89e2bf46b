# Persistent worker for woodwork `api functions` (embedded in woodwork-actors, run as
# `python3 -u -c <this> <file.py> <max answer text bytes>`).
#
# Protocol, JSON lines on private copies of fds 0 and 1:
#   out, once:  {"ok": true, "functions": [...]} or {"ok": false, "error": ..., "where": ...}
#   in:         {"fn": name, "kwargs": {...}}
#   out:        {"ok": true, "text": ..., "total"?: bytes} or {"ok": false, "error": "Type: message"}
# The user's code sees /dev/null as stdin and stderr as stdout (fd 1 too, so child processes
# and os.write(1, ...) land there), so nothing it does can corrupt the protocol.
import json
import os
import sys


def _private_fds():
    inp = os.dup(0)  # dup'ed fds are not inherited by child processes
    out = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return os.fdopen(inp, "rb"), os.fdopen(out, "wb")


_IN, _OUT = _private_fds()
_PATH = os.path.abspath(sys.argv[1])
_LIMIT = int(sys.argv[2]) if len(sys.argv) > 2 else 16384
sys.argv = [_PATH]

import inspect  # noqa: E402  (after the fds are safe: imports may print)
import traceback  # noqa: E402
import types  # noqa: E402
import typing  # noqa: E402

_SIMPLE = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    tuple: "array",
    set: "array",
    frozenset: "array",
    dict: "object",
}
_NAMES = {k.__name__: v for k, v in _SIMPLE.items()}
_NAMES.update({"List": "array", "Tuple": "array", "Set": "array", "Dict": "object"})
_UNION = getattr(types, "UnionType", None)


def _send(obj):
    try:
        line = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates in user text
        line = json.dumps(obj).encode("utf-8")
    _OUT.write(line + b"\n")
    _OUT.flush()


def _clip(text, limit):
    return text if len(text) <= limit else text[:limit] + "..."


def _json_type(ann):
    """(JSON type name or None, accepts None) for an annotation."""
    if ann is inspect.Parameter.empty or ann is typing.Any:
        return None, False
    if ann is None or ann is type(None):
        return "null", True
    if isinstance(ann, str):  # unresolved string annotation
        text = ann.replace(" ", "")
        if text.startswith("Optional["):
            return _NAMES.get(text[9:-1].split("[")[0].rsplit(".", 1)[-1]), True
        return _NAMES.get(text.split("[")[0].rsplit(".", 1)[-1]), False
    origin = typing.get_origin(ann)
    if origin is typing.Union or (_UNION is not None and origin is _UNION):
        args = typing.get_args(ann)
        rest = [a for a in args if a is not type(None)]
        nullable = len(rest) != len(args)
        if len(rest) == 1:
            return _json_type(rest[0])[0], nullable
        return None, nullable
    if origin is typing.Literal:
        kinds = {_json_type(type(v))[0] for v in typing.get_args(ann)}
        return (kinds.pop() if len(kinds) == 1 else None), False
    base = origin if origin is not None else ann
    if isinstance(base, type):
        if base in _SIMPLE:
            return _SIMPLE[base], False
        for k, v in _SIMPLE.items():
            if issubclass(base, k):
                return v, False
    return None, False


def _annotation_text(ann):
    if ann is inspect.Parameter.empty:
        return None
    if ann is None or ann is type(None):
        return "None"
    if isinstance(ann, str):
        return ann
    if isinstance(ann, type) and typing.get_origin(ann) is None:
        return ann.__name__
    return repr(ann).replace("typing.", "")


def _default_text(value):
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return _clip(text, 200)


def _describe(name, fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {"name": name, "params": [], "doc": "", "extra_kwargs": True}
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: use them as written
        hints = {}
    params = []
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            continue
        ann = hints.get(p.name, p.annotation)
        jtype, nullable = _json_type(ann)
        entry = {
            "name": p.name,
            "annotation": _annotation_text(ann),
            "type": jtype,
            "nullable": nullable,
            "positional_only": p.kind is p.POSITIONAL_ONLY,
        }
        if p.default is not p.empty:
            entry["default"] = _default_text(p.default)
        params.append(entry)
    doc = inspect.getdoc(fn) or ""
    first = " ".join(doc.strip().split("\n\n", 1)[0].split())
    return {
        "name": name,
        "params": params,
        "doc": _clip(first, 2000),
        "extra_kwargs": any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()),
        "is_async": inspect.iscoroutinefunction(fn),
    }


def _where(exc):
    """file:line of the failure inside the user's file, if any."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == _PATH:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{_PATH}:{line}" if line is not None else None


def _error_text(exc):
    name = type(exc).__name__
    try:
        msg = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__
        msg = ""
    return _clip(f"{name}: {msg}" if msg else name, 4000)


def _load():
    import importlib.util

    sys.path.insert(0, os.path.dirname(_PATH))
    modname = "woodwork_user_functions"
    spec = importlib.util.spec_from_file_location(modname, _PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"{_PATH} is not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    found = []
    for name, obj in list(vars(module).items()):
        if name.startswith("_") or not inspect.isfunction(obj):
            continue
        if obj.__name__.startswith("_"):
            continue  # a public alias of a private function
        if getattr(obj, "__module__", None) != modname:
            continue  # imported from elsewhere
        found.append((obj.__code__.co_firstlineno, name, obj))
    found.sort(key=lambda t: (t[0], t[1]))
    return {name: fn for _, name, fn in found}


def _await(awaitable):
    import asyncio

    async def run():
        return await awaitable

    return asyncio.run(run())


def _answer_text(result):
    if isinstance(result, str):
        text = result
    else:
        text = json.dumps(result, default=str, ensure_ascii=False, separators=(",", ":"))
    if len(text) * 4 <= _LIMIT:
        return {"ok": True, "text": text}
    raw = text.encode("utf-8", "replace")
    if len(raw) <= _LIMIT:
        return {"ok": True, "text": text}
    return {"ok": True, "text": raw[:_LIMIT].decode("utf-8", "ignore"), "total": len(raw)}


def _call(functions, posonly, line):
    req = json.loads(line)
    name = req.get("fn")
    fn = functions.get(name)
    if fn is None:
        return {"ok": False, "error": f"LookupError: no function {name!r} in {_PATH}"}
    kwargs = req.get("kwargs") or {}
    args = []
    for p in posonly.get(name, ()):
        if p not in kwargs:
            break
        args.append(kwargs.pop(p))
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = _await(result)
    return _answer_text(result)


def main():
    try:
        functions = _load()
        described = [_describe(name, fn) for name, fn in functions.items()]
    except BaseException as e:  # noqa: BLE001 - any import failure is reported, with file:line
        traceback.print_exc()
        hello = {"ok": False, "error": _error_text(e), "where": _where(e)}
        if isinstance(e, ModuleNotFoundError) and e.name:
            hello["missing_module"] = e.name
        _send(hello)
        return
    posonly = {
        d["name"]: [p["name"] for p in d["params"] if p["positional_only"]] for d in described
    }
    _send({"ok": True, "functions": described})
    for line in _IN:
        try:
            answer = _call(functions, posonly, line)
        except BaseException as e:  # noqa: BLE001 - an exception is an observation, never fatal
            traceback.print_exc()
            answer = {"ok": False, "error": _error_text(e)}
        try:
            _send(answer)
        except (TypeError, ValueError) as e:
            _send({"ok": False, "error": _error_text(e)})


main()
