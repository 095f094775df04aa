"""Config values read as the schema means them: `64.0` or `'1e3'` where an integer is meant is
that integer, `'1e-3'` where a number is meant is 0.001, `'true'` a boolean, `'null'` null.

Two readers hand over such values. PyYAML (YAML 1.1, hence Snakemake's config files) reads
`1e-3` as a string; Snakemake's `--config` reads `seeds=[0,1]` as `['0', '1']` (its YAML
parser keeps every scalar inside a list or mapping a string), `max_train=1e3` as 1000.0 and
`tf32=true` as `'true'`. A value is changed only when its type is not one the schema allows
and it reads unambiguously as one that is; everything else is left for validation to refuse.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

# The project's schema (an editable install keeps the package beside the workflow).
SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"
# Mappings of knob -> list of values of that knob (Table I's vary, a model's search): each
# value follows the knob's schema among the hyper-parameters.
KNOB_LISTS = {("experiments", "*", "vary"): "#/$defs/hparams",
              ("models", "*", "search"): "#/$defs/hparams"}
OWN_KNOBS = "#/$defs/user_hparams"
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_EXPONENT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+\s*$")  # YAML 1.1's strings
_BOOLEANS = {"true": True, "false": False}
_NULLS = ("null", "Null", "NULL", "~")


@functools.cache
def _load(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def load_schema(schema: dict | str | Path | None = None) -> dict:
    """Return the config schema: `schema` itself, read from its path, or the project's."""
    return schema if isinstance(schema, dict) else _load(str(schema or SCHEMA))


def _resolve(ref: str, root: dict) -> dict:
    """Return the part of `root` that a local `$ref` (`#/$defs/hparams`) points at."""
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def dereference(schema: dict, root: dict) -> dict:
    """Return `schema` with its local `$ref` followed (`{$ref: '#/$defs/hparams/properties/lr'}`
    is the schema of lr), so that a validator needs no root to check against it."""
    while isinstance(schema.get("$ref"), str):
        schema = _resolve(schema["$ref"], root)
    return schema


def _parts(schema: Any, root: dict) -> list[dict]:
    """Return `schema` and every schema it includes through `$ref`, `allOf` and both branches
    of `if` (a key both branches define has the same schema in each: the trainer's keys)."""
    if not isinstance(schema, dict):
        return []
    out = [schema]
    if isinstance(schema.get("$ref"), str):
        out += _parts(_resolve(schema["$ref"], root), root)
    for sub in [*schema.get("allOf", []), schema.get("then"), schema.get("else")]:
        out += _parts(sub, root)
    return out


def _types(parts: list[dict]) -> set[str]:
    """Return the JSON types the schema parts allow (empty: they do not say)."""
    types: set[str] = set()
    for part in parts:
        t = part.get("type")
        types |= {t} if isinstance(t, str) else set(t or ())
    return types


def _has_type(value: Any, types: set[str]) -> bool:
    """Return whether `value` is, as Python holds it, of one of the JSON `types`."""
    kinds = {"null": value is None, "boolean": isinstance(value, bool),
             "integer": isinstance(value, int) and not isinstance(value, bool),
             "number": isinstance(value, int | float) and not isinstance(value, bool),
             "string": isinstance(value, str), "array": isinstance(value, list),
             "object": isinstance(value, dict)}
    return any(kinds.get(t, False) for t in types)


def read_as(value: Any, types: set[str]) -> Any:
    """Return `value` as one of the JSON `types` when it reads as one unambiguously, else as is."""
    if isinstance(value, str) and "null" in types and value.strip() in _NULLS:
        return None  # 'null' where null is allowed, even where a string is too (--config)
    if isinstance(value, str) and "number" in types and _EXPONENT.match(value):
        return float(value)  # 1e-3 that YAML 1.1 left a string, even where strings are allowed
        # (a student's own knob takes any value: its `1e-3` is still the number 0.001)
    if not types or _has_type(value, types):
        return value
    if isinstance(value, str) and "boolean" in types and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    if isinstance(value, str) and types & {"integer", "number"} and _NUMBER.match(value):
        value = int(value) if _INTEGER.match(value) else float(value)
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)  # 64.0 -> 64; 64.5 stays, for validation to refuse
    return value


def _walk(value: Any, schema: Any, root: dict, where: tuple) -> Any:
    """Return `value` with every value below it read as `schema` means it (containers in place)."""
    parts = _parts(schema, root)
    if isinstance(value, dict):
        knobs = KNOB_LISTS.get(where)
        for key, item in value.items():
            if knobs and isinstance(item, list):
                # a knob of ours, else one of a student's class (any value: user_hparams)
                knob = (_resolve(knobs, root).get("properties", {}).get(key)
                        or _resolve(OWN_KNOBS, root).get("additionalProperties"))
                value[key] = [_walk(v, knob, root, (*where, key, "*")) for v in item]
                continue
            sub = next((p["properties"][key] for p in parts
                        if isinstance(p.get("properties"), dict) and key in p["properties"]),
                       next((p["additionalProperties"] for p in parts
                             if isinstance(p.get("additionalProperties"), dict)), None))
            value[key] = _walk(item, sub, root, (*where, key))
        return value
    if isinstance(value, list):
        items = next((p["items"] for p in parts if isinstance(p.get("items"), dict)), None)
        value[:] = [_walk(v, items, root, (*where, "*")) for v in value]
        return value
    return read_as(value, _types(parts))


def normalise_values(config: dict, schema: dict | str | Path | None = None) -> dict:
    """Read every value of `config` as the schema means it, in place; return `config`."""
    root = load_schema(schema)
    return _walk(config, root, root, ())
