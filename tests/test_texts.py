"""Config text the report prints (issue 24): math on purpose that reads or writes a file, or
any command math does not need, is refused before any job and printed as text if it ever gets
through; control characters, characters pdflatex cannot print and words too long for a line
are refused naming their key; every character allowed compiles with the report's preamble."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from test_validation import problems

from conftest import ROOT, SNAKEMAKE, make_workdir
from nnreport.base.texescape import PRINTABLE, escape, math_problem
from nnreport.checks.config import ConfigError, validate_config


def _tiny() -> dict:
    return yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())


OPENOUT = r"Variar \(\immediate\openout9=tables/results.tex\immediate\write9{0}\)."


@pytest.mark.parametrize(("math", "why"), [
    (r"\immediate\openout9=x.tex", r"\immediate, which math on purpose does not allow"),
    (r"\input{/etc/passwd}", r"\input, which math on purpose does not allow"),
    (r"\def\x{1}", r"\def, which math on purpose does not allow"),
    (r"\catcode`\^=12", r"\catcode, which"),
    (r"\undefinedmacro", r"\undefinedmacro, which"),
    (r"^^5cinput", "'^^' (TeX reads it as another character)"),
    (r"a $ b", "a dollar sign (it leaves math)"),
    (r"a % b", "a percent sign"),
    (r"x}", "a '}' that closes no '{'"),
    (r"\frac{1", "a '{' that is never closed"),
    ("α", "'α' (U+03B1); math takes ASCII only"),
])
def test_math_that_does_more_than_typeset_is_refused_and_printed_as_text(math, why):
    assert math_problem(math).startswith(why)
    printed = escape(f"Ver \\({math}\\).")
    assert "$" not in printed.replace("\\$", "")  # no math mode, hence no command run
    assert not re.search(r"(?<!textbackslash\{\})\\(immediate|input|def|catcode|openout)", printed)


@pytest.mark.parametrize("math", [r"n_1", r"\frac{1}{2}\sqrt{p}", r"10^{-3}", r"\eta \leq 0.1",
                                  r"\mathrm{ReLU}(z) = \max(0, z)", r"\{a, b\}", r"a\,b",
                                  r"\left(\frac{a}{b}\right)", r"\text{lr} \times 2"])
def test_math_that_typesets_passes_unchanged(math):
    assert math_problem(math) is None
    assert escape(f"\\({math}\\)") == f"${math}$"


@pytest.mark.parametrize(("where", "text", "line"), [
    (("experiments", 1, "objective"), OPENOUT,
     r"experiments[1].objective: the math \(\immediate\openout9=tables/results.tex"
     r"\immediate\write9{0}\) holds \immediate, which math on purpose does not allow"),
    (("report", "title"), "Informe\x00", "report.title holds the control character U+0000 at "
                                         "character 8; remove it"),
    (("report", "abstract"), "Muy bien 😀", "report.abstract holds U+1F600 (GRINNING FACE), "
                                            "which pdflatex cannot print"),
    (("report", "title"), "שלום", "report.title holds U+05E9 (HEBREW LETTER SHIN), U+05DC "
                                  "(HEBREW LETTER LAMED), U+05D5 (HEBREW LETTER VAV), which"),
    (("report", "abstract"), "a" * 500, "report.abstract holds a word of 500 characters "
                                        "(aaaaaaaaaaaaaaaaaaaa...), too long to break"),
    (("experiments", 2, "objective"), r"Con \(\mathbb{R}\beta\foo\).",
     r"experiments[2].objective: the math \(\mathbb{R}\beta\foo\) holds \foo"),
])
def test_text_the_report_cannot_print_is_refused_naming_its_key(where, text, line):
    config = _tiny()
    node = config
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = text
    [problem] = problems(config)
    assert problem.startswith(f"config.yaml: {line}"), problem


def test_spanish_text_and_typesetting_math_pass():
    config = _tiny()
    config["report"]["title"] = "Señales, año 2026: “pruebas” — ¿qué tal? €5 · 10 %"
    config["experiments"][1]["objective"] = r"Variar \(n_1 \in \{16, 64\}\), \(\alpha \leq 1\)."
    validate_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml",
                    ["config.yaml"])


def _declared_in_latex() -> set[int]:
    """The code points LaTeX's encoding files declare, as the installed TeX has them."""
    points = set()
    for name in ("t1enc.dfu", "ts1enc.dfu", "ot1enc.dfu", "omsenc.dfu", "utf8.def"):
        path = subprocess.run(["kpsewhich", name], capture_output=True, text=True,
                              check=True).stdout.strip()
        text = Path(path).read_text(encoding="latin-1")
        points |= {int(m, 16) for m in re.findall(r"DeclareUnicodeCharacter\{([0-9A-F]{4,5})\}",
                                                  text)}
    return {p for p in points if p >= 0xA0}


def test_the_printable_characters_are_latexs_and_all_compile(tmp_path):
    assert _declared_in_latex() == set(PRINTABLE)
    preamble = (ROOT / "report" / "templates" / "informe.tex.j2").read_text().split(
        "\\begin{document}")[0]
    packages = [line for line in preamble.splitlines() if line.startswith(
        ("\\documentclass", "\\usepackage[utf8]", "\\usepackage[T1]", "\\usepackage{lmodern}",
         "\\usepackage[spanish", "\\usepackage{amsmath"))]
    body = " ".join(chr(p) for p in sorted(PRINTABLE) if p != 0xAD)
    (tmp_path / "t.tex").write_text("\n".join([*packages, "\\begin{document}", body,
                                               "\\end{document}", ""]), encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "t.log").read_text(encoding="latin-1")
    assert proc.returncode == 0, log[-2000:]
    assert "Missing character" not in log


def test_openout_in_an_objective_stops_snakemake_before_any_job(tmp_path):
    config = _tiny()
    config["experiments"][1]["objective"] = OPENOUT
    make_workdir(tmp_path, config)
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                           "--cores", "1", "report/tiny.pdf"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "holds \\immediate, which math on purpose does not allow" in (
        proc.stderr)
    assert not any((tmp_path / d).exists() for d in ("results", "data", "report/build"))


def test_a_config_error_is_raised_for_text_too():
    config = _tiny()
    config["report"]["date"] = "1\x07 de enero"
    with pytest.raises(ConfigError, match="report.date holds the control character U\\+0007"):
        validate_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml",
                        ["config.yaml"])
