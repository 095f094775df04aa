"""Adapter: a model study's results -> informe.tex (article template) -> checked PDF."""

import logging
import shutil
from pathlib import Path

import pandas as pd

from nnreport.check import check_log, check_tex, rising_validation_loss
from nnreport.context_models import build_models_context
from nnreport.grid import expand_grid
from nnreport.io import read_json
from nnreport.logs import to_file
from nnreport.metrics import read_metrics
from nnreport.provenance import provenance
from nnreport.report import compile_pdf, render

to_file(snakemake.log[0])
log = logging.getLogger("report")
config = snakemake.params.config
build = Path(snakemake.output[0]).parent
template = Path(snakemake.input.template)
runs_table = pd.read_parquet(snakemake.input.runs)
metrics = pd.concat(read_metrics(p)[0] for p in snakemake.input.metrics)
runs = [read_metrics(p)[1] for p in snakemake.input.metrics]
figures = {Path(f).stem.removeprefix("learning_curves_"): str(Path(f).relative_to(build))
           for f in snakemake.input.figures}
epochs_run = runs_table.groupby("variant")["epochs_run"].max().astype(int).to_dict()
context = build_models_context(
    config, expand_grid(config), [read_json(p) for p in snakemake.input.selections],
    [read_json(p) for p in snakemake.input.evaluations],
    pd.concat(pd.read_parquet(p) for p in snakemake.input.noise), runs, epochs_run,
    read_json(snakemake.input.confusion), figures, provenance(config, runs_table,
                                                             template.parent))
tex = build / "informe.tex"
render(template, snakemake.params.sections, context, tex)
for warning in check_tex(tex.read_text(), str(tex)) + rising_validation_loss(metrics):
    log.warning("report check: %s", warning)
shutil.copyfile(snakemake.input.bibliography, build / "refs.bib")
check_log(compile_pdf(tex), str(tex.with_suffix(".log")))
