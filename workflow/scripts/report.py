"""Adapter: a study's results, figures and tables -> informe.tex -> checked PDF in its build."""

from nnreport.base.logs import to_file
from nnreport.reporting.words import activate
from nnreport.studies.report import build_report

to_file(snakemake.log[0])
activate(snakemake.params.language, snakemake.params.knobs)  # the report's words
build_report(snakemake.params.kind, dict(snakemake.input.items()), snakemake.params.config,
             snakemake.params.sections, snakemake.params.published, snakemake.params.run_hashes,
             snakemake.output[0])
