"""Adapter: the candidates of every searched model -> the search table."""

from nnreport.base.io import read_json, write_text
from nnreport.base.logs import to_file
from nnreport.reporting.tables import search_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language, snakemake.params.knobs)  # the report's words
selections = [read_json(p) for p in snakemake.input.selections]
runs = [read_json(p) for p in snakemake.input.runs]
write_text(snakemake.output[0], search_table(snakemake.params.models, selections, runs))
