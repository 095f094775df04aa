"""Adapter: the best run's validation predictions -> confusion-matrix figure and summary."""

from pathlib import Path

import pandas as pd

from nnreport.base.logs import to_file
from nnreport.evaluation.selection import best_run
from nnreport.reporting.figures import confusion_outputs

to_file(snakemake.log[0])
best = best_run(pd.read_parquet(snakemake.input.runs))
pred_path = next(p for p in snakemake.input.predictions
                 if Path(p).parts[-3:-1] == (best["variant"], f"seed{best['seed']}"))
confusion_outputs(pd.read_parquet(pred_path), snakemake.input.data, snakemake.output.figure,
                  snakemake.output.summary,
                  {"variant": best["variant"], "seed": int(best["seed"]),
                   "accuracy": 100 * float(best["final_val_accuracy"])})
