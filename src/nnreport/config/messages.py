"""Plain-English problems of a config against its JSON schema: path, value, what is allowed."""

from __future__ import annotations

import datetime
import difflib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

ConfigPath = tuple[str | int, ...]
_TYPE_WORDS = {"integer": "an integer", "number": "a number", "string": "a string",
               "boolean": "true or false", "array": "a list", "object": "a mapping",
               "null": "null (empty)"}
_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
          (list, "a list"), (dict, "a mapping"), (datetime.date, "a date"))
_RANGE = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")


@dataclass(frozen=True)
class Problem:
    """One problem: where it is in the merged config, and what to say about it."""

    path: ConfigPath
    text: str


def leaves(value: Any, path: ConfigPath = ()) -> Iterator[tuple[ConfigPath, Any]]:
    """Yield every value of a config that is neither a mapping nor a list, with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def format_path(path: Sequence[str | int]) -> str:
    """Return `path` written the way a person reads YAML: `experiments[3].vary.p[0]`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def show(value: Any, limit: int = 60) -> str:
    """Return the value as a message shows it: its repr, shortened if long."""
    text = ("empty (null)" if value is None else str(value).lower() if isinstance(value, bool)
            else repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def suggest(word: Any, options: Sequence[Any]) -> str:
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
    if isinstance(value, float) and "integer" in types:  # 64.5 where a whole number is meant
        low, low_open, _, _ = _bounds(schema)
        whole = [n for n in dict.fromkeys((math.floor(value), math.ceil(value)))
                 if low is None or n > low or n == low and not low_open]
        if whole:
            return f", e.g. {' or '.join(map(str, whole))}"
    if "array" in types and scalar:  # '0,1' (a --config value) -> [0, 1]
        items = value.split(",") if isinstance(value, str) else [value]
        shown = (str(i).lower() if isinstance(i, bool) else str(i).strip() for i in items)
        return f", e.g. [{', '.join(shown)}] (in brackets)"
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


def _explain(error: ValidationError, prefix: ConfigPath = ()) -> Iterator[Problem]:
    """Yield plain-English problems for one jsonschema error found under `prefix`."""
    path = prefix + tuple(error.absolute_path)
    where, value, schema = format_path(path) or "the config", error.instance, error.schema
    rule, rule_value = error.validator, error.validator_value
    said = f"{where} is {show(value)}"
    if rule == "additionalProperties" and isinstance(value, dict):
        known, patterns = list(schema.get("properties", {})), schema.get("patternProperties", {})
        for key in value:
            if key not in known and not any(re.search(p, str(key)) for p in patterns):
                hint = suggest(key, known) or "remove it or fix its spelling"
                yield Problem(path + (key,), f"{format_path(path + (key,))} is not a key of "
                              f"{format_path(path) or 'the top level'}; known keys: "
                              f"{', '.join(known)}; {hint}")
    elif rule == "required" and isinstance(value, dict):
        for key in (k for k in rule_value if k not in value):
            yield Problem(path + (key,), f"{format_path(path + (key,))} is missing; add it "
                                          f"({where} needs {', '.join(rule_value)})")
    elif rule == "type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in _types(schema))
        kind = next((w for cls, w in _KINDS if isinstance(value, cls)), type(value).__name__)
        got = "" if value is None else f" ({kind})"
        yield Problem(path, f"{said}{got}; expected {wanted}{_example(value, schema)}")
    elif rule in ("enum", "const"):
        options = rule_value if rule == "enum" else [rule_value]
        hint = suggest(value, options) if isinstance(value, str) else ""
        allowed = ", ".join("null" if o is None else str(o) for o in options)
        if path and path[-1] == "model":  # a family, or a class of the user's own file
            allowed += ", or a class of yours as path/file.py:ClassName"
        yield Problem(path, f"{said}; allowed: {allowed}; {hint or 'pick one of those'}")
    elif rule in _RANGE:
        yield Problem(path, f"{said}; must be {_range_text(schema)}")
    elif rule == "minItems" and isinstance(value, list):
        default = schema.get("default")
        hint = f", e.g. {path[-1]}: {default!r}" if default and isinstance(path[-1], str) else ""
        n = f"{rule_value} value" + ("s" if rule_value != 1 else "")
        yield Problem(path, f"{said}; give at least {n}{hint}")
    elif rule == "uniqueItems" and isinstance(value, list):
        again = next(v for i, v in enumerate(value) if v in value[:i])
        yield Problem(path, f"{said}; values must be unique but {show(again)} is repeated; "
                            f"remove the duplicate")
    elif rule in ("maxLength", "minLength") and isinstance(value, str):
        most = "at most" if rule == "maxLength" else "at least"
        yield Problem(path, f"{said} ({len(value)} characters); use {most} {rule_value}")
    elif rule == "pattern" and isinstance(value, str):
        yield Problem(path, f"{said}; {_pattern_hint(value, rule_value)}")
    elif rule == "anyOf" and not path and all({"required", "title"} <= set(b) for b in rule_value):
        pass  # which kind of study: study_checks.shape_problems says what it lacks
    elif rule in ("anyOf", "oneOf") and error.context:
        yield from _explain(best_match(error.context), prefix)
    elif not (rule in ("minProperties", "maxProperties") and path[::2] == ("experiments", "vary")
              and len(path) == 3):  # experiment_problems says it better
        yield Problem(path, f"{said}; {error.message}")


def schema_problems(validator: Draft202012Validator, instance: Any,
                    prefix: ConfigPath = ()) -> Iterator[Problem]:
    """Yield the problems `validator` finds in `instance`; an enum error hides the type error."""
    errors = list(validator.iter_errors(instance))
    enums = {tuple(e.absolute_path) for e in errors if e.validator in ("enum", "const")}
    for error in errors:
        if not (error.validator == "type" and tuple(error.absolute_path) in enums):
            yield from _explain(error, prefix)
