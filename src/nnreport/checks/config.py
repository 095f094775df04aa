"""Check a study config before any job runs: every problem, with its file, path, value and fix."""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from nnreport.checks.data import data_problems, memory_problems
from nnreport.checks.models import model_problems
from nnreport.checks.paths import path_problems
from nnreport.checks.studies import experiment_problems, shape_problems
from nnreport.checks.texts import text_problems
from nnreport.checks.usermodels import knob_label_problems, user_model_problems
from nnreport.config.grid import coerce_numbers
from nnreport.config.messages import ConfigPath, Problem, format_path, leaves, schema_problems

__all__ = ["ConfigError", "format_path", "validate_config"]

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A config with problems; str() is the whole message, one problem per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _has(doc: Any, path: ConfigPath) -> bool:
    """Return whether `path` leads somewhere in the YAML document `doc`."""
    for part in path:
        in_list = isinstance(doc, list) and isinstance(part, int) and 0 <= part < len(doc)
        if not (in_list or isinstance(doc, dict) and not isinstance(part, int) and part in doc):
            return False
        doc = doc[part]
    return True


def _read(source: str | os.PathLike) -> tuple[str, Any]:
    """Return a source file's name as typed (relative to here) and its YAML, None if unreadable."""
    path, here = Path(source), Path.cwd()
    inside = path.is_absolute() and path.is_relative_to(here)
    name = str(path.relative_to(here) if inside else source)
    try:
        return name, yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.debug("cannot read %s to locate config problems: %s", source, exc)
        return name, None


def _source_of(path: ConfigPath, docs: Sequence[tuple[str, Any]]) -> str:
    """Return the last source that defines `path` (or its longest prefix); else the last one."""
    for n in range(len(path), 0, -1):
        for name, doc in reversed(docs):
            if _has(doc, path[:n]):
                return name
    files = [name for name, _ in docs if name != "--config"]
    return files[-1] if files else "config"


def _order(config: Any, path: ConfigPath) -> tuple[int, ...]:
    """Return a sort key that puts `path` where it appears in the config."""
    key, doc = [], config
    for part in path:
        if isinstance(doc, dict) and not isinstance(part, int):
            key.append(list(doc).index(part) if part in doc else len(doc))
        else:
            key.append(part if isinstance(part, int) else 0)
        doc = doc[part] if _has(doc, (part,)) else None
    return tuple(key)


def _non_finite(value: Any, path: ConfigPath = ()) -> list[Problem]:
    """A problem for every number of the config that is not finite (YAML's .inf, .nan): a
    learning rate of .inf trains every run to divergence and fails only in the tables."""
    return [Problem(at, f"{format_path(at)} is {v}; give a finite number (YAML reads .inf, "
                        ".nan and 1e999 as infinite or not a number)")
            for at, v in leaves(value, path) if isinstance(v, float) and not math.isfinite(v)]


def validate_config(config: dict, schema: dict | str | Path,
                    sources: Sequence[str | os.PathLike],
                    overrides: Mapping | None = None) -> None:
    """Raise ConfigError listing every problem of `config`, merged from `sources` in that order."""
    # `overrides`: the values given with `snakemake --config`, named `--config` in messages.
    if not isinstance(schema, dict):
        schema = dict(yaml.safe_load(Path(schema).read_text(encoding="utf-8")))
    config = coerce_numbers(copy.deepcopy(config), schema) if isinstance(config, dict) else config
    found = list(schema_problems(Draft202012Validator(schema), config))
    found += _non_finite(config)
    if isinstance(config, dict):
        found += shape_problems(config, schema)
        found += experiment_problems(config, schema)
        found += model_problems(config, schema)
        found += data_problems(config, schema)
        found += path_problems(config)
        found += text_problems(config)
        found += knob_label_problems(config)
        if not found:  # a user's class is built only from a config without other problems
            found += user_model_problems(config, schema)
        if not found:  # a user's class is sized from what its check measured
            found += memory_problems(config, schema, users=True)
    if not found:
        log.debug("config from %s is valid", ", ".join(map(str, sources)))
        return
    docs = [_read(s) for s in sources] + [("--config", dict(overrides or {}))]
    found = sorted(dict.fromkeys(found), key=lambda p: _order(config, p.path))
    raise ConfigError([f"{_source_of(p.path, docs)}: {p.text}" for p in found])
