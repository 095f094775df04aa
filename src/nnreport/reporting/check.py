"""The report check: what a demanding reader verifies, run by the build on every report."""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nnreport.base.errors import ExpectedError

log = logging.getLogger(__name__)


class ReportCheckError(ExpectedError, RuntimeError):
    """The report breaks a rule a reader relies on; the message lists every problem."""


_LABEL = re.compile(r"\\label\{((?:fig|tab):[^}]+)\}")


_REF = re.compile(r"\\(?:ref|autoref|cref|Cref|eqref|pageref)\{([^}]+)\}")


_UNDEFINED = re.compile(
    r"(?:LaTeX|Package natbib) Warning: (Reference|Citation) `([^']+)' on page \d+ undefined")


def strip_comments(tex: str) -> str:
    """Return `tex` without its % comments (an escaped \\% stays)."""
    return re.sub(r"(?<!\\)%.*", "", tex)


def unreferenced_floats(tex: str) -> list[str]:
    """Return the labels of figures and tables that the text never references."""
    tex = strip_comments(tex)
    refs = {name.strip() for group in _REF.findall(tex) for name in group.split(",")}
    return [label for label in _LABEL.findall(tex) if label not in refs]


def undefined_in_log(log_text: str) -> list[str]:
    """Return 'Reference x' / 'Citation y' for every undefined one in a LaTeX log."""
    found = [f"{kind} '{name}'" for kind, name in _UNDEFINED.findall(log_text)]
    return list(dict.fromkeys(found))


def check_tex(tex: str, source: str) -> list[str]:
    """Return warnings about `tex`, raising ReportCheckError for unreferenced floats."""
    missing = unreferenced_floats(tex)
    if missing:
        raise ReportCheckError(
            f"{source}: never referenced in the text: {', '.join(missing)}. Reference each "
            "figure and table in the prose (report/sections/*.tex), e.g. "
            f"'Fig.~\\ref{{{missing[0]}}}', or remove it.")
    warnings = []
    labels = set(_LABEL.findall(strip_comments(tex)))
    if not any(lab.startswith("fig:confusion") for lab in labels):
        warnings.append("the report has no confusion matrix (label fig:confusion_matrix)")
    if not labels & {"tab:resultados", "tab:modelos"}:
        warnings.append("the report has no summary table of results (label tab:resultados)")
    return warnings


_OVERFULL = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) (.*)$", re.M)
OVERFULL_LIMIT = 5.0  # points: a box wider than the line by more than this sticks out visibly


def overfull_boxes(log_text: str, limit: float = OVERFULL_LIMIT) -> list[str]:
    """Return the LaTeX log's overfull boxes wider than `limit` points, as the log names them."""
    return [f"{float(width):.1f} pt too wide {where}"
            for width, where in _OVERFULL.findall(log_text) if float(width) > limit]


_NEWLABEL = re.compile(r"\\newlabel\{((?:fig|tab|app):[^}]+)\}\{\{([^}]*)\}\{(\d+)\}")
_REF_PAGE = re.compile(r"\\nnreportref\{([^}]+)\}\{(\d+)\}")


def appendix_floats(tex: str) -> set[str]:
    """Return the labels of the figures and tables the rendered report defines after
    `\\appendix`: material the text points to, placed in the appendices on purpose."""
    tex = strip_comments(tex)
    start = tex.find("\\appendix")
    return set() if start < 0 else set(_LABEL.findall(tex[start:]))


def distant_floats(aux_text: str, in_appendix: set[str] | None = None) -> list[str]:
    """Return the figures and tables that stand more than one page after the page of their
    first reference, from the .aux: the float's page (\\newlabel) and each reference's
    (\\nnreportref, written by report/templates/paginas.tex.j2). The appendices' own floats
    (`in_appendix`: see appendix_floats) are not checked, nor are the floats the end of the main
    text flushes around the page where the appendices begin (the page of the first `app:`
    label, and one page either side): a short report can only put them there. A main-text
    float that drifts further, among the appendices, is."""
    first: dict[str, int] = {}
    for label, page in _REF_PAGE.findall(aux_text):
        first[label] = min(first.get(label, int(page)), int(page))
    labels = _NEWLABEL.findall(aux_text)
    appendix = min((int(page) for label, _, page in labels if label.startswith("app:")),
                   default=None)
    out = []
    for label, number, page in labels:
        if label.startswith("app:") or label not in first or label in (in_appendix or set()):
            continue
        if appendix is not None and appendix - 1 <= int(page) <= appendix + 1:
            continue
        if int(page) - first[label] > 1:
            out.append(f"{label} ({number}) on page {page}, first cited on page {first[label]}")
    return out


def check_float_places(aux_text: str, source: str, tex: str = "") -> None:
    """Raise ReportCheckError for a float that a reader finds more than one page after the
    text that first cites it (`tex`: the rendered report, which says which floats the
    appendices hold)."""
    distant = distant_floats(aux_text, appendix_floats(tex))
    if distant:
        raise ReportCheckError(
            f"{source}: floats far from the text that cites them: {'; '.join(distant)}. Cite "
            f"each float near where the template places it, or make the floats before it "
            f"smaller, so that LaTeX can place it within a page of its first reference.")


EMPTY_LIMIT = 0.5  # a page more than half empty, before the last, fails the build
GAP_INCHES = 0.5  # a blank stretch of a column this tall or taller is empty space
RASTER_DPI = 20  # enough to tell text lines from blank stretches, fast


def page_images(pdf: str | Path, dpi: int = RASTER_DPI) -> list[np.ndarray]:
    """Return each page of `pdf` as a grey image (rows x columns, 0 black to 255 white),
    rasterised by poppler's pdftoppm."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), str(pdf), f"{folder}/p"],
                       check=True, capture_output=True)
        images = []
        for path in sorted(Path(folder).glob("p-*.pgm"), key=lambda f: int(f.stem[2:])):
            data = path.read_bytes()  # PGM: "P5 <width> <height> <maxval>", one byte a pixel
            width, height = (int(v) for v in data[:64].split()[1:3])
            images.append(np.frombuffer(data[len(data) - width * height:], np.uint8)
                          .reshape(height, width))
        return images


def empty_share(image: np.ndarray, dpi: int = RASTER_DPI, gap: float = GAP_INCHES) -> float:
    """Return the share of a two-column page's text area left empty: in each half, the rows
    of blank stretches at least `gap` inches tall (not the space between lines), over the
    area's height (the top and bottom 6 %, running head and page number, left out)."""
    height, width = image.shape
    ink = image < 200
    body = ink[int(0.06 * height):int(0.94 * height)]
    shares = []
    for half in (body[:, : width // 2], body[:, width // 2:]):
        blank = ~half.any(axis=1)
        # lengths of the runs of blank rows
        edges = np.diff(np.concatenate(([0], blank.astype(np.int8), [0])))
        runs = np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]
        shares.append(runs[runs >= gap * dpi].sum() / len(body))
    return float(np.mean(shares))


def half_empty_pages(pdf: str | Path, limit: float = EMPTY_LIMIT) -> list[tuple[int, float]]:
    """Return (page, empty share) of every page but the last (the bibliography's end) that is
    more than `limit` empty."""
    shares = [empty_share(image) for image in page_images(pdf)]
    return [(i, share) for i, share in enumerate(shares[:-1], start=1) if share > limit]


def check_pages(pdf: str | Path, source: str) -> None:
    """Raise ReportCheckError for a page, before the last, more than half empty."""
    empty = half_empty_pages(pdf)
    if empty:
        pages = "; ".join(f"page {page} ({100 * share:.0f} % empty)" for page, share in empty)
        raise ReportCheckError(
            f"{source}: pages more than half empty before the last: {pages}. A float too "
            "large for the room left on its page, or a forced page break, leaves the rest "
            "empty: make the floats smaller, or cite them where they can sit.")


def check_log(log_text: str, source: str) -> None:
    """Raise ReportCheckError if the LaTeX log has undefined references or citations, or a line
    that sticks out of its column by more than a few points."""
    undefined = undefined_in_log(log_text)
    if undefined:
        raise ReportCheckError(
            f"{source}: undefined after compiling: {', '.join(undefined)}. Check the spelling of "
            "each \\ref and \\cite against the labels of the template and report/refs.bib.")
    overfull = overfull_boxes(log_text)
    if overfull:
        raise ReportCheckError(
            f"{source}: text sticks out of its column: {'; '.join(overfull)} (the lines of the "
            f"file LaTeX was reading: a prose file, or tables/*.tex). Shorten the text, let it "
            f"break (a long word or URL in the prose, a table cell), or make the table smaller.")


def check_runs_current(runs: Iterable[dict], expected: dict[str, str], results: str) -> None:
    """Raise ReportCheckError unless every run's results carry the current config's hash.

    `runs`: the run configs the metrics files carry; `expected` maps `<run>/seed<k>` to the
    hash the current config gives that run.
    """
    found = {f"{run['variant']}/seed{run['seed']}": run.get("hash") for run in runs}
    stale = [run for run in expected if found.get(run) != expected[run]]
    if stale:
        shown = ", ".join(f"{run} (trained with config {found.get(run)}, the config now gives "
                          f"{expected[run]})" for run in stale[:5])
        more = f" and {len(stale) - 5} more" if len(stale) > 5 else ""
        files = " ".join(f"'{results}/runs/{run}/metrics.parquet'" for run in stale)
        raise ReportCheckError(
            f"{results}: results of another config, not reported: {shown}{more}. Another "
            "invocation of this study probably changed them while this one ran: let it finish, "
            "then run the workflow again. If it then has nothing to retrain, retrain them with "
            f"`snakemake --cores 1 --force {files}` (with the same --configfile as the study), "
            "then build the report again.")
