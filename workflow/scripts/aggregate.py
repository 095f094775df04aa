"""Adapter: every run's metrics -> runs.parquet (one row per run) and summary.parquet."""

import pandas as pd

from nnreport.base.io import atomic_path
from nnreport.base.logs import to_file
from nnreport.evaluation.statistics import summarise, summarise_run
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
runs = pd.DataFrame([summarise_run(*read_metrics(p)) for p in snakemake.input.metrics])
for path, frame in ((snakemake.output.runs, runs),
                    (snakemake.output.summary, summarise(runs, snakemake.params.order))):
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
