"""Adapter: every run's metrics -> one figure with every experiment's learning curves."""

import pandas as pd

from nnreport.base.logs import to_file
from nnreport.reporting.figures import learning_curves_grid
from nnreport.reporting.words import activate
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
frames = {}
for path in snakemake.input:
    df, run = read_metrics(path)
    frames.setdefault(run["variant"], []).append(df)
learning_curves_grid(
    [(panel["title"], [(label, pd.concat(frames[name]))
                       for name, label in zip(panel["variants"], panel["labels"], strict=True)])
     for panel in snakemake.params.experiments],
    snakemake.output[0])
