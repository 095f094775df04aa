"""Adapter: one experiment's metrics -> its learning-curve figure."""

import pandas as pd

from nnreport.base.logs import to_file
from nnreport.reporting.figures import learning_curves
from nnreport.reporting.words import activate
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
frames = {}
for path in snakemake.input:
    df, run = read_metrics(path)
    frames.setdefault(run["variant"], []).append(df)
curves = [(label, pd.concat(frames[name]))
          for name, label in zip(snakemake.params.variants, snakemake.params.labels, strict=True)]
learning_curves(curves, snakemake.output[0])
