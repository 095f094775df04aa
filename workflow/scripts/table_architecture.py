"""Adapter: the base hyper-parameters -> table of the base model's layers."""

from nnreport.data import Dataset
from nnreport.io import write_text
from nnreport.logs import to_file
from nnreport.models import build_model, describe
from nnreport.tables import architecture_table

to_file(snakemake.log[0])
data = Dataset.load(snakemake.input.data)
shape = data.images.shape[1:]
model = build_model(snakemake.params.base, n_in=int(data.images[0].size),
                    n_classes=len(data.classes))
write_text(snakemake.output[0], architecture_table(describe(model, shape)))
