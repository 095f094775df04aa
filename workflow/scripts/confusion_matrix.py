"""Adapter: the best run's validation predictions -> confusion-matrix figure and summary."""

from pathlib import Path

import numpy as np
import pandas as pd

from nnreport.evaluation import best_run, confusion, confusion_summary
from nnreport.figures import confusion_matrix
from nnreport.io import write_json
from nnreport.logs import to_file

to_file(snakemake.log[0])
runs = pd.read_parquet(snakemake.input.runs)
best = best_run(runs)
pred_path = next(p for p in snakemake.input.predictions
                 if Path(p).parts[-3:-1] == (best["variant"], f"seed{best['seed']}"))
preds = pd.read_parquet(pred_path)
with np.load(snakemake.input.data) as z:
    classes = [str(c) for c in z["classes"]]
matrix = confusion(preds["true"].to_numpy(), preds["pred"].to_numpy(), len(classes))
confusion_matrix(matrix, classes, snakemake.output.figure)
write_json(snakemake.output.summary, {
    "variant": best["variant"], "seed": int(best["seed"]),
    "accuracy": 100 * float(best["final_val_accuracy"]), "classes": classes,
    "matrix": matrix.round(4).tolist(), **confusion_summary(matrix, classes),
})
