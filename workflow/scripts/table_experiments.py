"""Adapter: the config's experiments -> Table I's tabular."""

from nnreport.io import write_text
from nnreport.logs import to_file
from nnreport.tables import experiments_table

to_file(snakemake.log[0])
config = {"base": snakemake.params.base, "experiments": snakemake.params.experiments}
write_text(snakemake.output[0], experiments_table(config))
