"""What the schema cannot see in a study: its kind, one knob per experiment, varied values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from nnreport.checks.models import family_problems, size_problems
from nnreport.config.grid import variant_name
from nnreport.config.messages import (
    ConfigPath,
    Problem,
    format_path,
    schema_problems,
    show,
    suggest,
)
from nnreport.studies.kinds import ModelStudy, TableStudy

_VARY_EXAMPLE = "vary: {n1: [64, 256]}"


def _flow(value: Any) -> str:
    """Return `value` as one line of YAML: `{sigmas: [0.0, 0.1, 0.2]}`."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000).strip()


def shape_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield what keeps `config` from being one of the kinds of study the schema's anyOf lists
    (a Table I study, a model study): its missing keys, both kinds at once, or neither."""
    kinds = [k for k in schema.get("anyOf", []) if k.get("required") and k.get("title")]
    leads = [k for k in kinds if k["required"][0] in config]  # `models` makes a model study
    named = [f"{k['title']} ({', '.join(k['required'])})" for k in kinds]
    if len(leads) > 1:
        keys = [k["required"][0] for k in leads]
        yield Problem((keys[-1],), f"{keys[-1]} is set and so is {keys[0]}; a config is "
                      f"{' or '.join(named)}, not both; remove the keys of one of them")
        return
    kind = leads[0] if leads else next((k for k in kinds if set(k["required"]) & set(config)),
                                       None)
    if kind is None:
        yield Problem((), f"the config is neither {' nor '.join(named)}; add the keys of one of "
                          f"them, {' or '.join(k.get('description', '') for k in kinds)}")
        return
    yield from _template_problem(config, kind)
    have = ", ".join(f"{key}:" for key in kind["required"] if key in config)
    for key in (k for k in kind["required"] if k not in config):
        prop = schema.get("properties", {}).get(key, {})
        why = f" ({prop['description']})" if prop.get("description") else ""
        eg = f", e.g. {key}: {_flow(prop['examples'][0])}" if prop.get("examples") else ""
        yield Problem((key,), f"{key} is missing; {kind['title']} ({have}) needs {key}{why}{eg}")


# The report template each kind of study fills (keyed by the kind's required key): each reads
# names only its kind's context has.
TEMPLATES = {"models": ModelStudy.template, "base": TableStudy.template}


def _template_problem(config: dict, kind: dict) -> Iterator[Problem]:
    """Yield a problem for a report template made for the other kind of study."""
    report = config.get("report")
    template = report.get("template") if isinstance(report, dict) else None
    wanted = TEMPLATES.get(kind["required"][0])
    if isinstance(template, str) and wanted and template != wanted:
        yield Problem(("report", "template"), f"report.template is {show(template)}, but this "
                      f"is {kind['title']}, whose report is the template {wanted!r}; remove "
                      f"report.template or set it to {wanted}")


def experiment_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield what the schema cannot see: one knob per experiment, varied values, duplicates."""
    experiments, base = config.get("experiments"), config.get("base")
    if not isinstance(experiments, list) or not experiments:
        return
    base = base if isinstance(base, dict) else {}
    where: dict[str, ConfigPath] = {key: ("base", key) for key in base}
    yield from size_problems(base, where)
    yield from family_problems(base, where)
    for i, exp in enumerate(experiments):  # a varied n1 or n2 beside the base's hidden
        vary = exp.get("vary") if isinstance(exp, dict) else None
        if not isinstance(vary, dict):
            continue
        for key in ("n1", "n2"):
            if key in vary:
                yield from size_problems({**base, key: vary[key]},
                                         {**where, key: ("experiments", i, "vary", key)})
        for j, value in enumerate(vary.get("kernel") or []):  # an even kernel among the values
            yield from family_problems({**base, "kernel": value},
                                       {"kernel": ("experiments", i, "vary", "kernel", j)})
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
            yield Problem(here + ("id",), f"{format_path(here)}.id is {name!r}, the id of "
                          f"experiments[{ids[name]}] too; give each experiment its own id")
        ids.setdefault(name, i)
        vary, at = exp.get("vary"), here + ("vary",)
        if "vary" not in exp:
            bases.append(i)
        elif isinstance(vary, dict) and not vary:
            yield Problem(at, f"{format_path(at)} is empty; vary one knob, e.g. "
                               f"{_VARY_EXAMPLE}, or delete vary for the base experiment")
        elif isinstance(vary, dict) and len(vary) > 1:
            names = [str(k) for k in vary]
            yield Problem(at, f"{format_path(at)} changes {', '.join(names[:-1])} and "
                               f"{names[-1]}; vary one knob per experiment (split it into "
                               f"{'two' if len(names) == 2 else len(names)} experiments)")
        for knob, values in (vary.items() if isinstance(vary, dict) else ()):
            yield from _knob_problems(at + (knob,), name, values, base, knobs, runs)
    if not bases:
        yield Problem(("experiments",), "experiments has no base experiment; exactly one "
                                         "experiment must have no vary, e.g. - id: base")
    for i in bases[1:]:
        ids_ = [experiments[j].get("id") for j in (bases[0], i)]
        yield Problem(("experiments", i), f"experiments[{i}] ({ids_[1]!r}) has no vary, like "
                      f"experiments[{bases[0]}] ({ids_[0]!r}); only the base experiment may "
                      f"omit vary; give it one, e.g. {_VARY_EXAMPLE}")


def _knob_problems(at: ConfigPath, name: str, values: Any, base: dict, knobs: dict,
                   runs: dict[str, tuple[str, ConfigPath]]) -> Iterator[Problem]:
    """Yield the problems of one varied knob: unknown knob, bad values, base value, repeats."""
    knob = at[-1]
    if knob not in base and base:  # no base at all: the schema says so
        hint = suggest(knob, list(base) + [k for k in knobs if k not in base])
        fix = f"add base.{knob} first" if knob in knobs else hint or "vary one of those"
        yield Problem(at, f"{format_path(at)} varies {knob!r}, which base does not set; base "
                           f"sets: {', '.join(map(str, base))}; {fix}")
    if not isinstance(values, list):
        return
    checker = Draft202012Validator(knobs[knob]) if isinstance(knobs.get(knob), dict) else None
    for j, value in enumerate(values):
        here = format_path(at + (j,))
        bad = list(schema_problems(checker, value, at + (j,))) if checker else []
        yield from bad
        if bad or knob not in base:
            continue
        run = variant_name(str(knob), value)
        if value == base[knob]:
            yield Problem(at + (j,), f"{here} is {show(value)}, the same as base.{knob}; the "
                                      f"base run already covers it, remove it")
        elif run in runs:
            other, where = runs[run]
            same = other == name
            by = format_path(where) if same else f"experiment {other!r} ({format_path(where)})"
            also = "" if same else f" or from {other!r}"
            yield Problem(at + (j,), f"{here} is {show(value)}, already run by {by}; remove "
                                      f"it from {name!r}{also}")
        else:
            runs[run] = (name, at + (j,))

