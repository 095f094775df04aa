"""Adapter: a model's chosen candidate -> dev/test scores, noise curve, test predictions, dev
correctness per image."""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(snakemake.threads)

import torch  # noqa: E402

from nnreport.base.io import atomic_path, read_json, write_json  # noqa: E402
from nnreport.base.logs import to_file  # noqa: E402
from nnreport.data.dataset import Dataset  # noqa: E402
from nnreport.evaluation.prediction import evaluate_final  # noqa: E402

to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
selection = read_json(snakemake.input.selection)
evaluation, noise, predictions, dev_correct = evaluate_final(
    snakemake.wildcards.model, selection, list(snakemake.input.models),
    Dataset.load(snakemake.input.data), p.max_val, p.max_test, p.sigmas, p.noise_seed)
for frame, path in ((noise, snakemake.output.noise), (predictions, snakemake.output.predictions),
                    (dev_correct, snakemake.output.dev_correct)):
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
write_json(snakemake.output.evaluation, evaluation)
