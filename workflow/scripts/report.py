"""Adapter: results, figures and tables -> informe.tex -> checked PDF in the build folder."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nnreport.base.logs import to_file
from nnreport.config.grid import expand_grid
from nnreport.reporting.build import build_pdf, set_aside
from nnreport.reporting.check import check_runs_current
from nnreport.reporting.context import build_context
from nnreport.reporting.provenance import provenance
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
# until this build succeeds, no report claims to be built from the current results
with set_aside(snakemake.params.published):
    config = snakemake.params.config
    build = Path(snakemake.output[0]).parent
    template = Path(snakemake.input.template)
    variants = expand_grid(config)
    runs = pd.read_parquet(snakemake.input.runs)
    pairs = [read_metrics(p) for p in snakemake.input.metrics]  # (frame, run config) per run
    check_runs_current([run for _, run in pairs], snakemake.params.run_hashes,
                       str(Path(snakemake.input.runs).parent))
    metrics = pd.concat(frame for frame, _ in pairs)
    with np.load(snakemake.input.data) as z:
        n_images = len(z["labels"])
    figures = {Path(f).stem.removeprefix("learning_curves_"): str(Path(f).relative_to(build))
               for f in snakemake.input.figures}
    context = build_context(
        config, variants, pd.read_parquet(snakemake.input.summary),
        json.loads(Path(snakemake.input.base_run).read_text()),
        json.loads(Path(snakemake.input.confusion).read_text()), figures,
        provenance(config, runs, template.parent),
    )
    context["n_images"] = n_images
    build_pdf(template, snakemake.params.sections, context, build / "informe.tex",
              snakemake.input.bibliography, metrics, config["report"]["latex_timeout"])
