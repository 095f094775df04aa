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
            f"'La Fig.~\\ref{{{missing[0]}}} muestra ...', or remove it.")
    warnings = []
    labels = set(_LABEL.findall(strip_comments(tex)))
    if not any(lab.startswith("fig:confusion") for lab in labels):
        warnings.append("the report has no confusion matrix (label fig:confusion_matrix)")
    if not labels & {"tab:resultados", "tab:modelos"}:
        warnings.append("the report has no summary table of results (label tab:resultados)")
    return warnings


def check_log(log_text: str, source: str) -> None:
    """Raise ReportCheckError if the LaTeX log has undefined references or citations."""
    undefined = undefined_in_log(log_text)
    if undefined:
        raise ReportCheckError(
            f"{source}: undefined after compiling: {', '.join(undefined)}. Check the spelling of "
            "each \\ref and \\cite against the labels of the template and report/refs.bib.")


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
