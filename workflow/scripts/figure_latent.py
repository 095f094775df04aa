"""Adapter: the dataset and the base autoencoder -> its codes' latent-space figure."""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(snakemake.threads)

import torch  # noqa: E402

from nnreport.base.logs import to_file  # noqa: E402
from nnreport.reporting.autoencoder_figures import latent_space_from_files  # noqa: E402
from nnreport.reporting.words import activate  # noqa: E402

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
torch.set_num_threads(snakemake.threads)
latent_space_from_files(snakemake.input.data, snakemake.input.model, snakemake.output[0],
                        max_points=snakemake.params.get("max_points", 5000),
                        seed=snakemake.params.seed)
