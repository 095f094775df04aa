"""Adapter: every candidate's run.json -> the model's selection file."""

from nnreport.base.io import read_json, write_json
from nnreport.base.logs import to_file
from nnreport.evaluation.selection import select

to_file(snakemake.log[0])
runs = [read_json(p) for p in snakemake.input]
write_json(snakemake.output[0], select(snakemake.wildcards.model, runs))
