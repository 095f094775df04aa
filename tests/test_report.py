import shutil
import subprocess
import sys

import jinja2
import pytest

from conftest import ROOT, processes_working_in
from nnreport.reporting.build import LatexError, compile_pdf, log_excerpt, render
from nnreport.reporting.context import confusion_words
from nnreport.reporting.context import long_date as spanish_date
from nnreport.reporting.labels import thousands

needs_latex = pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk not installed")


def test_spanish_date_and_thousands():
    import datetime as dt

    assert spanish_date(dt.date(2026, 11, 25)) == "25 de noviembre de 2026"
    assert thousands(60000) == r"60\,000" and thousands(999) == "999"


def test_template_includes_the_authors_prose_with_latex_safe_delimiters(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "s").mkdir()
    (tmp_path / "t" / "main.tex.j2").write_text(
        "\\section{A}\n\\BLOCK{include \"a.tex\"}\n\\#{ a comment }\n{\\bf \\VAR{x|tex}}\n")
    (tmp_path / "s" / "a.tex").write_text("Acc \\VAR{'%.1f'|format(acc)}\\,\\%.\n")
    render(tmp_path / "t" / "main.tex.j2", tmp_path / "s", {"x": "50% & _", "acc": 88.123},
           tmp_path / "out.tex")
    assert (tmp_path / "out.tex").read_text() == (
        "\\section{A}\nAcc 88.1\\,\\%.\n{\\bf 50\\% \\& \\_}\n")


@pytest.mark.parametrize(("seeds", "out"), [(3, "del modelo base\ny cada una\ncon 3 semillas.\n"),
                                            (1, "del modelo base. Fin.\ncon 1 semillas.\n")])
def test_a_block_tag_that_ends_a_line_of_text_keeps_the_line_break_a_space_needs(tmp_path,
                                                                                   seeds, out):
    (tmp_path / "main.tex.j2").write_text(
        "del modelo base\\BLOCK{if seeds > 1}\ny cada una\\BLOCK{else}. Fin.\\BLOCK{endif}\n"
        "\\BLOCK{if seeds}\n"  # a tag alone on its line leaves nothing, as before
        "con \\VAR{seeds} semillas.\n\\BLOCK{endif}\n"
        "\\BLOCK{if seeds > 5}\n\\and\n\\BLOCK{endif}\n")
    render(tmp_path / "main.tex.j2", tmp_path, {"seeds": seeds}, tmp_path / "o.tex")
    assert (tmp_path / "o.tex").read_text() == out


def test_missing_prose_file_names_it(tmp_path):
    (tmp_path / "main.tex.j2").write_text('\\BLOCK{include "conclusiones.tex"}')
    with pytest.raises(FileNotFoundError, match="'conclusiones.tex' is missing from"):
        render(tmp_path / "main.tex.j2", tmp_path / "sections", {}, tmp_path / "o.tex")


def test_log_excerpt_keeps_file_line_messages():
    log = "noise\n./informe.tex:41: Undefined control sequence.\nl.41 $\\mathbb\nmore noise\n"
    assert log_excerpt(log) == "./informe.tex:41: Undefined control sequence.\nl.41 $\\mathbb"


@needs_latex
def test_failed_compile_reports_the_line_and_keeps_the_previous_pdf(tmp_path):
    pdf = tmp_path / "informe.pdf"
    pdf.write_bytes(b"%PDF previous")
    tex = tmp_path / "build" / "informe.tex"
    tex.parent.mkdir()
    tex.write_text("\\documentclass{article}\n\\begin{document}\nHola \\undefinedmacro\n"
                   "\\end{document}\n")
    with pytest.raises(LatexError, match=r"informe.tex:3: Undefined control sequence"):
        compile_pdf(tex, pdf)
    assert pdf.read_bytes() == b"%PDF previous"
    tex.write_text("\\documentclass{article}\n\\begin{document}\nHola\n\\end{document}\n")
    compile_pdf(tex, pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_a_compile_after_a_killed_one_starts_from_no_auxiliary_file(tmp_path):
    tex = tmp_path / "informe.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n\\section{A}\\label{s}"
                   "\nVer \\ref{s}.\n\\end{document}\n")
    compile_pdf(tex)
    assert not (tmp_path / "informe.compiling").exists()
    # killed while writing: the .aux ends mid-line, and the marker says so
    (tmp_path / "informe.aux").write_text("\\relax\n\\newlabel{s}{{1}{1")
    (tmp_path / "informe.compiling").touch()
    compile_pdf(tex)  # without the marker: "File ended while scanning use of \\@newl@bel"
    assert "\\newlabel{s}{{1}{1}" in (tmp_path / "informe.aux").read_text()


def test_latexs_8_bit_output_does_not_break_the_build(tmp_path):
    # pdflatex prints an overfull line in the font's 8-bit encoding: "ñ" is byte 0xf1, not UTF-8
    tex = tmp_path / "informe.tex"
    tex.write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
                   "\\usepackage[utf8]{inputenc}\n\\begin{document}\n"
                   "\\hbox to 1cm{año año año año año año año}\n\\end{document}\n")
    log = compile_pdf(tex)
    assert "Overfull \\hbox" in log and (tmp_path / "informe.pdf").exists()


def test_atomic_writes_leave_no_temporary_file_and_a_normal_mode(tmp_path):
    import os

    from nnreport.base.io import atomic_path, write_text

    write_text(tmp_path / "a.txt", "hola")
    assert (tmp_path / "a.txt").read_text() == "hola"
    assert os.stat(tmp_path / "a.txt").st_mode & 0o044 == 0o044  # readable by others
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_full_disk_names_the_path_and_keeps_the_previous_file(tmp_path, monkeypatch):
    import errno
    import os

    from nnreport.base.io import OutputError, write_text

    write_text(tmp_path / "table.tex", "previous")

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match=r"cannot write .*table.tex: No space left on device; "
                                          r"the disk of .* filled after 3 bytes of this file; "
                                          r"free more room than that there"):
        write_text(tmp_path / "table.tex", "new")
    assert (tmp_path / "table.tex").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["table.tex"]


def test_an_output_under_a_file_names_the_path(tmp_path):
    from nnreport.base.io import OutputError, write_text

    (tmp_path / "results").write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"cannot write .*results/x.json: .*make the folder "
                                          r"writable"):
        write_text(tmp_path / "results" / "x.json", "{}")


@pytest.mark.parametrize(("seconds", "text"), [
    (0.043, "43\\,ms"), (0.0043, "4.3\\,ms"), (0.43, "0.4\\,s"), (9.94, "9.9\\,s"),
    (9.96, "10\\,s"), (42.4, "42\\,s"),
    (185, "3\\,min 05\\,s"), (3720, "1\\,h 02\\,min"), (None, "desconocido")])
def test_durations_read_as_prose_with_the_reports_decimal_point(seconds, text):
    from nnreport.reporting.context import duration

    assert duration(seconds) == text


@needs_latex
def test_a_build_that_failed_for_a_missing_package_succeeds_once_it_is_installed(tmp_path):
    # latexmk must not replay the old error when only the machine changed, not the sources
    tex = tmp_path / "informe.tex"
    tex.write_text("\\documentclass{article}\n\\usepackage{nnreportmissing}\n"
                   "\\begin{document}\nHola\n\\end{document}\n")
    with pytest.raises(LatexError, match=r"File `nnreportmissing.sty' not found"):
        compile_pdf(tex)
    (tmp_path / "nnreportmissing.sty").write_text("\\ProvidesPackage{nnreportmissing}\n")
    compile_pdf(tex)
    assert (tmp_path / "informe.pdf").read_bytes().startswith(b"%PDF-")


def test_prose_files_accept_every_ordinary_latex_comment(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "s").mkdir()
    (tmp_path / "t" / "main.tex.j2").write_text("\\BLOCK{include 'body.tex'}\n")
    body = ("%% a LaTeX habit\n%# not a Jinja comment\n% 50% done\nText.  %% trailing\n"
            "%%% three\n\\VAR{x}\n")
    (tmp_path / "s" / "body.tex").write_text(body)
    render(tmp_path / "t" / "main.tex.j2", tmp_path / "s", {"x": 1}, tmp_path / "o.tex")
    assert (tmp_path / "o.tex").read_text() == body.replace("\\VAR{x}", "1")


@needs_latex
@pytest.mark.parametrize("path", ["/etc/hostname", "../secret.txt"])
def test_latex_reads_nothing_outside_its_build_folder(tmp_path, path):
    (tmp_path / "secret.txt").write_text("SECRET-OUTSIDE\n")
    build = tmp_path / "build"
    build.mkdir()
    tex = build / "informe.tex"
    tex.write_text(f"\\documentclass{{article}}\n\\begin{{document}}\n\\input{{{path}}}\n"
                   "\\end{document}\n")
    with pytest.raises(LatexError, match=r"can't find file|not found"):
        compile_pdf(tex)
    assert "SECRET-OUTSIDE" not in (build / "informe.log").read_text(errors="replace")


@needs_latex
def test_latex_runs_no_shell_command(tmp_path):
    tex = tmp_path / "informe.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n"
                   "\\immediate\\write18{touch pwned}\nHola\n\\end{document}\n")
    compile_pdf(tex)
    assert not (tmp_path / "pwned").exists()
    assert "runsystem(touch pwned)...disabled" in (tmp_path / "informe.log").read_text()


@needs_latex
def test_latex_that_never_ends_is_stopped_with_the_likely_cause(tmp_path):
    import time

    tex = tmp_path / "informe.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n\\def\\x{\\x}\\x\n"
                   "\\end{document}\n")
    start = time.monotonic()
    with pytest.raises(LatexError, match=r"within 3 s \(report: latex_timeout\).*never ends"):
        compile_pdf(tex, timeout=3)
    assert time.monotonic() - start < 60
    assert processes_working_in(tmp_path) == [], "LaTeX kept running after the time limit"


def test_every_expected_error_is_logged_as_its_message_alone(capsys):
    import logging

    from nnreport.base.errors import ExpectedError
    from nnreport.base.integrity import DamagedFileError
    from nnreport.base.io import OutputError
    from nnreport.base.logs import _short_errors
    from nnreport.data.idx import DataError
    from nnreport.reporting.check import ReportCheckError
    from nnreport.reporting.figures import FigureError

    for kind in (DataError, OutputError, LatexError, ReportCheckError, FigureError,
                 DamagedFileError):
        assert issubclass(kind, ExpectedError)
    handler = logging.StreamHandler()
    logging.getLogger("nnreport").addHandler(handler)
    try:
        error = LatexError("report: it went wrong")
        _short_errors(LatexError, error, None)
        _short_errors(KeyError, KeyError("x"), None)
    finally:
        logging.getLogger("nnreport").removeHandler(handler)
    err = capsys.readouterr().err
    assert "report: it went wrong\n" in err and "unexpected error" in err


def test_the_confusion_summarys_class_names_are_escaped_for_the_prose():
    summary = {"variant": "base", "confusion": {"true": "sauce_llorón", "pred": "A&B",
                                               "percent": 12.0},
               "easiest": {"name": "50%", "percent": 99.0},
               "hardest": {"name": "x#y", "percent": 40.0}}
    words = confusion_words(summary)
    assert (words["confusion"]["true"], words["confusion"]["pred"]) == ("sauce\\_llorón", "A\\&B")
    assert (words["easiest"]["name"], words["hardest"]["name"]) == ("50\\%", "x\\#y")
    assert confusion_words({"variant": "base"}) == {"variant": "base"}  # an autoencoder's


def test_the_config_key_for_a_test_set_is_advised_in_the_log_not_in_the_prose():
    from nnreport.reporting.build import config_advice

    advice = config_advice({"test": None, "ranking": [{"name": "base"}]})
    assert len(advice) == 1 and "dataset: n_test" in advice[0]
    assert config_advice({"test": {"label": "base"}, "ranking": [{"name": "base"}]}) == []
    assert config_advice({"runs": []}) == []  # a study kind without a chosen configuration


def test_a_reports_problems_are_published_beside_it_and_go_when_it_has_none(tmp_path):
    from nnreport.reporting.build import problems_path, publish_report, set_aside

    build, published = tmp_path / "build" / "informe.pdf", tmp_path / "report" / "informe.pdf"
    build.parent.mkdir()
    build.write_bytes(b"%PDF-1.5 first")
    problems_path(build).write_text("- page 3 (60 % empty)\n")
    publish_report(build, published)
    assert problems_path(published).read_text() == "- page 3 (60 % empty)\n"
    assert problems_path(published).name == "informe-problems.txt"
    with set_aside(published):  # a new build: the list spoke of the report set aside
        assert not problems_path(published).exists()
        problems_path(build).unlink()
        build.write_bytes(b"%PDF-1.5 second")
        publish_report(build, published)
    assert published.read_bytes() == b"%PDF-1.5 second" and not problems_path(published).exists()


def test_every_shipped_template_and_prose_file_parses_and_keeps_its_line_numbers(tmp_path):
    from nnreport.reporting.jinja import latex_env, syntax_problem

    shipped = [*(ROOT / "report" / "templates").rglob("*.j2"),
               *(ROOT / "report" / "sections").rglob("*.tex")]
    assert len(shipped) > 40
    assert [p for p in shipped if syntax_problem(p)] == []
    # a line that ends with a tag keeps its break without adding one: an error names its line
    bad = tmp_path / "x.tex"
    bad.write_text("uno\\BLOCK{if a}\ndos\\BLOCK{endif}\ntres \\VAR{b|nofilter}\n")
    with pytest.raises(jinja2.TemplateSyntaxError) as caught:
        latex_env(tmp_path).get_template("x.tex")
    assert caught.value.lineno == 3


def test_a_spanish_bibliography_gets_revtexs_style_with_its_words_translated(tmp_path):
    from nnreport.reporting.build import bibliography_style, own_style
    from nnreport.reporting.words import activate

    try:
        activate("en")
        assert bibliography_style(tmp_path) is None  # revtex's own words are English
        activate("es")
        name = bibliography_style(tmp_path)
    finally:
        activate("es")
    style = (tmp_path / f"{name}.bst").read_text(encoding="utf-8")
    assert name == own_style("apsrev4-2") and 'FUNCTION {bbl.and}\n{\n  "y"\n}' in style
    assert 'FUNCTION {bbl.in}\n{ "en" }' in style and "'names.comma" not in style.split(
        "FUNCTION {names.comma}", 1)[1]
    # it compiles: three authors read "A, B y C", the proceedings "en ..."
    shutil.copy(ROOT / "report" / "refs.bib", tmp_path / "refs.bib")
    (tmp_path / "t.tex").write_text("\\documentclass[aps,pre]{revtex4-2}\\begin{document}"
                                    "\\cite{xiao2017,paszke2019,srivastava2014}\\makeatletter"
                                    "\\def\\@bibstyle{" + name + "}\\makeatother"
                                    "\\bibliography{refs}\\end{document}\n")
    compile_pdf(tmp_path / "t.tex")
    import subprocess

    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "t.pdf"), "-"],
                                   capture_output=True, text=True, check=True).stdout.split())
    assert "H. Xiao, K. Rasul y R. Vollgraf" in text and " en Advances in Neural" in text
    assert "Sutskever y R. Salakhutdinov, Dropout: A simple way" in text  # revtex's settings


def test_a_spanish_model_study_gets_natbibs_style_with_its_words_translated(tmp_path):
    """The model study's article cites with natbib's unsrtnat, whose words are literals in
    its functions: the copy writes them in Spanish, accents in UTF-8 as the report is."""
    import subprocess

    from nnreport.reporting.build import bibliography_style, own_style
    from nnreport.reporting.words import activate

    try:
        activate("en")
        assert bibliography_style(tmp_path, "unsrtnat") is None
        activate("es")
        name = bibliography_style(tmp_path, "unsrtnat")
    finally:
        activate("es")
    assert name == own_style("unsrtnat") == "unsrtnat-own"
    style = (tmp_path / f"{name}.bst").read_text(encoding="utf-8")
    assert '{ "En " booktitle emphasize * }' in style and '" and "' not in style
    shutil.copy(ROOT / "report" / "refs.bib", tmp_path / "refs.bib")
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\usepackage[utf8]{inputenc}\\usepackage[T1]{fontenc}"
        "\\usepackage[numbers]{natbib}\\begin{document}\\cite{xiao2017,paszke2019,holm1979}"
        "\\bibliographystyle{" + name + "}\\bibliography{refs}\\end{document}\n")
    compile_pdf(tmp_path / "t.tex")
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "t.pdf"), "-"],
                                   capture_output=True, text=True, check=True).stdout.split())
    assert "Han Xiao, Kashif Rasul y Roland Vollgraf." in text  # no comma before "y"
    assert "En Advances in Neural Information Processing Systems 32, páginas 8024" in text


def test_the_jobs_that_draw_tabulate_and_write_never_import_pytorch():
    """Importing PyTorch costs about 3 s a process: the figure, table, effects and confusion
    jobs never pay it, and the report job only where it prints a model's code (imported
    there, inside the function)."""
    code = """
import sys
import nnreport.studies.report, nnreport.studies.experiments, nnreport.studies.models
import nnreport.studies.autoencoder, nnreport.reporting.figures, nnreport.reporting.tables
print(sorted(m for m in ("torch", "torchvision") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
