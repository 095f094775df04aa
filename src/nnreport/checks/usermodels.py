"""A user's own model class (`model: path/file.py:ClassName`), checked before any job: its file
exists and imports, the name is a torch.nn.Module, every knob is an argument of its constructor
and none it needs is missing, and one forward pass of two images of the dataset's shape returns
the task's shape. Each problem names the config key, the user's file and line, and the fix.

Building the module needs PyTorch, which the user's file imports anyway: models/user.py is
imported only for a config that names such a file, so a study of built-in families still
checks without importing PyTorch. A passed check is remembered by the file's content and the
constructor's arguments (`base/usercode.CHECKED`), so a second dry run imports
nothing.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnreport.base.families import PROVIDED_ARGUMENTS, constructor_arguments, trainer_keys
from nnreport.base.usercode import (
    Target,
    UserCodeError,
    arguments_key,
    class_source,
    file_digest,
    load_class,
    parse_target,
    remember,
    remembered,
)
from nnreport.checks.data import memory_limit, too_big
from nnreport.checks.models import model_runs, numpy_optimizers, numpy_problems
from nnreport.config.grid import config_hash
from nnreport.config.messages import ConfigPath, Problem, format_path, show, suggest
from nnreport.data.idx import DataError
from nnreport.data.registry import describe
from nnreport.models.user_scratch import missing_methods
from nnreport.models.user_scratch import probe as probe_scratch
from nnreport.studies.resources import parameters_mb

CHECK_VERSION = 4  # bump when what a check verifies changes: older passes no longer count
# One run: its hyper-parameters, where each is set, and the key its experiment varies.
Run = tuple[dict[str, Any], dict[str, ConfigPath], str | None]


def study_runs(config: dict) -> list[Run]:
    """Return every run a config declares with the paths of its keys: a Table I study's base,
    experiments' own bases and varied values; a model study's candidates."""
    models = config.get("models")
    if isinstance(models, list):  # each model's back-end is the model's, not a key of its runs
        return [({**h, "backend": models[i].get("backend", "torch")}, w, None)
                for i, runs in model_runs(config).items() for h, w in runs]
    given = config.get("base")
    base: dict = given if isinstance(given, dict) else {}
    runs: list[Run] = [(base, {k: ("base", k) for k in base}, None)]
    experiments = config.get("experiments")
    for i, exp in enumerate(experiments if isinstance(experiments, list) else []):
        if not isinstance(exp, dict):
            continue
        ref, where = base, runs[0][1]
        if isinstance(exp.get("base"), dict):
            ref, where = exp["base"], {k: ("experiments", i, "base", k) for k in exp["base"]}
            runs.append((ref, where, None))
        vary = exp.get("vary")
        for knob, values in vary.items() if isinstance(vary, dict) else ():
            for j, value in enumerate(values if isinstance(values, list) else []):
                runs.append(({**ref, knob: value},
                             {**where, knob: ("experiments", i, "vary", knob, j)}, knob))
    return runs


def knob_label_problems(config: dict) -> Iterator[Problem]:
    """Yield each key of `report: knobs:` that no run of the study sets (a typo would leave
    the knob unnamed without a word)."""
    report = config.get("report")
    labels = report.get("knobs") if isinstance(report, dict) else None
    if not isinstance(labels, dict):
        return
    keys = {k for hparams, _, _ in study_runs(config) for k in hparams}
    models = config.get("models")
    for m in models if isinstance(models, list) else []:
        search = m.get("search") if isinstance(m, dict) else None
        keys |= set(search) if isinstance(search, dict) else set()
    for key in labels:
        if key not in keys:
            here = ("report", "knobs", key)
            hint = suggest(key, sorted(keys)) or "name a key of base (or of a model's hparams)"
            yield Problem(here, f"{format_path(here)} names {key!r}, which no run of the study "
                                f"sets (its keys: {', '.join(sorted(keys))}); {hint}")


def _unsupported(runs: list[Run]) -> Iterator[Problem]:
    """Yield what a user's class cannot do yet: a reconstruction (its report is the built-in
    autoencoder's, which reads that model's encoder)."""
    for hparams, where, _ in runs:
        if hparams.get("task") == "reconstruction" and "task" in where:
            yield Problem(where["task"], f"{format_path(where['task'])} is 'reconstruction': "
                          "the report of a reconstruction model is the autoencoder study's, "
                          "which needs the built-in model: conv_autoencoder for now; remove task "
                          "(classification) or use model: conv_autoencoder")
            return


def _run_key(digest: str, hparams: dict, shape: tuple, n_classes: int) -> str:
    return config_hash([CHECK_VERSION, hparams.get("model"), digest, constructor_arguments(hparams),
                        hparams.get("task", "classification"), hparams.get("backend", "torch"),
                        list(shape), n_classes])


def user_model_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield the problems of every run whose model is a class of the user's own file."""
    runs = [r for r in study_runs(config) if parse_target(r[0].get("model")) is not None]
    if not runs:
        return
    unsupported = list(_unsupported(runs))
    if unsupported:
        yield from unsupported
        return
    data = config.get("dataset")
    try:
        info = describe(data if isinstance(data, dict) else {})
    except DataError:  # an undeclared dataset: the schema says so
        return
    shape, n_classes = info.shape, info.n_classes
    knobs = schema.get("$defs", {}).get("hparams", {}).get("properties", {})
    optimizers = numpy_optimizers(list(knobs.get("optimizer", {}).get("enum", [])))
    study = isinstance(config.get("models"), list)
    cache = remembered()
    passed: dict[str, dict] = {}
    files: dict[Target, str | None] = {}  # target -> its digest (None: no such file)
    loaded: dict[tuple[Target, bool], bool] = {}  # imported, and of its back-end's kind
    reported: set = set()
    for hparams, where, knob in runs:
        target = parse_target(hparams["model"])
        assert target is not None
        at = where.get("model", ("base", "model"))
        if target not in files:
            files[target], problem = _file_problem(target, at)
            if problem:
                yield problem
        digest = files[target]
        if digest is None:
            continue
        key = _run_key(digest, hparams, shape, n_classes)
        if key in cache or key in passed:  # checked before with this content: nothing to import
            passed[key] = cache.get(key) or passed[key]
            continue
        scratch = hparams.get("backend") == "numpy"
        # what the from-scratch trainer cannot do (a model study's models: checks/models.py)
        trainer = list(numpy_problems((hparams, where), None, None, knobs, optimizers)
                       if scratch and not study else [])
        if trainer:
            for problem in trainer:
                if problem.path not in reported:
                    reported.add(problem.path)
                    yield problem
            continue
        if (target, scratch) not in loaded:
            problem = _class_problem(target, at, scratch)
            loaded[target, scratch] = problem is None
            if problem:
                yield problem
        if not loaded[target, scratch]:
            continue
        found = list(_signature_problems(target, hparams, where, at))
        if found:  # said once each; its run is not built (it would fail the same way)
            for problem in found:
                if (problem.path, problem.text) not in reported:
                    reported.add((problem.path, problem.text))
                    yield problem
            continue
        here = where[knob] if knob else at
        if not scratch:  # counted before it is built: a model larger than memory is not
            user = importlib.import_module("nnreport.models.user")  # PyTorch: only here
            count = user.parameter_count(str(target), hparams, shape, n_classes)
            need = count and parameters_mb(hparams, count)
            if need and need > memory_limit(config)[0] and here not in reported:
                reported.add(here)
                yield too_big(here, hparams[knob] if knob else str(target), need,
                              f"{count:.3g} parameters with their gradients and optimiser "
                              "state, before its data and activations", config)
                continue
        try:
            if scratch:  # NumPy alone
                found_out = probe_scratch(target, hparams, shape, n_classes)
            else:
                found_out = user.probe(str(target), hparams, shape, n_classes)
            passed[key] = {**found_out, "arguments": arguments_key(digest, hparams)}
        except UserCodeError as err:
            # the same line of theirs failing for another run's values is said once
            site = re.search(r" at (\S+:\d+: .*)", str(err))
            said = (target, site[1]) if site else (key, str(err))
            if said not in reported:
                reported.add(said)
                value = hparams[knob] if knob else str(target)
                yield Problem(here, f"{format_path(here)} is {show(value)}: {err}")
    if passed and any(k not in cache for k in passed):
        remember({**cache, **passed})


def _file_problem(target: Target, at: ConfigPath) -> tuple[str | None, Problem | None]:
    """Return the file's digest, or None and the problem of a file that is not there."""
    path = Path(target.path)
    if path.is_file():
        return file_digest(path), None
    here = Path.cwd()
    near = sorted(str(p.relative_to(here)) for p in here.glob(f"**/{path.name}")
                  if not any(part.startswith(".") or part in ("results", "data", "logs")
                             for part in p.relative_to(here).parts[:-1]))[:3]
    hint = f"; did you mean {near[0]}:{target.name}?" if near else ""
    return None, Problem(at, f"{format_path(at)} is {show(str(target))}, but there is no file "
                             f"{target.path} (paths are relative to the folder the workflow "
                             f"runs in, {here}){hint}")


def _class_problem(target: Target, at: ConfigPath, scratch: bool) -> Problem | None:
    """Return the problem of a file that does not import, or whose name is not a model of its
    back-end's kind: a torch.nn.Module, or (backend: numpy) a class with the methods of a
    model written from scratch."""
    said = f"{format_path(at)} is {show(str(target))}"
    try:
        cls = load_class(target)
    except UserCodeError as err:
        return Problem(at, f"{said}: {err}")
    try:
        class_source(target)  # what the report's appendix will quote
    except (UserCodeError, SyntaxError, UnicodeError, OSError) as err:
        return Problem(at, f"{said}, but its source cannot be quoted in the report ({err}); "
                           f"define class {target.name} at the top level of {target.path}")
    lacks = missing_methods(cls)
    if scratch and lacks:
        return Problem(at, f"{said} with backend: numpy, but {target.name} has no "
                           f"{', '.join(lacks)}; a model written from scratch defines "
                           "forward(x), backward(grad_logits) and parameters() (README.md: "
                           "Your own model)")
    if not scratch and not _is_torch_module(cls):
        bases = ", ".join(b.__name__ for b in cls.__mro__[1:-1]) or "object"
        hint = ("; it has forward, backward and parameters: if it is written from scratch, set "
                f"{format_path(at[:-1]) or 'base'}.backend: numpy") if not lacks else ""
        return Problem(at, f"{said}, but {target.name} is not a torch.nn.Module (its bases: "
                           f"{bases}); write `class {target.name}(nn.Module):` in "
                           f"{target.path}{hint}")
    return None


def _is_torch_module(cls: type) -> bool:
    """Whether `cls` subclasses torch.nn.Module (read from its bases: no PyTorch import)."""
    return any(c.__name__ == "Module" and c.__module__ == "torch.nn.modules.module"
               for c in cls.__mro__)


def _signature_problems(target: Target, hparams: dict, where: dict[str, ConfigPath],
                        at: ConfigPath) -> Iterator[Problem]:
    """Yield each knob the constructor has no parameter for, and each parameter without a
    default that no key sets."""
    cls = load_class(target)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # a signature Python cannot read: the probe will say
        return
    init = f"{target.name}.__init__ ({target.path}:{_line(cls)})"
    named = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    open_ended = any(p.kind is p.VAR_KEYWORD for p in params.values())
    given = constructor_arguments(hparams)
    for key in given:
        if key in named or open_ended:
            continue
        here = where.get(key, at)
        hint = suggest(key, named + sorted(trainer_keys(hparams))) or (
            f"remove it, or add a parameter {key} to {target.name}.__init__")
        yield Problem(here, f"{format_path(here)} is set, but {init} has no parameter {key!r} "
                            f"(its parameters: {', '.join(named) or 'none'}); {hint}")
    for name, p in params.items():
        missing = (p.default is p.empty and name not in given and name not in PROVIDED_ARGUMENTS
                   and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        if missing:
            # a varied model gets the reference's keys: it is set there
            where_set = "base" if "vary" in at else format_path(at[:-1]) or "base"
            yield Problem(at, f"{format_path(at)} is {show(str(target))}, whose {init} needs "
                              f"{name!r} (it has no default); set {where_set}.{name}, or give "
                              f"it a default in {target.path}")


def _line(cls: type) -> int | str:
    try:
        return inspect.getsourcelines(vars(cls).get("__init__", cls))[1]
    except (OSError, TypeError):
        return "?"

