"""Adapter: one run's config -> metrics.parquet, model.pt, predictions.parquet, run.json."""

import os

# Limit every math library to the job's share of the CPUs before any of them loads.
THREADS = snakemake.resources.math_threads
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import json  # noqa: E402

from nnreport.base.logs import to_file  # noqa: E402
from nnreport.training.runner import run_job  # noqa: E402

to_file(snakemake.log[0])
selection = None
if snakemake.input.selection:  # the model this run starts from (`from: M1`) and its choice
    with open(snakemake.input.selection[0]) as f:
        selection = json.load(f)
encoder = snakemake.input.encoder[0] if snakemake.input.encoder else None  # its autoencoder's
# Where it trains is no part of a run's params (`device: auto` to `cpu` on a machine without
# a GPU retrains nothing): the workflow retrains a run that trained otherwise than they ask.
run = {**snakemake.params.run, "device": snakemake.config["device"],
       "tf32": bool(snakemake.config.get("tf32"))}
run_job(run, snakemake.input.data, dict(snakemake.output.items()),
        threads=THREADS, selection=selection, encoder=encoder)
