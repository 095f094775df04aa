"""Adapter: each model's chosen candidate -> one learning-curve figure comparing them."""

import pandas as pd

from nnreport.base.io import read_json
from nnreport.base.logs import to_file
from nnreport.config.layout import Layout
from nnreport.reporting.figures import learning_curves
from nnreport.reporting.words import activate
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
selections = [read_json(p) for p in snakemake.input.selections]
chosen = {s["variant"]: s["model"] for s in selections}
frames = {}
for path in snakemake.input.metrics:
    variant, _ = Layout.run_of(path)
    if variant in chosen:
        frames.setdefault(chosen[variant], []).append(read_metrics(path)[0])
curves = [(model, pd.concat(frames[model])) for model in snakemake.params.models]
learning_curves(curves, snakemake.output[0], val_split="dev")
