"""Adapter: a model study's results -> informe.tex (article template) -> checked PDF."""

from pathlib import Path

import pandas as pd

from nnreport.base.io import read_json
from nnreport.base.logs import to_file
from nnreport.config.grid import expand_grid
from nnreport.reporting.build import build_pdf, set_aside
from nnreport.reporting.check import check_runs_current
from nnreport.reporting.context_models import build_models_context
from nnreport.reporting.provenance import provenance
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
# until this build succeeds, no report claims to be built from the current results
with set_aside(snakemake.params.published):
    config = snakemake.params.config
    build = Path(snakemake.output[0]).parent
    template = Path(snakemake.input.template)
    runs_table = pd.read_parquet(snakemake.input.runs)
    pairs = [read_metrics(p) for p in snakemake.input.metrics]  # (frame, run config) per run
    check_runs_current([run for _, run in pairs], snakemake.params.run_hashes,
                       str(Path(snakemake.input.runs).parent))
    metrics = pd.concat(frame for frame, _ in pairs)
    runs = [run for _, run in pairs]
    figures = {Path(f).stem.removeprefix("learning_curves_"): str(Path(f).relative_to(build))
               for f in snakemake.input.figures}
    epochs_run = runs_table.groupby("variant")["epochs_run"].max().astype(int).to_dict()
    context = build_models_context(
        config, expand_grid(config), [read_json(p) for p in snakemake.input.selections],
        [read_json(p) for p in snakemake.input.evaluations],
        pd.concat(pd.read_parquet(p) for p in snakemake.input.noise), runs, epochs_run,
        read_json(snakemake.input.confusion), figures, provenance(config, runs_table,
                                                                 template.parent))
    build_pdf(template, snakemake.params.sections, context, build / "informe.tex",
              snakemake.input.bibliography, metrics, config["report"]["latex_timeout"])
