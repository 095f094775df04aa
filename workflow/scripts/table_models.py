"""Adapter: final evaluations -> the table of dev and test accuracy and loss per model."""

from nnreport.base.io import read_json, write_text
from nnreport.base.logs import to_file
from nnreport.reporting.tables import models_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
evaluations = [read_json(p) for p in snakemake.input.evaluations]
selections = [read_json(p) for p in snakemake.input.selections]
write_text(snakemake.output[0], models_table(snakemake.params.models, selections, evaluations))
