"""The report check: what a demanding reader verifies, run by the build on every report."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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


def distant_floats(aux_text: str) -> list[str]:
    """Return the figures and tables that stand more than one page after the page of their
    first reference, from the .aux: the float's page (\\newlabel) and each reference's
    (\\nnreportref, written by report/templates/paginas.tex.j2). The appendices' floats (from
    the page of the first `app:` label on) are material the text points to, and the floats the
    end of the main text flushes onto the page just before them are where a short report can
    only put them: neither is checked."""
    first: dict[str, int] = {}
    for label, page in _REF_PAGE.findall(aux_text):
        first[label] = min(first.get(label, int(page)), int(page))
    labels = _NEWLABEL.findall(aux_text)
    appendix = min((int(page) for label, _, page in labels if label.startswith("app:")),
                   default=None)
    out = []
    for label, number, page in labels:
        if label.startswith("app:") or (appendix is not None and int(page) >= appendix - 1):
            continue
        if label in first and int(page) - first[label] > 1:
            out.append(f"{label} ({number}) on page {page}, first cited on page {first[label]}")
    return out


def check_float_places(aux_text: str, source: str) -> None:
    """Raise ReportCheckError for a float that a reader finds more than one page after the
    text that first cites it."""
    distant = distant_floats(aux_text)
    if distant:
        raise ReportCheckError(
            f"{source}: floats far from the text that cites them: {'; '.join(distant)}. Cite "
            f"each float near where the template places it, or make the floats before it "
            f"smaller, so that LaTeX can place it within a page of its first reference.")


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
