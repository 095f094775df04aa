import subprocess

import numpy as np
import pandas as pd
import pytest

from nnreport.evaluation.trends import rising_loss_warnings
from nnreport.reporting.check import (
    ReportCheckError,
    check_log,
    check_tex,
    overfull_boxes,
    undefined_in_log,
    unreferenced_floats,
)

TEX = r"""
\begin{figure}\caption{a}\label{fig:learning_curves_n1}\end{figure}
\begin{figure}\caption{b}\label{fig:confusion_matrix}\end{figure}
\begin{table}\caption{c}\label{tab:resultados}\end{table}
Ver la Fig.~\ref{fig:learning_curves_n1} y la Tabla~\ref{tab:resultados}.
% un comentario no cuenta: \ref{fig:confusion_matrix}
"""


def test_unreferenced_floats_ignore_comments():
    assert unreferenced_floats(TEX) == ["fig:confusion_matrix"]
    assert unreferenced_floats(TEX + r"\ref{fig:confusion_matrix}") == []


def test_an_unreferenced_figure_fails_with_its_label_and_a_fix():
    with pytest.raises(ReportCheckError, match=r"informe.tex: never referenced in the text: "
                                               r"fig:confusion_matrix\. Reference each"):
        check_tex(TEX, "informe.tex")


def test_missing_confusion_matrix_and_summary_table_are_warnings():
    tex = "\\begin{figure}\\label{fig:x}\\end{figure} \\ref{fig:x}"
    warnings = check_tex(tex, "t.tex")
    assert any("no confusion matrix" in w for w in warnings)
    assert any("no summary table" in w for w in warnings)
    assert check_tex(TEX + r"\ref{fig:confusion_matrix}", "t.tex") == []


def test_undefined_references_and_citations_in_the_log_fail():
    log = ("LaTeX Warning: Reference `fig:nada' on page 2 undefined on input line 40.\n"
           "Package natbib Warning: Citation `lecun98' on page 1 undefined on input line 7.\n"
           "LaTeX Warning: Reference `fig:nada' on page 3 undefined on input line 90.\n")
    assert undefined_in_log(log) == ["Reference 'fig:nada'", "Citation 'lecun98'"]
    with pytest.raises(ReportCheckError, match="Reference 'fig:nada', Citation 'lecun98'"):
        check_log(log, "informe.log")
    check_log("LaTeX Warning: Float too large\n", "informe.log")


def test_the_build_log_warns_of_a_rising_validation_loss_by_its_trend_not_its_noise():
    rows = []
    for variant, losses in (("good", [1.0, 0.8, 0.7, 0.65, 0.6, 0.58]),
                            # up in 3 of 6 epochs, but only noise around a flat tail
                            ("noisy", [1.0, 0.9, 0.91, 0.9, 0.91, 0.9]),
                            ("bad", [1.0, 0.9, 0.95, 1.0, 1.1, 1.2])):
        rows += [{"variant": variant, "seed": 0, "epoch": e, "split": "val", "loss": v}
                 for e, v in enumerate(losses, start=1)]
    out = rising_loss_warnings(pd.DataFrame(rows))
    # the last four epochs of "bad", 0.95, 1.0, 1.1, 1.2: slope 0.425 / 5 = 0.085, residual
    # variance 0.00075 / 2, standard error 0.00866, t(0.975, 2) = 4.3027: [0.0477, 0.1223]
    assert out == ["bad: validation loss rises over its last epochs (+0.085 per epoch, 95 % "
                   "interval [+0.0477, +0.122]): overfitting, growing over-confidence or a "
                   "too-high learning rate"]


def test_a_line_sticking_out_of_its_column_by_more_than_a_few_points_fails_the_build():
    log = ("Overfull \\hbox (4.42313pt too wide) in paragraph at lines 1--124\n"
           "Overfull \\hbox (53.84134pt too wide) in paragraph at lines 1--133\n")
    assert overfull_boxes(log) == ["53.8 pt too wide in paragraph at lines 1--133"]
    with pytest.raises(ReportCheckError, match=r"text sticks out of its column: 53.8 pt too "
                                               r"wide in paragraph at lines 1--133"):
        check_log(log, "informe.log")
    check_log(log.splitlines()[0], "informe.log")  # 4.4 pt: within a few points


def test_a_float_more_than_a_page_after_its_first_citation_fails_the_build():
    from nnreport.reporting.check import appendix_floats, check_float_places, distant_floats

    aux = "\n".join([
        r"\providecommand\nnreportref[2]{}",
        r"\nnreportref{fig:curvas}{2}", r"\nnreportref{tab:resultados}{3}",
        r"\nnreportref{fig:matriz}{2}", r"\nnreportref{fig:matriz}{5}",
        r"\nnreportref{tab:arquitectura}{1}",
        r"\newlabel{fig:curvas}{{1}{3}{Curvas}{figure.1}{}}",  # one page on: fine
        r"\newlabel{tab:resultados}{{II}{2}{Resultados}{table.2}{}}",  # before its citation
        r"\newlabel{fig:matriz}{{2}{5}{Matriz}{figure.2}{}}",  # three pages after the first
        r"\newlabel{tab:conteos}{{IV}{6}{Conteos}{table.4}{}}",  # flushed before the appendix
        r"\nnreportref{tab:conteos}{2}",
        r"\newlabel{app:modelos}{{A}{7}{Modelos}{appendix.A}{}}",
        r"\newlabel{tab:arquitectura}{{III}{7}{Arquitectura}{table.3}{}}",  # an appendix's
    ])
    assert distant_floats(aux) == ["fig:matriz (2) on page 5, first cited on page 2"]
    with pytest.raises(ReportCheckError, match="floats far from the text that cites them"):
        check_float_places(aux, "informe.aux")
    # past the page where the appendices begin: an appendix's own float (defined after
    # \appendix) is fine, a main-text float that drifted there is not
    near = aux.replace(r"\newlabel{fig:matriz}{{2}{5}", r"\newlabel{fig:matriz}{{2}{3}")
    later = "\n".join([near,
                       r"\nnreportref{fig:muestras}{1}", r"\nnreportref{fig:curvas2}{2}",
                       r"\newlabel{fig:muestras}{{3}{9}{Muestras}{figure.3}{}}",
                       r"\newlabel{fig:curvas2}{{4}{9}{Curvas}{figure.4}{}}"])
    tex = ("\\begin{figure}\\label{fig:curvas2}\\end{figure}\n\\appendix\n"
           "\\begin{figure}\\label{fig:muestras}\\end{figure}\n")
    assert distant_floats(later, appendix_floats(tex)) == [
        "fig:curvas2 (4) on page 9, first cited on page 2"]


def _page(filled_rows: float, height: int = 220, width: int = 170) -> np.ndarray:
    """A grey page whose two columns hold text lines (2 rows of ink, 1 blank) down to
    `filled_rows` of its height."""
    image = np.full((height, width), 255, np.uint8)
    for row in range(int(0.06 * height), int(filled_rows * height), 3):
        image[row:row + 2, 10:80] = image[row:row + 2, 90:160] = 0
    return image


def test_the_space_between_lines_is_not_empty_but_a_blank_stretch_is():
    from nnreport.reporting.check import empty_share

    assert empty_share(_page(0.94)) == pytest.approx(0.0, abs=0.02)  # a full page
    half = empty_share(_page(0.5))  # text down to the middle: the rest is empty
    assert half == pytest.approx((0.94 - 0.5) / 0.88, abs=0.03)
    assert empty_share(np.full((220, 170), 255, np.uint8)) == pytest.approx(1.0)


def test_a_page_more_than_half_empty_before_the_last_fails_the_build(tmp_path):
    from nnreport.reporting.check import ReportCheckError, check_pages, half_empty_pages

    text = " ".join(["Lorem ipsum dolor sit amet, consectetur adipiscing elit."] * 12)
    body = "\n\n".join([text] * 3) + "\n\\clearpage\n" + "\n\n".join([text] * 40)
    (tmp_path / "doc.tex").write_text("\\documentclass[twocolumn]{article}\n\\begin{document}\n"
                                      + body + "\n\\end{document}\n")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], cwd=tmp_path,
                   check=True, capture_output=True)
    pdf = tmp_path / "doc.pdf"
    empty = half_empty_pages(pdf)
    assert [page for page, _ in empty] == [1] and empty[0][1] > 0.5  # the last page is exempt
    with pytest.raises(ReportCheckError, match=r"page 1 \(\d+ % empty\)"):
        check_pages(pdf, "doc.pdf")
