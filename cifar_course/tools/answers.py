"""Exercise answers carried out of a student's kernel in safe formats, and checked where the student cannot reach.

``cifar-course classroom autograde`` (tools/grading.py) replaces each ``cc.checks.check_...(args)`` of a check cell by
``record(grade_id, call, answers...)`` before the submission runs in its sandbox: ``record`` saves the values the
check would have read into $CIFAR_COURSE_ANSWERS, one ``<grade_id>.<call>.json`` per call. It saves None, bools,
numbers, strings, lists, tuples and dicts as JSON, arrays as ``.npz`` (no pickle), a Keras model as ``.keras``, a
layer as its config and weights, a training History as its numbers, a learning-rate schedule as its config. Nothing
in the kernel decides a point.

Afterwards ``python -I -m cifar_course.tools.answers PLAN ANSWERS`` runs in a second sandbox with no student code: it
loads the answers safely (JSON, ``np.load(allow_pickle=False)``, Keras's ``safe_mode=True``, regular files only),
evaluates the literal arguments and ``profile.pick(...)`` thresholds of the check call itself (from the course's
source notebook, in the grading profile), runs the course's real check functions and prints one line,
``CC-VERDICTS [...]``: per check cell, passed or not and what the check said.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import operator
import os
import re
import stat
import sys
from pathlib import Path

ANSWERS_ENV = "CIFAR_COURSE_ANSWERS"
VERDICTS = "CC-VERDICTS "
MAX_FILE = 1 << 30  # bytes: the largest answer file the checker reads (a lesson 08 model is about 13 MB)
MAX_DEPTH = 32  # nesting of lists, tuples and dicts
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
_counter = [0]


# =========================================================================== in the sandboxed kernel: saving
def _keras_kind(value) -> str | None:
    """'model', 'layer', 'history' or 'object' (a serializable Keras object such as a schedule) for Keras values."""
    module = type(value).__module__ or ""
    if not module.startswith(("keras", "tensorflow", "tf_keras")):
        return None
    import keras

    if isinstance(value, keras.Model):
        return "model"
    if isinstance(value, keras.layers.Layer):
        return "layer"
    if isinstance(value, keras.callbacks.History):
        return "history"
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return "object"
    return None


def _file(folder: Path, suffix: str) -> Path:
    _counter[0] += 1
    return folder / f"value{os.getpid()}-{_counter[0]}{suffix}"


def save(value, folder: Path, depth: int = 0) -> dict:
    """A JSON description of ``value``; arrays, models and weights go to files in ``folder`` that it names."""
    import numpy as np

    if depth > MAX_DEPTH:
        return {"unsaved": f"nested deeper than {MAX_DEPTH} levels"}
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**300:
            return {"unsaved": "an int too large to save"}
        return {"json": value}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [save(item, folder, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {"dict": [[save(k, folder, depth + 1), save(v, folder, depth + 1)] for k, v in value.items()]}
    kind = _keras_kind(value)
    if kind == "model":
        path = _file(folder, ".keras")
        value.save(path)
        return {"model": path.name}
    if kind == "layer":
        import keras

        path = _file(folder, ".npz")
        np.savez(path, *[np.asarray(w) for w in value.get_weights()])
        return {"layer": keras.saving.serialize_keras_object(value), "weights": path.name}
    if kind == "history":
        return {"history": save(dict(value.history), folder, depth + 1), "epoch": save(list(value.epoch), folder)}
    if kind == "object":
        import keras

        return {"keras": keras.saving.serialize_keras_object(value)}
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__array__"):
        array = np.asarray(value)
        if array.dtype.hasobject:
            return {"unsaved": f"an array of Python objects ({type(value).__name__}) cannot be graded"}
        path = _file(folder, ".npz")
        np.savez(path, value=array)
        return {"array": path.name, "scalar": isinstance(value, np.generic)}
    return {"unsaved": f"a {type(value).__module__}.{type(value).__name__} cannot be saved for grading"}


def record(grade_id: str, call: int, *values) -> None:
    """Save the values a check call would read (the check cell's call, rewritten by the grader)."""
    folder = Path(os.environ.get(ANSWERS_ENV, "answers"))
    folder.mkdir(parents=True, exist_ok=True)
    described = []
    for value in values:
        try:
            described.append(save(value, folder))
        except Exception as err:  # noqa: BLE001 - the reason goes to the checker, which fails the exercise with it
            described.append({"unsaved": f"saving it failed: {type(err).__name__}: {err}"})
    name = f"{grade_id}.{call}.json"
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"not a grade id to record: {grade_id!r}")
    (folder / name).write_text(json.dumps({"values": described}), encoding="utf-8")
    print(f"Answer recorded for grading ({grade_id}).")


# =========================================================================== in the checker: loading, safely
class Unusable(Exception):
    """An answer file that cannot be loaded safely: missing, not a regular file, too large, malformed."""


def read_regular(folder: Path, name: str, limit: int = MAX_FILE) -> bytes:
    """The bytes of ``folder/name``: a plain file name, a regular file (not a link), at most ``limit`` bytes."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise Unusable(f"not a file name an answer can have: {name!r}")
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise Unusable(f"{name} is missing") from None
    except OSError as err:
        raise Unusable(f"{name} cannot be opened ({err.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Unusable(f"{name} is not a regular file")
        if info.st_size > limit:
            raise Unusable(f"{name} is {info.st_size / 2**20:.0f} MB, over the {limit / 2**20:.0f} MB allowed")
        return handle.read(limit + 1)[:limit]


def regular_file(folder: Path, name: str, limit: int = MAX_FILE) -> Path:
    """``folder/name`` after checking that it is a plain file name and a regular file (not a link) of at most
    ``limit`` bytes (nothing else runs in the checker's sandbox, so it cannot change afterwards)."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise Unusable(f"not a file name an answer can have: {name!r}")
    try:
        info = os.lstat(folder / name)
    except OSError:
        raise Unusable(f"{name} is missing") from None
    if not stat.S_ISREG(info.st_mode):
        raise Unusable(f"{name} is not a regular file")
    if info.st_size > limit:
        raise Unusable(f"{name} is {info.st_size / 2**20:.0f} MB, over the {limit / 2**20:.0f} MB allowed")
    return folder / name


def load(described, folder: Path, depth: int = 0):
    """The value ``save`` described (see the module), read without running any code from the answers."""
    import numpy as np

    if depth > MAX_DEPTH or not isinstance(described, dict) or len(described) not in (1, 2):
        raise Unusable("a malformed answer description")
    if "unsaved" in described:
        raise Unusable(f"your answer could not be saved for grading: {described['unsaved']}")
    if "json" in described:
        value = described["json"]
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise Unusable("a malformed answer description")
        return value
    for kind, make in (("list", list), ("tuple", tuple)):
        if kind in described:
            return make(load(item, folder, depth + 1) for item in _items(described[kind]))
    if "dict" in described:
        pairs = [_items(pair) for pair in _items(described["dict"])]
        if any(len(pair) != 2 for pair in pairs):
            raise Unusable("a malformed answer description")
        return {load(k, folder, depth + 1): load(v, folder, depth + 1) for k, v in pairs}
    if "array" in described:
        with np.load(io.BytesIO(read_regular(folder, described["array"])), allow_pickle=False) as npz:
            if npz.files != ["value"]:
                raise Unusable("a malformed array file")
            array = npz["value"]
        return array[()] if described.get("scalar") else array
    if "model" in described:
        return _load_model(folder, described["model"])
    if "layer" in described:
        return _load_layer(described["layer"], folder, described.get("weights"))
    if "history" in described:
        import keras

        history = keras.callbacks.History()
        history.history = load(described["history"], folder, depth + 1)
        history.epoch = load(described.get("epoch", {"list": []}), folder, depth + 1)
        if not isinstance(history.history, dict) or not isinstance(history.epoch, list):
            raise Unusable("a malformed training history")
        return history
    if "keras" in described:
        import keras

        return keras.saving.deserialize_keras_object(described["keras"], safe_mode=True)
    raise Unusable("a malformed answer description")


def _items(value) -> list:
    if not isinstance(value, list):
        raise Unusable("a malformed answer description")
    return value


def _load_model(folder: Path, name: str):
    """A .keras model, loaded with Keras's safe mode (no Lambda layers' code, no arbitrary classes)."""
    import keras

    regular_file(folder, name)
    return keras.saving.load_model(folder / name, compile=False, safe_mode=True)


def _load_layer(config, folder: Path, weights: str | None):
    import keras
    import numpy as np

    layer = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if not isinstance(layer, keras.layers.Layer):
        raise Unusable("a malformed layer")
    if weights is not None:
        with np.load(io.BytesIO(read_regular(folder, weights)), allow_pickle=False) as npz:
            values = [npz[f"arr_{i}"] for i in range(len(npz.files))]
        if values and layer.built:
            layer.set_weights(values)
    return layer


# =========================================================================== in the checker: the trusted arguments
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def constant(node: ast.AST):
    """The value of a constant expression of the course's source (literals, tuples, lists, dicts, + - * / ** on
    numbers); ValueError for anything else (a name, a call, ...)."""
    if isinstance(node, ast.Expression):
        return constant(node.body)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [constant(item) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {constant(k): constant(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](constant(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = constant(node.left), constant(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("too large a power")
        return _OPERATORS[type(node.op)](left, right)
    raise ValueError(f"not a constant: {ast.unparse(node)}")


def trusted_argument(node: ast.expr) -> dict | None:
    """How the checker computes an argument itself: {"constant": source} or {"pick": {profile: source}}; None for
    an argument only the kernel can compute (the student's answer, the lesson's data)."""
    try:
        constant(node)
        return {"constant": ast.unparse(node)}
    except (ValueError, TypeError, ArithmeticError):
        pass
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "pick"
        and not node.args
        and sorted(k.arg or "" for k in node.keywords) == ["full", "quick", "smoke"]
    ):
        try:
            return {"pick": {k.arg: ast.unparse(k.value) for k in node.keywords if _is_constant(k.value)}}
        except (ValueError, TypeError, ArithmeticError):
            return None
    return None


def _is_constant(node: ast.expr) -> bool:
    constant(node)  # raises for anything else
    return True


def _argument(plan: dict, values: list, profile: str):
    if "constant" in plan:
        return constant(ast.parse(plan["constant"], mode="eval"))
    if "pick" in plan:
        return constant(ast.parse(plan["pick"][profile], mode="eval"))
    return values[plan["answer"]]


# =========================================================================== in the checker: the checks
def check_cell(calls: list[dict], folder: Path, profile: str) -> dict:
    """Run one check cell's calls on the recorded answers, in order, as the cell would: its verdict."""
    from .. import checks

    printed = io.StringIO()
    for call in calls:
        function = call["function"]
        if function not in checks.__all__ or not function.startswith("check_"):
            return _verdict(printed, "NotChecked", f"cc.checks has no {function}")
        try:
            recorded = json.loads(read_regular(folder, f"{call['grade_id']}.{call['call']}.json", 1 << 24))
            described = recorded["values"] if isinstance(recorded, dict) else None
            if not isinstance(described, list):
                raise Unusable("a malformed answer record")
            values = [load(item, folder) for item in described]
            args = [_argument(plan, values, profile) for plan in call["args"]]
            kwargs = {name: _argument(plan, values, profile) for name, plan in call["kwargs"].items()}
        except Unusable as err:
            reason = str(err)
            if reason.endswith(" is missing"):
                reason = (
                    "no answer was recorded for this check: the cell raised before its check (see the error above), "
                    "or something in the notebook kept the check from running"
                )
            return _verdict(printed, "NotChecked", reason)
        except (ValueError, KeyError, IndexError, TypeError, OSError, RecursionError) as err:
            return _verdict(printed, "NotChecked", f"your answer could not be loaded: {type(err).__name__}: {err}")
        try:
            with contextlib.redirect_stdout(printed):
                getattr(checks, function)(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - any error fails the exercise, as it would fail the cell
            return _verdict(printed, type(err).__name__, str(err))
    return _verdict(printed)


def _verdict(printed: io.StringIO, ename: str | None = None, evalue: str = "") -> dict:
    error = {"ename": ename, "evalue": evalue} if ename else None
    return {"passed": error is None, "printed": printed.getvalue()[-20_000:], "error": error}


def main(argv: list[str] | None = None) -> int:
    """``python -I -m cifar_course.tools.answers PLAN ANSWERS``: print the verdicts of every check cell."""
    plan_path, folder = (argv if argv is not None else sys.argv[1:])[:2]
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # an unanswered exercise fails instead of printing a note
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    verdicts = {grade_id: check_cell(calls, Path(folder), plan["profile"]) for grade_id, calls in plan["cells"].items()}
    sys.stdout.flush()
    print(VERDICTS + json.dumps(verdicts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
