"""Adapter: results, figures and tables -> informe.tex -> the report PDF."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from nnreport.grid import expand_grid
from nnreport.labels import variant_label
from nnreport.logs import to_file
from nnreport.report import build_context, compile_pdf, render

to_file(snakemake.log[0])
config = snakemake.params.config
build = Path(snakemake.input.tables[0]).parents[1]  # report/build/<study>/
variants = expand_grid(config)
confusion = json.loads(Path(snakemake.input.confusion).read_text())
by_name = {v.name: v for v in variants}
best_variant = by_name[confusion["variant"]]
best = {**confusion, "label": variant_label(best_variant.knob, best_variant.value)}
with np.load(snakemake.input.data) as z:
    n_images = len(z["labels"])
figures = {Path(f).stem.removeprefix("learning_curves_"): str(Path(f).relative_to(build))
           for f in snakemake.input.figures}
context = build_context(config, variants, pd.read_parquet(snakemake.input.summary),
                        json.loads(Path(snakemake.input.base_run).read_text()),
                        confusion["classes"], figures, best)
context["n_images"] = n_images
tex = build / "informe.tex"
render(snakemake.input.template, snakemake.params.sections, context, tex)
shutil.copyfile(snakemake.input.bibliography, build / "refs.bib")
compile_pdf(tex, snakemake.output[0])
