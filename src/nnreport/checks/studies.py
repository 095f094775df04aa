"""What the schema cannot see in a study: its kind, one knob per experiment, varied values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from nnreport.base.usercode import is_user_model
from nnreport.checks.models import family_problems, size_problems
from nnreport.config.grid import has_test_set, variant_name
from nnreport.config.messages import (
    ConfigPath,
    Problem,
    format_path,
    schema_problems,
    show,
    suggest,
)
from nnreport.config.values import dereference
from nnreport.studies.kinds import ModelStudy, TableStudy, study_kind

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
    if wanted == TableStudy.template and isinstance(config.get("base"), dict):
        wanted = study_kind(config).template  # an autoencoder study's, or a Table I study's
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
    yield from own_base_problems(config)
    for i, exp in enumerate(experiments):  # a varied n1 or n2 beside the base's hidden
        vary = exp.get("vary") if isinstance(exp, dict) else None
        if not isinstance(vary, dict):
            continue
        ref, ref_where = reference_of(exp, i, base, where)
        for key in ("n1", "n2"):
            if key in vary:
                yield from size_problems({**ref, key: vary[key]},
                                         {**ref_where, key: ("experiments", i, "vary", key)})
        for j, value in enumerate(vary.get("kernel") or []):  # an even kernel among the values
            yield from family_problems({**ref, "kernel": value},
                                       {"kernel": ("experiments", i, "vary", "kernel", j)})
    knobs = (schema.get("properties", {}).get("base", {}).get("properties")
             or schema.get("$defs", {}).get("hparams", {}).get("properties", {}))
    user_knobs = {k: dereference(v, schema) for k, v in schema.get("$defs", {}).get(
        "user_hparams", {}).get("properties", {}).items()}
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
        if "vary" not in exp and "base" not in exp:
            bases.append(i)
        elif isinstance(vary, dict) and not vary:
            yield Problem(at, f"{format_path(at)} is empty; vary one knob, e.g. "
                               f"{_VARY_EXAMPLE}, or delete vary for the base experiment")
        elif isinstance(vary, dict) and len(vary) > 1:
            names = [str(k) for k in vary]
            yield Problem(at, f"{format_path(at)} changes {', '.join(names[:-1])} and "
                               f"{names[-1]}; vary one knob per experiment (split it into "
                               f"{'two' if len(names) == 2 else len(names)} experiments)")
        ref = reference_of(exp, i, base, {})[0]
        # a user's class: the schema knows the trainer's keys only, the class the others
        own = user_knobs if is_user_model(ref.get("model")) else knobs
        for knob, values in (vary.items() if isinstance(vary, dict) else ()):
            yield from _knob_problems(at + (knob,), name, values, ref, own, runs,
                                      "base" if ref is base else f"{format_path(here)}.base")
    if not bases:
        yield Problem(("experiments",), "experiments has no base experiment; exactly one "
                                         "experiment must have no vary, e.g. - id: base")
    for i in bases[1:]:
        ids_ = [experiments[j].get("id") for j in (bases[0], i)]
        yield Problem(("experiments", i), f"experiments[{i}] ({ids_[1]!r}) has no vary, like "
                      f"experiments[{bases[0]}] ({ids_[0]!r}); only the base experiment may "
                      f"omit vary; give it one, e.g. {_VARY_EXAMPLE}")


def reference_of(exp: dict, i: int, base: dict,
                 where: dict[str, ConfigPath]) -> tuple[dict, dict[str, ConfigPath]]:
    """Return what experiment `i` varies, and where each of its keys is set: its own `base`,
    or the study's."""
    own = exp.get("base")
    if isinstance(own, dict):
        return own, {key: ("experiments", i, "base", key) for key in own}
    return base, where


def own_base_problems(config: dict) -> Iterator[Problem]:
    """Yield the problems of experiments with a base of their own (another family's reference
    run): only an autoencoder study reports them; each is checked as a base; a classifier on
    an encoder must name an autoencoder run of the study."""
    given = config.get("base")
    base: dict = given if isinstance(given, dict) else {}
    autoencoder = base.get("model") == "conv_autoencoder"
    experiments: list[dict] = [e if isinstance(e, dict) else {}
                               for e in config.get("experiments") or []]
    runs = {"base": base.get("model", "mlp")}  # run -> its family
    for exp in experiments:
        own = exp.get("base")
        ref: dict = own if isinstance(own, dict) else base
        if isinstance(exp.get("base"), dict) and isinstance(exp.get("id"), str):
            runs[exp["id"]] = ref.get("model", "mlp")
        for knob, values in (exp.get("vary") or {}).items() if isinstance(exp.get("vary"),
                                                                           dict) else ():
            for value in values if isinstance(values, list) else ():
                family = value if knob == "model" else ref.get("model", "mlp")
                runs[variant_name(str(knob), value)] = family
    autoencoders = sorted(r for r, fam in runs.items() if fam == "conv_autoencoder")
    sources: list[tuple[dict, ConfigPath]] = [(base, ("base",))] + [
        (e["base"], ("experiments", i, "base")) for i, e in enumerate(experiments)
        if isinstance(e.get("base"), dict)]
    data = config.get("dataset")
    dataset: dict = data if isinstance(data, dict) else {}
    if autoencoder and has_test_set(config):
        key = "n_test" if dataset.get("n_test") else "holdout_test"
        yield Problem(("dataset", key), f"dataset.{key} holds out test images, but an "
                      "autoencoder study reports on validation only (it chooses no "
                      f"configuration to test); remove dataset.{key}")
    for i, exp in enumerate(experiments):
        if isinstance(exp.get("base"), dict) and not autoencoder:
            here: ConfigPath = ("experiments", i, "base")
            yield Problem(here, f"{format_path(here)} gives experiment {exp.get('id')!r} a base "
                                "run of its own, which only an autoencoder study reports "
                                "(base.model: conv_autoencoder); vary the study's base instead")
    for hparams, at in sources:
        if at != ("base",):
            yield from family_problems(hparams, {k: (*at, k) for k in hparams})
        if hparams.get("model") != "encoder_classifier":
            continue
        encoder = hparams.get("encoder")
        if encoder not in autoencoders:
            here = (*at, "encoder")
            known = ", ".join(autoencoders) or "none: add a conv_autoencoder run"
            yield Problem(here, f"{format_path(here)} is {show(encoder)}, which is no "
                                f"autoencoder run of this study; its autoencoder runs: {known}")


def _knob_problems(at: ConfigPath, name: str, values: Any, base: dict, knobs: dict,
                   runs: dict[str, tuple[str, ConfigPath]],
                   base_name: str = "base") -> Iterator[Problem]:
    """Yield the problems of one varied knob: unknown knob, bad values, base value, repeats.
    `base` is what the experiment varies: the study's base, or its own (`base_name`)."""
    knob = at[-1]
    if knob not in base and base:  # no base at all: the schema says so
        hint = suggest(knob, list(base) + [k for k in knobs if k not in base])
        fix = f"add {base_name}.{knob} first" if knob in knobs else hint or "vary one of those"
        yield Problem(at, f"{format_path(at)} varies {knob!r}, which {base_name} does not set; "
                           f"{base_name} sets: {', '.join(map(str, base))}; {fix}")
    if not isinstance(values, list):
        return
    checker = Draft202012Validator(knobs[knob]) if isinstance(knobs.get(knob), dict) else None
    for j, value in enumerate(values):
        here = format_path(at + (j,))
        own = knob == "model" and is_user_model(value)  # a class of the user's: usermodels.py
        bad = list(schema_problems(checker, value, at + (j,))) if checker and not own else []
        yield from bad
        if bad or knob not in base:
            continue
        run = variant_name(str(knob), value)
        if value == base[knob]:
            yield Problem(at + (j,), f"{here} is {show(value)}, the same as {base_name}.{knob}; "
                                      f"the {'base' if base_name == 'base' else name} run "
                                      f"already covers it, remove it")
        elif run in runs:
            other, where = runs[run]
            same = other == name
            by = format_path(where) if same else f"experiment {other!r} ({format_path(where)})"
            also = "" if same else f" or from {other!r}"
            yield Problem(at + (j,), f"{here} is {show(value)}, already run by {by}; remove "
                                      f"it from {name!r}{also}")
        else:
            runs[run] = (name, at + (j,))

