"""Adapter: summary.parquet -> the results tabular."""

import pandas as pd

from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.config.grid import expand_grid
from nnreport.reporting.tables import results_table

to_file(snakemake.log[0])
config = {"base": snakemake.params.base, "experiments": snakemake.params.experiments}
summary = pd.read_parquet(snakemake.input.summary)
write_text(snakemake.output[0], results_table(summary, expand_grid(config), config))
