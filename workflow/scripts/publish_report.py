"""Adapter: the checked build PDF -> its final place, atomically."""

from nnreport.logs import to_file
from nnreport.report import publish

to_file(snakemake.log[0])
publish(snakemake.input[0], snakemake.output[0])
