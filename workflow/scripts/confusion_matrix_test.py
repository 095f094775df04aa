"""Adapter: the final model with the best dev accuracy -> its test confusion matrix."""

from pathlib import Path

import numpy as np
import pandas as pd

from nnreport.evaluation import confusion, confusion_summary
from nnreport.figures import confusion_matrix
from nnreport.io import read_json, write_json
from nnreport.logs import to_file

to_file(snakemake.log[0])
evaluations = [read_json(p) for p in snakemake.input.evaluations]
best = max(evaluations, key=lambda e: e["dev_accuracy"])
path = next(p for p in snakemake.input.predictions if Path(p).parts[-2] == best["model"])
preds = pd.read_parquet(path)
with np.load(snakemake.input.data) as z:
    classes = [str(c) for c in z["classes"]]
matrix = confusion(preds["true"].to_numpy(), preds["pred"].to_numpy(), len(classes))
confusion_matrix(matrix, classes, snakemake.output.figure)
write_json(snakemake.output.summary, {
    "model": best["model"], "variant": best["variant"], "split": "test",
    "accuracy": 100 * best["test_accuracy"], "classes": classes,
    "matrix": matrix.round(4).tolist(), **confusion_summary(matrix, classes),
})
