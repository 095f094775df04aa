"""Adapter: every final model's noise curve -> the robustness figure."""

import pandas as pd

from nnreport.base.integrity import verified
from nnreport.base.logs import to_file
from nnreport.reporting.figures import noise_robustness
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
noise = pd.concat(pd.read_parquet(verified(p)) for p in snakemake.input)
noise_robustness(noise, {m: m for m in snakemake.params.models}, snakemake.output[0])
