"""How hyper-parameters and their values are written in tables, legends and prose."""

from __future__ import annotations

import math
import re
import string
from typing import Any

from nnreport.base.texescape import escape
from nnreport.base.usercode import parse_target
from nnreport.reporting.words import entry, knob_label, word

# Knobs written as symbols, the same in every language: (Table I header, name in a label).
# Both are valid LaTeX and matplotlib mathtext. The other knobs' names are words (knobs.*).
SYMBOLS: dict[str, tuple[str, str]] = {
    "n1": (r"$n_1$", r"$n_1$"),
    "n2": (r"$n_2$", r"$n_2$"),
    "p": (r"$p$", r"$p$"),
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "adamw": "AdamW", "rmsprop": "RMSprop"}
NAMES = {  # values shown with their usual spelling in every language; others are words (values.*)
    "relu": "ReLU", "leaky_relu": "LeakyReLU", "silu": "SiLU", "gelu": "GELU", "tanh": "tanh",
}


def _knob_names(knob: str) -> tuple[str, str] | None:
    """(header, name) of `knob`: the study's own name for it, its symbol, or its words in the
    active language."""
    own = knob_label(knob)
    if own is not None:
        return own, own
    if knob in SYMBOLS:
        return SYMBOLS[knob]
    names = entry("knobs")
    return (names[knob][0], names[knob][1]) if knob in names else None


def code_name(name: str) -> str:
    """Return an identifier of the user's code in code font, valid in LaTeX and in
    matplotlib's mathtext: `$\\mathtt{canales\\_extra}$`."""
    return "$\\mathtt{" + name.replace("_", "\\_") + "}$"


def study_knob_labels(config: dict, user_arguments: list[str]) -> dict[str, str]:
    """Return the names of a study's own knobs: those `report: knobs:` gives (LaTeX-escaped,
    math kept), and each other argument of a user's constructor in code font."""
    given = (config.get("report") or {}).get("knobs") or {}
    labels = {k: code_name(k) for k in user_arguments}
    return {**labels, **{k: escape(str(v)) for k, v in given.items()}}


def thousands(n: int) -> str:
    """Return an integer with thin-space thousands separators for LaTeX: `60\\,000`."""
    return f"{int(n):,}".replace(",", r"\,")


def signed(value: float, digits: int = 2) -> str:
    """Return `value` with its sign, `+0.15` or `-0.84` (a minus in LaTeX math), and a zero that
    rounds to zero without one: `0.000`, never `-0.000`."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def plus_minus(mean: float, std: float | None, fmt: str = ".2f") -> str:
    """Return a mean with its spread in LaTeX math, `$89.99 \\pm 0.14$`, or the mean alone,
    `$89.99$`, when the spread is unknown (one seed: None or NaN); math mode sets a minus sign,
    not a hyphen."""
    text = format(mean, fmt)
    if std is None or std != std:  # NaN
        return f"${text}$"
    return f"${text} \\pm {format(std, fmt)}$"


def knob_header(knob: str) -> str:
    """Return the Table I column header of `knob`."""
    names = _knob_names(knob)
    return names[0] if names else escape(knob)


def knob_name(knob: str) -> str:
    """Return the name of `knob` as it reads in a legend or a sentence."""
    names = _knob_names(knob)
    return names[1] if names else escape(knob)


def power_of_ten(x: float) -> str:
    """Return `x` in math notation: `10^{-3}`, `5 \\times 10^{-4}`, or plain digits."""
    if x == 0:
        return "0"
    exp = math.floor(math.log10(abs(x)))
    mant = x / 10**exp
    if abs(mant - round(mant)) < 1e-9:
        mant = round(mant)
    if -2 <= exp <= 3 and not (exp < 0 and mant == 1):
        return f"{x:g}"
    mant_txt = "" if mant == 1 else f"{mant:g} \\times "
    return f"{mant_txt}10^{{{exp}}}"


def format_value(knob: str, value: Any) -> str:
    """Return `value` of `knob` for a table cell or a label (`$10^{-3}$`, `Adam`, `0.2`; a
    class of the user's by its name in code font)."""
    target = parse_target(value)
    if target is not None:
        return code_name(target.name)
    if knob == "optimizer":
        return OPTIMIZERS.get(str(value).lower(), escape(str(value)))
    if knob in ("lr", "weight_decay"):
        return f"${power_of_ten(float(value))}$"
    if isinstance(value, bool):
        return word("affirmative") if value else word("negative")
    if isinstance(value, list | tuple):
        return "--".join(str(v) for v in value)
    if isinstance(value, str) and value in NAMES:
        return NAMES[value]
    if isinstance(value, str) and value in entry("values"):
        return word(f"values.{value}")
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else f"{value:.1f}"
    return escape(str(value))


def plain(label: str) -> str:
    """Return a label without TeX markup, for HTML: `$n_1$~=~64` -> `n1 = 64`."""
    text = label.replace(r"\times", "×").replace("$", "").replace("~", " ")
    return re.sub(r"[_{}\\]", "", text)


def variant_label(knob: str | None, value: Any) -> str:
    """Return a run's label: `$n_1$~=~64` (ties: a line never breaks inside it), or `base`
    for the base run."""
    if knob is None:
        return "base"
    return f"{knob_name(knob)}~=~{format_value(knob, value)}"


def variant_phrase(knob: str | None, value: Any) -> str:
    """Return a run as it reads in a sentence: `el optimizador SGD`, `una tasa de aprendizaje
    de $10^{-2}$`, `$n_1$ = 64` (a knob without a phrase: its label), `base`."""
    phrases = entry("phrases")
    if knob is not None and knob_label(knob) is not None:  # the study's own knob: its name
        return variant_label(knob, value)
    if knob is not None and isinstance(phrases.get(knob), dict):  # one phrase per value
        return phrases[knob].get(str(value).lower(), variant_label(knob, value))
    if knob is not None and knob in phrases:
        return word(f"phrases.{knob}", value=format_value(knob, value))
    return variant_label(knob, value)


def panel_letters(ids: list[str]) -> dict[str, str]:
    """The letter of each panel of a figure of panels, in order: `{"n1": "a", "n2": "b"}` (the
    figure's titles and the prose's references both take them from here)."""
    return dict(zip(ids, string.ascii_lowercase, strict=False))


def series(items: list[str]) -> str:
    """Return `items` as a sentence lists them: `a`, `a y b`, `a, b y c` (the language's
    word for "and")."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word('and')} {items[-1]}"


def named_runs(runs: list[dict]) -> str:
    """Return runs (the report's run entries) as a sentence names them, the base first:
    `el modelo base y las corridas con $p$ = 0 y $n_1$ = 256`; "" for none."""
    others = series([r["phrase"] for r in runs if r["name"] != "base"])
    count = sum(r["name"] != "base" for r in runs)
    if not others:
        return word("run_list.base") if runs else ""
    prefix = "base_" if len(runs) > count else ""
    return word(f"run_list.{prefix}{'one' if count == 1 else 'many'}", runs=others)


def plural(n: int, one: str, many: str) -> str:
    """Return `n` with its noun in the right number: `1 época`, `30 épocas`."""
    return f"{n} {one if n == 1 else many}"


def run_changes(variant) -> str:
    """Return what a search candidate changes: `capas ocultas = 256--128, schedule = lineal`."""
    changes = ", ".join(variant_label(k, v) for k, v in variant.overrides.items())
    return changes or word("no_changes")


def run_label(variant) -> str:
    """Return the label of any run: a Table I variant (an experiment's own base run reads as
    its value of the knob the experiment varies), or a model with its search changes."""
    if variant.knob is not None or variant.name == "base":
        return variant_label(variant.knob, variant.value)
    changes = ", ".join(variant_label(k, v) for k, v in variant.overrides.items())
    name = escape(variant.experiment)
    return f"{name} ({changes})" if changes else name


def class_names(classes: list[str]) -> list[str]:
    """The dataset's class names in the report's language (a name without a translation, such
    as an EMNIST character, stays as it is)."""
    names = entry("classes")
    return [names.get(c, c) for c in classes]
