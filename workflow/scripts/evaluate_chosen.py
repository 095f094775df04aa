"""Adapter: a Table I study's runs -> its chosen configuration's test scores and predictions."""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(snakemake.threads)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from nnreport.base.integrity import verified  # noqa: E402
from nnreport.base.io import atomic_path, write_json  # noqa: E402
from nnreport.base.logs import to_file  # noqa: E402
from nnreport.data.dataset import Dataset  # noqa: E402
from nnreport.evaluation.prediction import evaluate_chosen  # noqa: E402

to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
evaluation, predictions = evaluate_chosen(
    pd.read_parquet(verified(snakemake.input.runs)), list(snakemake.input.models),
    Dataset.load(snakemake.input.data), p.max_val, p.max_test)
with atomic_path(snakemake.output.predictions) as tmp:
    predictions.to_parquet(tmp, index=False)
write_json(snakemake.output.evaluation, evaluation)
