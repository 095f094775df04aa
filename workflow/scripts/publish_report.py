"""Adapter: the checked build PDF -> its final place, atomically, with its source bundle (a
zip that compiles on its own); the previous report set aside while it was built goes."""

from nnreport.base.logs import to_file
from nnreport.reporting.build import publish_report

to_file(snakemake.log[0])
publish_report(snakemake.input[0], snakemake.output.pdf, snakemake.output.source)
