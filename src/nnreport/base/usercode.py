"""A user's own model class, named in a config as `path/to/file.py:ClassName`: its file read,
hashed and imported by path, with the user's own file and line in every error.

The file is registered in `sys.modules` under a name that stands for its path (so its instances
pickle, and a second import in the same process is the same module); an exception raised while
it runs is reported with the line of the user's file it came from, never as our traceback.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.util
import inspect
import json
import logging
import re
import sys
import tokenize
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from nnreport.base.errors import ExpectedError
from nnreport.base.families import PROVIDED_ARGUMENTS, constructor_arguments
from nnreport.base.io import write_json

log = logging.getLogger(__name__)
# `path/file.py:ClassName`: a Python file, a colon, a class name
TARGET = re.compile(r"^(?P<path>[^:]+\.py):(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")
MODULE_PREFIX = "nnreport_user_"
DIGEST = "__nnreport_sha256__"  # the content a loaded module of the user's ran


class UserCodeError(ExpectedError, ValueError):
    """The user's model file cannot be used; the message names their file, line and the fix."""


@dataclass(frozen=True)
class Target:
    """A user's model as the config names it."""

    path: str  # as written in the config, relative to the workflow's working folder
    name: str  # the class name

    def __str__(self) -> str:
        return f"{self.path}:{self.name}"


def parse_target(model: object) -> Target | None:
    """Return the file and class a `model:` value names (`nets.py:MiRed`), None for a built-in
    family's name (or anything that is not a file target)."""
    m = TARGET.match(model) if isinstance(model, str) else None
    return Target(m["path"], m["name"]) if m else None


def is_user_model(model: object) -> bool:
    """Return whether `model:` names a class in a file of the user's."""
    return parse_target(model) is not None


def file_digest(path: str | Path) -> str:
    """Return the SHA-256 of the file's bytes (what decides whether its runs are current)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_name(path: str | Path) -> str:
    """Return the stable `sys.modules` name of the user's file at `path` (by its full path)."""
    full = str(Path(path).resolve())
    stem = re.sub(r"\W", "_", Path(path).stem)
    return f"{MODULE_PREFIX}{stem}_{hashlib.sha256(full.encode()).hexdigest()[:10]}"


def where_in(exc: BaseException, path: str | Path) -> str:
    """Return `file:line: Type: message` of an exception, at the deepest line of the user's
    file in its traceback (the line of their code that raised it), or the file alone."""
    full = str(Path(path).resolve())
    lines = [(f.filename, f.lineno, f.line) for f in traceback.extract_tb(exc.__traceback__)
             if str(Path(f.filename).resolve()) == full]
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == Path(
            full):
        lines.append((exc.filename, exc.lineno, (exc.text or "").strip()))
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError):
        detail = f"SyntaxError: {exc.msg}"
    if not lines:
        return f"{path}: {detail}"
    _, lineno, code = lines[-1]
    return f"{path}:{lineno}: {detail}" + (f" (in `{code.strip()}`)" if code else "")


def constructor_call(cls: type, hparams: dict, input_shape: tuple[int, ...], n_classes: int,
                     seed: int = 0) -> dict:
    """Return the keyword arguments a user's constructor receives for a run: its knobs, and the
    images' (C, H, W), the number of classes and the seed where the constructor *names* them
    (a `**kwargs` gets only the knobs: it may hand them on to nn.Module, which takes none)."""
    kwargs = constructor_arguments(hparams)
    params = inspect.signature(cls).parameters
    provided = {"input_shape": tuple(int(d) for d in input_shape), "n_classes": int(n_classes),
                "seed": int(seed)}
    for name in PROVIDED_ARGUMENTS:
        if name not in kwargs and name in params:
            kwargs[name] = provided[name]
    return kwargs


def call_text(target: Target, kwargs: dict) -> str:
    """Return how the constructor is called, for messages: `MiMLP(n1=128, n_classes=10)`."""
    return f"{target.name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def load_module(path: str | Path) -> ModuleType:
    """Import the user's file at `path`: once per process and content (an edited file runs
    again); a UserCodeError names the file, the line of theirs that failed and its message."""
    path = Path(path)
    name = module_name(path)
    if not path.is_file():
        raise UserCodeError(f"{path}: no such file")
    digest = file_digest(path)
    known = sys.modules.get(name)
    if known is not None and getattr(known, DIGEST, None) == digest:
        return known
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserCodeError(f"{path}: Python cannot load it as a module")
    module = importlib.util.module_from_spec(spec)
    setattr(module, DIGEST, digest)  # the content it ran
    sys.modules[name] = module  # before running it: pickle and dataclasses look it up there
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code failed: their file and line, not ours
        del sys.modules[name]
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        sibling = bool(missing) and (path.parent / f"{str(missing).split('.')[0]}.py").exists()
        hint = (f"; your model is one file: put what it imports from {missing}.py into "
                f"{path.name} (only that file's content decides which runs retrain)"
                if sibling else "")
        raise UserCodeError(f"importing it failed at {where_in(exc, path)}{hint}") from exc
    return module


def load_class(target: Target) -> type:
    """Return the class `target` names; a UserCodeError says what the file has instead."""
    module = load_module(target.path)
    obj = getattr(module, target.name, None)
    if obj is None:
        classes = sorted(k for k, v in vars(module).items()
                         if isinstance(v, type) and v.__module__ == module.__name__)
        close = difflib.get_close_matches(target.name, classes, n=1, cutoff=0.6)
        have = ", ".join(classes) or "none"
        raise UserCodeError(f"{target.path} defines no {target.name!r} (its classes: {have})"
                            + (f"; did you mean {close[0]!r}?" if close else ""))
    if not isinstance(obj, type):
        raise UserCodeError(f"{target.path}: {target.name} is a {type(obj).__name__}, not a "
                            "class; name the class of your model")
    return obj


# What the checks of a user's class passed, by its content and arguments (checks/usermodels.py
# writes it; the sizing of the runs reads what each measured).
CHECKED = Path(".snakemake") / "nnreport" / "checked-models.json"


def remembered() -> dict:
    """Return the checks passed so far (empty when none, or the file is unreadable)."""
    try:
        return json.loads(CHECKED.read_text())
    except (OSError, ValueError):
        return {}


def remember(entries: dict) -> None:
    """Write the passed checks (best effort: a read-only folder only costs the next check)."""
    try:
        CHECKED.parent.mkdir(parents=True, exist_ok=True)
        write_json(CHECKED, entries)
    except OSError as exc:
        log.debug("cannot remember the checked models in %s: %s", CHECKED, exc)


def arguments_key(digest: str, hparams: dict) -> str:
    """Return what identifies a user's model to build: its file and class, the file's content
    and its constructor's arguments."""
    text = json.dumps([hparams.get("model"), digest, constructor_arguments(hparams)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def measured(hparams: dict) -> dict:
    """Return what the check measured of this run's model: its trainable `parameters`, its
    multiply-adds per image (`macs`) and the float32 values a training step keeps per image for
    its backward pass (`activations`); empty when it is no user's class, or not checked with
    this content."""
    target = parse_target(hparams.get("model"))
    if target is None or not Path(target.path).is_file():
        return {}
    key = arguments_key(file_digest(target.path), hparams)
    return next((e for e in remembered().values() if e.get("arguments") == key), {})


def measured_macs(hparams: dict) -> int | None:
    """Return the multiply-adds per image the check measured for this run's model (None when
    it is no user's class, or not checked with this content)."""
    return measured(hparams).get("macs")


def class_source(target: Target) -> tuple[str, list[str]]:
    """Return the source of the class `target` names as written in its file, after the
    top-level classes and functions of that file it uses (directly or through one another),
    in the file's order, and those helpers' names. A name bound to a class (`MiRed = Net`)
    quotes that class, then the line that names it."""
    with tokenize.open(target.path) as f:  # the encoding its coding line declares (PEP 263)
        text = f.read()
    lines = text.splitlines()
    body = ast.parse(text).body
    defs: dict[str, ast.stmt] = {n.name: n for n in body if isinstance(
        n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)}
    aliases = {n.targets[0].id: n for n in body if isinstance(n, ast.Assign)
               and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
               and isinstance(n.value, ast.Name) and n.value.id in defs
               and isinstance(defs[n.value.id], ast.ClassDef)}
    own: ast.stmt | None = defs.get(target.name) or aliases.get(target.name)
    if not isinstance(own, ast.ClassDef | ast.Assign):
        raise UserCodeError(f"{target.path} defines no class {target.name!r} at its top level")
    named: dict[str, ast.stmt] = {**defs, target.name: own}
    wanted, todo = {target.name}, [named[target.name]]
    while todo:
        used = {n.id for n in ast.walk(todo.pop()) if isinstance(n, ast.Name)}
        for key in sorted(used & set(named) - wanted):
            wanted.add(key)
            todo.append(named[key])
    nodes = sorted({id(named[k]): named[k] for k in wanted}.values(), key=lambda n: n.lineno)
    parts = []
    for node in nodes:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        parts.append("\n".join(lines[first - 1 : node.end_lineno]))
    shown = own.value.id if isinstance(own, ast.Assign) else target.name  # type: ignore[attr-defined]
    helpers = [n.name for n in nodes if isinstance(n, ast.ClassDef | ast.FunctionDef
                                                   | ast.AsyncFunctionDef) and n.name != shown]
    return "\n\n\n".join(parts) + "\n", helpers
