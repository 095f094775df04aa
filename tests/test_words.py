"""The report's words: one catalogue per language, every key the code asks for is in each."""

import ast
import re

import pytest

from conftest import ROOT
from nnreport.reporting import words
from nnreport.reporting.labels import class_names, format_value, knob_name, run_changes
from nnreport.reporting.words import catalogue, entry, languages, word

CODE = [*sorted((ROOT / "src" / "nnreport").rglob("*.py")),
        *sorted((ROOT / "workflow" / "scripts").glob("*.py"))]
RULES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))  # Snakemake's Python dialect
SPANISH = re.compile(r"[áéíóúñ¿¡]|\b(?:entrenamiento|validación|época|pérdida|precisión|"
                     r"exactitud|corrida|corridas|capas?|salida|clase|modelo|tiempo|sin cambios|"
                     r"desconocido|momento|decaimiento|figura|experimento|datos)\b", re.I)


def _asked_keys() -> set[str]:
    """Every literal key the code passes to word(), entry() or header_rows() (an f-string's
    fixed prefix)."""
    keys = set()
    for path in CODE:
        for call in ast.walk(ast.parse(path.read_text())):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in ("word", "entry", "header_rows") and call.args):
                arg = call.args[0]
                if isinstance(arg, ast.Constant):
                    keys.add(arg.value)
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    keys.add(arg.values[0].value.rstrip("."))
    for path in RULES:
        keys |= {k.rstrip(".") for k in re.findall(r'\bword\(\s*f?"([^"{]+)', path.read_text())}
        keys |= {f"html.figures.{k}" for k in
                 re.findall(r'get_figure_report_labels\("(\w+)"\)', path.read_text())}
    return keys


def _shape(node):
    """The keys of a catalogue, nested, with each list's length."""
    if isinstance(node, dict):
        return {k: _shape(v) for k, v in node.items()}
    return len(node) if isinstance(node, list) else "word"


def test_every_key_the_code_asks_for_is_in_every_catalogue():
    keys = _asked_keys()
    assert {"axes.epoch", "tables.results", "months", "knobs", "html.evaluation",
            "html.figures.confusion_matrix"} <= keys
    for language in languages():
        words.activate(language)
        try:
            for key in keys:
                entry(key)  # raises KeyError naming the key and the file
        finally:
            words.activate(words.DEFAULT)


def test_the_catalogues_of_all_languages_have_the_same_keys():
    shapes = {language: _shape(catalogue(language)) for language in languages()}
    assert "es" in shapes
    reference = shapes.pop("es")
    for language, shape in shapes.items():
        assert shape == reference, language


def test_no_spanish_word_is_written_in_the_code():
    found = []
    for path in CODE:
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                      and isinstance(n.body[0], ast.Expr)}
        found += [f"{path.relative_to(ROOT)}:{n.lineno}: {n.value!r}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and id(n) not in docstrings and SPANISH.search(n.value)
                  and not re.search(r"\b(?:the|is|a|of|and|to|e\.g\.)\b", n.value)]
    for path in RULES:  # the strings of the rule files (their comments are English)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            found += [f"{path.relative_to(ROOT)}:{number}: {s!r}"
                      for s in re.findall(r'"([^"]*)"', code) if SPANISH.search(s)]
    assert not found, "\n".join(found)


def test_words_fill_their_fields_and_a_missing_key_names_the_catalogue():
    assert word("tables.diverged_at", epoch=7) == "divergió en la época 7"
    with pytest.raises(KeyError, match=r"no 'tables\.nothing' .*es\.yaml"):
        word("tables.nothing")
    with pytest.raises(ValueError, match=r"language 'xx' has no catalogue of words; use one of"):
        words.activate("xx")


def test_labels_and_class_names_come_from_the_catalogue():
    assert knob_name("lr") == entry("knobs")["lr"][1] and knob_name("n1") == "$n_1$"
    assert format_value("lr_schedule", "linear") == "lineal"
    assert format_value("batchnorm", True) == "sí"
    assert class_names(["T-shirt/top", "Ankle boot", "A"]) == ["Camiseta/top", "Botín", "A"]

    class NoChange:
        overrides: dict = {}

    assert run_changes(NoChange()) == "sin cambios"
