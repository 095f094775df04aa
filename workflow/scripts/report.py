"""Adapter: results, figures and tables -> informe.tex -> checked PDF in the build folder."""

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from nnreport.check import check_log, check_tex, rising_validation_loss
from nnreport.context import build_context
from nnreport.grid import expand_grid
from nnreport.logs import to_file
from nnreport.metrics import read_metrics
from nnreport.provenance import provenance
from nnreport.report import compile_pdf, render

to_file(snakemake.log[0])
log = logging.getLogger("report")
config = snakemake.params.config
build = Path(snakemake.output[0]).parent
template = Path(snakemake.input.template)
variants = expand_grid(config)
runs = pd.read_parquet(snakemake.input.runs)
metrics = pd.concat(read_metrics(p)[0] for p in snakemake.input.metrics)
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
tex = build / "informe.tex"
render(template, snakemake.params.sections, context, tex)
for warning in check_tex(tex.read_text(), str(tex)) + rising_validation_loss(metrics):
    log.warning("report check: %s", warning)
shutil.copyfile(snakemake.input.bibliography, build / "refs.bib")
check_log(compile_pdf(tex), str(tex.with_suffix(".log")))
