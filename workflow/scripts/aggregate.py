"""Adapter: every run's metrics -> runs.parquet (one row per run), summary.parquet (one row per
variant) and curves.parquet (one row per variant, split and epoch), statistics over seeds; every
run's predictions -> correct.parquet (each run's correctness on each validation image)."""

import pandas as pd

from nnreport.base.integrity import verified
from nnreport.base.io import atomic_path
from nnreport.base.logs import to_file
from nnreport.evaluation.statistics import (
    correctness,
    summarise,
    summarise_curves,
    summarise_run,
)
from nnreport.training.metrics import read_metrics

to_file(snakemake.log[0])
pairs = [read_metrics(p) for p in snakemake.input.metrics]
experiments = snakemake.params.experiments  # run -> its experiment, as the config names it
runs = pd.DataFrame([summarise_run(frame, run, experiments[run["variant"]])
                     for frame, run in pairs])
order = snakemake.params.order
for path, frame in ((snakemake.output.runs, runs),
                    (snakemake.output.summary, summarise(runs, order)),
                    (snakemake.output.curves,
                     summarise_curves(pd.concat(frame for frame, _ in pairs), order)),
                    (snakemake.output.correct, correctness(
                        {f"{run['variant']}/seed{run['seed']}": pd.read_parquet(verified(p))
                         for (_, run), p in zip(pairs, snakemake.input.predictions,
                                                strict=True)}))):
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
