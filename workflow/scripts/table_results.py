"""Adapter: summary.parquet -> the results tabular (an autoencoder study's: its autoencoders'
MSE; `classifiers`: the classifiers on its encoder); a Table I study's also
shows each run's corrected difference from the base (runs.parquet, correct.parquet)."""

import pandas as pd

from nnreport.base.integrity import verified
from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.config.grid import expand_grid
from nnreport.reporting.labels import run_label
from nnreport.reporting.tables import (
    autoencoder_results_table,
    classifiers_table,
    results_table,
)
from nnreport.reporting.words import activate
from nnreport.studies.experiments import base_comparisons, compared_runs

to_file(snakemake.log[0])
activate(snakemake.params.language, snakemake.params.knobs)  # the report's words
config = {"base": snakemake.params.base, "experiments": snakemake.params.experiments}
summary = pd.read_parquet(verified(snakemake.input.summary))
variants = expand_grid(config)
labels = {v.name: run_label(v) for v in variants}
table = snakemake.params.get("table", "results")
if table == "classifiers":
    text = classifiers_table(summary, variants, config, labels)
elif snakemake.params.kind == "autoencoder":
    text = autoencoder_results_table(summary, variants, config, labels)
else:
    runs = pd.read_parquet(verified(snakemake.input.runs))
    effects = base_comparisons(runs, compared_runs(runs, list(labels)), pd.read_parquet(
        verified(snakemake.input.correct)))
    text = results_table(summary, variants, config, effects)
write_text(snakemake.output[0], text)
