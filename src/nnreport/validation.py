"""Check a study config before any job runs: every problem, with its file, path, value and fix."""

from __future__ import annotations

import copy
import datetime
import difflib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from nnreport.grid import coerce_numbers, variant_name

log = logging.getLogger(__name__)

ConfigPath = tuple[str | int, ...]
_TYPE_WORDS = {"integer": "an integer", "number": "a number", "string": "a string",
               "boolean": "true or false", "array": "a list", "object": "a mapping",
               "null": "null (empty)"}
_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
          (list, "a list"), (dict, "a mapping"), (datetime.date, "a date"))
_RANGE = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
_VARY_EXAMPLE = "vary: {n1: [64, 256]}"
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


class ConfigError(ValueError):
    """A config with problems; str() is the whole message, one problem per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class _Problem:
    """One problem: where it is in the merged config, and what to say about it."""

    path: ConfigPath
    text: str


def format_path(path: Sequence[str | int]) -> str:
    """Return `path` written the way a person reads YAML: `experiments[3].vary.p[0]`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any, limit: int = 60) -> str:
    """Return the value as a message shows it: its repr, shortened if long."""
    text = "empty (null)" if value is None else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(word: Any, options: Sequence[Any]) -> str:
    """Return `did you mean 'x'?` for the option closest to `word`, or ``."""
    names = {str(o).lower(): str(o) for o in options}
    close = difflib.get_close_matches(str(word).lower(), list(names), n=1, cutoff=0.6)
    return f"did you mean {names[close[0]]!r}?" if close else ""


def _types(schema: dict) -> list[str]:
    """Return the JSON types a schema allows (all of them when it does not say)."""
    t = schema.get("type", list(_TYPE_WORDS))
    return [t] if isinstance(t, str) else list(t)


def _bounds(schema: dict) -> tuple[Any, bool, Any, bool]:
    """Return (low, low is open, high, high is open) of a numeric schema."""
    lo_open, hi_open = "exclusiveMinimum" in schema, "exclusiveMaximum" in schema
    return (schema.get("exclusiveMinimum" if lo_open else "minimum"), lo_open,
            schema.get("exclusiveMaximum" if hi_open else "maximum"), hi_open)


def _range_text(schema: dict) -> str:
    """Return the allowed range of a numeric schema in words: `in [0, 1)`, `> 0`, `≥ 1`."""
    low, low_open, high, high_open = _bounds(schema)
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '≥'} {low}"
    return f"{'<' if high_open else '≤'} {high}"


def _example(value: Any, schema: dict) -> str:
    """Return `, e.g. X` with a value of the type `schema` wants, close to `value`."""
    types = _types(schema)
    scalar = value is not None and not isinstance(value, list | dict)
    number = float(value) if isinstance(value, str) and _NUMBER.match(value) else None
    if number is not None and "integer" in types and number.is_integer():
        return f", e.g. {int(number)} (without quotes)"
    if number is not None and "number" in types:
        return f", e.g. {number:g} (without quotes)"
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return f", e.g. {int(value)}"
    if "array" in types and scalar:
        return f", e.g. [{value!r}] (in brackets)"
    if "string" in types and scalar and not isinstance(value, bool):
        return f", e.g. {str(value)!r} (in quotes)"
    if "boolean" in types:  # "expected true or false" says it all (Python's False is not YAML)
        return ""
    for given in ((schema.get("examples") or [None])[0], schema.get("default")):
        if given is not None:
            return f", e.g. {given!r}"
    low, low_open, high, _ = _bounds(schema)
    if "integer" in types:
        return f", e.g. {1 if low is None else int(low) + int(low_open)}"
    if "number" in types:
        middle = None if low is None or high is None else (low + high) / 2
        guess = 0.5 if low is None else low + (0.001 if low_open else 0)
        return f", e.g. {guess if middle is None else middle:g}"
    return ""


def _pattern_hint(value: str, pattern: str) -> str:
    """Return which characters break a `^[...]+$` pattern and a value that would match."""
    m = re.fullmatch(r"\^(\[[^\]]+\])[+*]\$", pattern)
    if not m:
        return f"must match the pattern {pattern}"
    chars, words = m.group(1), []
    rest = chars[1:-1]
    for token, word in (("A-Za-z", "letters"), ("a-zA-Z", "letters"), ("0-9", "digits")):
        if token in rest:
            words.append(word)
            rest = rest.replace(token, "")
    bad = sorted({c for c in value if not re.fullmatch(chars, c)})
    text = f"use only {', '.join(words + list(rest))} ({', '.join(map(repr, bad))} not allowed)"
    fixed = re.sub("_+", "_", re.sub("[^" + chars[1:], "_", value)).strip("_")
    return text + (f"; did you mean {fixed!r}?" if fixed and re.match(pattern, fixed) else "")


def _explain(error: ValidationError, prefix: ConfigPath = ()) -> Iterator[_Problem]:
    """Yield plain-English problems for one jsonschema error found under `prefix`."""
    path = prefix + tuple(error.absolute_path)
    where, value, schema = format_path(path) or "the config", error.instance, error.schema
    rule, rule_value = error.validator, error.validator_value
    said = f"{where} is {_show(value)}"
    if rule == "additionalProperties" and isinstance(value, dict):
        known, patterns = list(schema.get("properties", {})), schema.get("patternProperties", {})
        for key in value:
            if key not in known and not any(re.search(p, str(key)) for p in patterns):
                hint = _suggest(key, known) or "remove it or fix its spelling"
                yield _Problem(path + (key,), f"{format_path(path + (key,))} is not a key of "
                               f"{format_path(path) or 'the top level'}; known keys: "
                               f"{', '.join(known)}; {hint}")
    elif rule == "required" and isinstance(value, dict):
        for key in (k for k in rule_value if k not in value):
            yield _Problem(path + (key,), f"{format_path(path + (key,))} is missing; add it "
                                          f"({where} needs {', '.join(rule_value)})")
    elif rule == "type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in _types(schema))
        kind = next((w for cls, w in _KINDS if isinstance(value, cls)), type(value).__name__)
        got = "" if value is None else f" ({kind})"
        yield _Problem(path, f"{said}{got}; expected {wanted}{_example(value, schema)}")
    elif rule in ("enum", "const"):
        options = rule_value if rule == "enum" else [rule_value]
        hint = _suggest(value, options) if isinstance(value, str) else ""
        allowed = ", ".join("null" if o is None else str(o) for o in options)
        yield _Problem(path, f"{said}; allowed: {allowed}; {hint or 'pick one of those'}")
    elif rule in _RANGE:
        yield _Problem(path, f"{said}; must be {_range_text(schema)}")
    elif rule == "minItems" and isinstance(value, list):
        default = schema.get("default")
        hint = f", e.g. {path[-1]}: {default!r}" if default and isinstance(path[-1], str) else ""
        n = f"{rule_value} value" + ("s" if rule_value != 1 else "")
        yield _Problem(path, f"{said}; give at least {n}{hint}")
    elif rule == "uniqueItems" and isinstance(value, list):
        again = next(v for i, v in enumerate(value) if v in value[:i])
        yield _Problem(path, f"{said}; values must be unique but {_show(again)} is repeated; "
                             f"remove the duplicate")
    elif rule == "pattern" and isinstance(value, str):
        yield _Problem(path, f"{said}; {_pattern_hint(value, rule_value)}")
    elif rule in ("anyOf", "oneOf") and error.context:
        yield from _explain(best_match(error.context), prefix)
    elif not (rule in ("minProperties", "maxProperties") and path[::2] == ("experiments", "vary")
              and len(path) == 3):  # _experiment_problems says it better
        yield _Problem(path, f"{said}; {error.message}")


def _schema_problems(validator: Draft202012Validator, instance: Any,
                     prefix: ConfigPath = ()) -> Iterator[_Problem]:
    """Yield the problems `validator` finds in `instance`; an enum error hides the type error."""
    errors = list(validator.iter_errors(instance))
    enums = {tuple(e.absolute_path) for e in errors if e.validator in ("enum", "const")}
    for error in errors:
        if not (error.validator == "type" and tuple(error.absolute_path) in enums):
            yield from _explain(error, prefix)


def _experiment_problems(config: dict, schema: dict) -> Iterator[_Problem]:
    """Yield what the schema cannot see: one knob per experiment, varied values, duplicates."""
    experiments, base = config.get("experiments"), config.get("base")
    if not isinstance(experiments, list) or not experiments:
        return
    base = base if isinstance(base, dict) else {}
    knobs = (schema.get("properties", {}).get("base", {}).get("properties")
             or schema.get("$defs", {}).get("hparams", {}).get("properties", {}))
    ids: dict[str, int] = {}
    bases: list[int] = []
    runs: dict[str, tuple[str, ConfigPath]] = {}
    for i, exp in enumerate(experiments):
        here = ("experiments", i)
        if not isinstance(exp, dict):
            continue
        name = exp["id"] if isinstance(exp.get("id"), str) else format_path(here)
        if name in ids:
            yield _Problem(here + ("id",), f"{format_path(here)}.id is {name!r}, the id of "
                           f"experiments[{ids[name]}] too; give each experiment its own id")
        ids.setdefault(name, i)
        vary, at = exp.get("vary"), here + ("vary",)
        if "vary" not in exp:
            bases.append(i)
        elif isinstance(vary, dict) and not vary:
            yield _Problem(at, f"{format_path(at)} is empty; vary one knob, e.g. "
                               f"{_VARY_EXAMPLE}, or delete vary for the base experiment")
        elif isinstance(vary, dict) and len(vary) > 1:
            names = [str(k) for k in vary]
            yield _Problem(at, f"{format_path(at)} changes {', '.join(names[:-1])} and "
                               f"{names[-1]}; vary one knob per experiment (split it into "
                               f"{'two' if len(names) == 2 else len(names)} experiments)")
        for knob, values in (vary.items() if isinstance(vary, dict) else ()):
            yield from _knob_problems(at + (knob,), name, values, base, knobs, runs)
    if not bases:
        yield _Problem(("experiments",), "experiments has no base experiment; exactly one "
                                         "experiment must have no vary, e.g. - id: base")
    for i in bases[1:]:
        ids_ = [experiments[j].get("id") for j in (bases[0], i)]
        yield _Problem(("experiments", i), f"experiments[{i}] ({ids_[1]!r}) has no vary, like "
                       f"experiments[{bases[0]}] ({ids_[0]!r}); only the base experiment may "
                       f"omit vary; give it one, e.g. {_VARY_EXAMPLE}")


def _knob_problems(at: ConfigPath, name: str, values: Any, base: dict, knobs: dict,
                   runs: dict[str, tuple[str, ConfigPath]]) -> Iterator[_Problem]:
    """Yield the problems of one varied knob: unknown knob, bad values, base value, repeats."""
    knob = at[-1]
    if knob not in base and base:  # no base at all: the schema says so
        hint = _suggest(knob, list(base) + [k for k in knobs if k not in base])
        fix = f"add base.{knob} first" if knob in knobs else hint or "vary one of those"
        yield _Problem(at, f"{format_path(at)} varies {knob!r}, which base does not set; base "
                           f"sets: {', '.join(map(str, base))}; {fix}")
    if not isinstance(values, list):
        return
    checker = Draft202012Validator(knobs[knob]) if isinstance(knobs.get(knob), dict) else None
    for j, value in enumerate(values):
        here = format_path(at + (j,))
        bad = list(_schema_problems(checker, value, at + (j,))) if checker else []
        yield from bad
        if bad or knob not in base:
            continue
        run = variant_name(str(knob), value)
        if value == base[knob]:
            yield _Problem(at + (j,), f"{here} is {_show(value)}, the same as base.{knob}; the "
                                      f"base run already covers it, remove it")
        elif run in runs:
            other, where = runs[run]
            same = other == name
            by = format_path(where) if same else f"experiment {other!r} ({format_path(where)})"
            also = "" if same else f" or from {other!r}"
            yield _Problem(at + (j,), f"{here} is {_show(value)}, already run by {by}; remove "
                                      f"it from {name!r}{also}")
        else:
            runs[run] = (name, at + (j,))


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


def validate_config(config: dict, schema: dict | str | Path,
                    sources: Sequence[str | os.PathLike],
                    overrides: Mapping | None = None) -> None:
    """Raise ConfigError listing every problem of `config`, merged from `sources` in that order."""
    # `overrides`: the values given with `snakemake --config`, named `--config` in messages.
    if not isinstance(schema, dict):
        schema = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
    config = coerce_numbers(copy.deepcopy(config)) if isinstance(config, dict) else config
    found = list(_schema_problems(Draft202012Validator(schema), config))
    if isinstance(config, dict):
        found += _experiment_problems(config, schema)
    if not found:
        log.debug("config from %s is valid", ", ".join(map(str, sources)))
        return
    docs = [_read(s) for s in sources] + [("--config", dict(overrides or {}))]
    found = sorted(dict.fromkeys(found), key=lambda p: _order(config, p.path))
    raise ConfigError([f"{_source_of(p.path, docs)}: {p.text}" for p in found])
