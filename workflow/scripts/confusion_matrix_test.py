"""Adapter: the final model with the best dev accuracy -> its test confusion matrix."""

from pathlib import Path

import pandas as pd

from nnreport.base.io import read_json
from nnreport.base.logs import to_file
from nnreport.reporting.figures import confusion_outputs

to_file(snakemake.log[0])
evaluations = [read_json(p) for p in snakemake.input.evaluations]
best = max(evaluations, key=lambda e: e["dev_accuracy"])
path = next(p for p in snakemake.input.predictions if Path(p).parts[-2] == best["model"])
confusion_outputs(pd.read_parquet(path), snakemake.input.data, snakemake.output.figure,
                  snakemake.output.summary,
                  {"model": best["model"], "variant": best["variant"], "split": "test",
                   "accuracy": 100 * best["test_accuracy"]})
