"""One report path for every kind of study: the confusion matrix's run, then the report built
from results that are checked to come from the current config."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from nnreport.base.integrity import verified
from nnreport.reporting.build import build_pdf, set_aside
from nnreport.reporting.check import check_runs_current
from nnreport.reporting.figures import confusion_outputs
from nnreport.reporting.provenance import provenance
from nnreport.studies import autoencoder, experiments, models
from nnreport.studies.kinds import CONTEXT_NAMES, study_kind
from nnreport.training.metrics import read_metrics

STRICT_VARIABLE = "NNREPORT_STRICT"
log = logging.getLogger(__name__)
# kind -> (the confusion matrix's predictions and summary, the report's context)
CONFUSION: dict[str, Callable[..., tuple[list[str], dict]]] = {
    "experiments": experiments.confusion_source, "models": models.confusion_source,
    "autoencoder": autoencoder.confusion_source}
CONTEXT: dict[str, Callable[..., dict]] = {
    "experiments": experiments.report_context, "models": models.report_context,
    "autoencoder": autoencoder.report_context}


def confusion_matrix(kind: str, inputs: dict, figure: str, summary: str) -> None:
    """Draw the confusion matrix of the runs a study of `kind` shows (the counts of its seeds
    added up), and write its summary."""
    sources = {k: v for k, v in inputs.items() if k != "data"}
    paths, info = CONFUSION[kind](**sources)
    predictions = pd.concat(pd.read_parquet(verified(p)) for p in paths)
    confusion_outputs(predictions, inputs["data"], figure, summary, info)


def build_report(kind: str, inputs: dict, config: dict, sections: str, published: str,
                 run_hashes: dict[str, str], output: str) -> None:
    """Build a study's report PDF at `output` from its named workflow inputs.

    Until the build succeeds, the published PDF is set aside, so no report claims to be built
    from the current results; runs trained under another config are refused.
    """
    with set_aside(published):
        build = Path(output).parent
        template = Path(inputs["template"])
        runs_table = pd.read_parquet(verified(inputs["runs"]))
        pairs = [read_metrics(p) for p in inputs["metrics"]]  # (frame, run config) per run
        runs = [run for _, run in pairs]
        check_runs_current(runs, run_hashes, str(Path(inputs["runs"]).parent))
        figures = {Path(f).stem.removeprefix("learning_curves_"): str(Path(f).relative_to(build))
                   for f in inputs["figures"]}
        metrics = pd.concat(frame for frame, _ in pairs)
        context = CONTEXT[kind](config, inputs, runs_table, runs, metrics, figures,
                                provenance(config, runs_table, template.parent))
        undeclared = sorted(set(context) - CONTEXT_NAMES[kind])
        if undeclared:  # the prose check before the jobs would refuse them in a prose file
            message = (f"the {kind} report's context holds {', '.join(undeclared)}, which "
                       "studies/kinds.py's CONTEXT_NAMES does not list")
            if strict(config):
                raise RuntimeError(message)
            log.warning(message)
        build_pdf(template, sections, context, build / "informe.tex", inputs["bibliography"],
                  metrics, config["report"]["latex_timeout"], strict(config),
                  study_kind(config).bib_style)


def strict(config: dict) -> bool:
    """Whether the report's problems fail its build: `report: strict: true`, or the
    environment's NNREPORT_STRICT=1 (the test suite's and CI's)."""
    return bool(config["report"].get("strict")) or os.environ.get(STRICT_VARIABLE) == "1"
