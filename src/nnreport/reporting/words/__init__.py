"""The report's words, one catalogue per language (`<language>.yaml` beside this file).

Code asks for a word by its key (`word("axes.epoch")`); the catalogue of the active language
answers. Spanish, the language of the reference reports, is active unless `activate` says
otherwise.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

CATALOGUES = Path(__file__).parent
DEFAULT = "es"
_active = DEFAULT
_knobs: dict[str, str] = {}  # knob -> its name in the study's own words (report: knobs:)


def languages() -> list[str]:
    """The languages with a catalogue."""
    return sorted(p.stem for p in CATALOGUES.glob("*.yaml"))


@functools.cache
def catalogue(language: str) -> dict[str, Any]:
    """The catalogue of `language`; a ValueError names the languages there are."""
    path = CATALOGUES / f"{language}.yaml"
    if not path.is_file():
        raise ValueError(f"report: language '{language}' has no catalogue of words; use one "
                         f"of {languages()} or add {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def activate(language: str, knobs: dict[str, str] | None = None) -> None:
    """Make `language` the language of every word asked for from now on, and `knobs` (knob ->
    its name, LaTeX) the names of the study's own knobs (a user's constructor arguments)."""
    global _active, _knobs
    catalogue(language)  # fails here, not at the first word, when there is no catalogue
    _active, _knobs = language, dict(knobs or {})


def knob_label(knob: str) -> str | None:
    """The name the study gives `knob` (`report: knobs:`, or a user argument's code), if any."""
    return _knobs.get(knob)


def entry(key: str) -> Any:
    """The catalogue's entry at a dotted `key` (a word, a list or a table of words)."""
    node: Any = catalogue(_active)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"the '{_active}' catalogue of words has no '{key}' "
                           f"({CATALOGUES / _active}.yaml)")
        node = node[part]
    return node


def word(key: str, **values: Any) -> str:
    """The word (or phrase) at `key`, its {fields} filled from `values`."""
    text = entry(key)
    if not isinstance(text, str):
        raise KeyError(f"'{key}' of the '{_active}' catalogue is not a word but {text!r}")
    return text.format(**values) if values else text
