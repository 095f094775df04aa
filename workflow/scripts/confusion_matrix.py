"""Adapter: the predictions of the run a study shows -> confusion-matrix figure and summary."""

from nnreport.base.logs import to_file
from nnreport.reporting.words import activate
from nnreport.studies.report import confusion_matrix

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
confusion_matrix(snakemake.params.kind, dict(snakemake.input.items()), snakemake.output.figure,
                 snakemake.output.summary)
