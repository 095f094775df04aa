"""Adapter: the config's experiments -> Table I's tabular."""

from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.reporting.tables import experiments_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language, snakemake.params.knobs)  # the report's words
config = {"base": snakemake.params.base, "experiments": snakemake.params.experiments}
write_text(snakemake.output[0], experiments_table(config))
