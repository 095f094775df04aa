"""Adapter: the base hyper-parameters -> table of the base model's layers."""

from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.data.dataset import Dataset
from nnreport.models.registry import build_model, describe, family_of
from nnreport.reporting.tables import architecture_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
data = Dataset.load(snakemake.input.data)
base = snakemake.params.base
image = (1, *data.images.shape[1:])  # (C, H, W)
model = build_model(base, n_in=int(data.images[0].size), n_classes=len(data.classes),
                    input_shape=image)
# a user's module takes (N, C, H, W) images; the built-in families take (N, H, W) and shape them
shape = image if family_of(base).user is not None else data.images.shape[1:]
write_text(snakemake.output[0], architecture_table(describe(model, shape)))
