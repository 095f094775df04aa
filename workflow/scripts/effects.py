"""Adapter: every run's results and correctness on each image -> the forest plot of effects."""

import pandas as pd

from nnreport.base.integrity import verified
from nnreport.base.logs import to_file
from nnreport.reporting.figures import effects
from nnreport.reporting.words import activate
from nnreport.studies.experiments import base_comparisons, compared_runs

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
runs = pd.read_parquet(verified(snakemake.input.runs))
labels = snakemake.params.labels  # Table I's order
accuracy, loss = base_comparisons(runs, compared_runs(runs, list(labels)),
                                  pd.read_parquet(verified(snakemake.input.correct)))
effects(accuracy, loss, labels, snakemake.output[0])
