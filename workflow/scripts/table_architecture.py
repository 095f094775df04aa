"""Adapter: the base hyper-parameters -> table of the base model's layers."""

from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.data.dataset import Dataset
from nnreport.models.registry import build_model, describe
from nnreport.reporting.tables import architecture_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
data = Dataset.load(snakemake.input.data)
shape = data.images.shape[1:]
model = build_model(snakemake.params.base, n_in=int(data.images[0].size),
                    n_classes=len(data.classes))
write_text(snakemake.output[0], architecture_table(describe(model, shape)))
