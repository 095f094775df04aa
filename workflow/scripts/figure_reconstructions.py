"""Adapter: the dataset and one autoencoder per variant -> the reconstructions figure."""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(snakemake.threads)

import torch  # noqa: E402

from nnreport.base.logs import to_file  # noqa: E402
from nnreport.reporting.autoencoder_figures import reconstructions_from_files  # noqa: E402
from nnreport.reporting.words import activate  # noqa: E402

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
torch.set_num_threads(snakemake.threads)
p = snakemake.params
reconstructions_from_files(snakemake.input.data, list(snakemake.input.models), list(p.labels),
                           p.n_images, p.seed, snakemake.output[0])
