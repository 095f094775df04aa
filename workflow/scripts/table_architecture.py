"""Adapter: the base hyper-parameters -> table of the base model's layers (of a model written
from scratch, its parameters)."""

from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.base.usercode import parse_target
from nnreport.data.dataset import Dataset
from nnreport.models.registry import build_model, describe
from nnreport.models.user_scratch import ScratchModel
from nnreport.reporting.tables import architecture_table, parameters_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
data = Dataset.load(snakemake.input.data)
base = snakemake.params.base
image = data.shape  # (C, H, W)
if base.get("backend") == "numpy":  # a user's class written from scratch
    model = ScratchModel(parse_target(base["model"]), base, image, len(data.classes), seed=0)
    table = parameters_table(model.names, [tuple(p.data.shape) for p in model.parameters()])
else:
    model = build_model(base, n_in=int(data.images[0].size), n_classes=len(data.classes),
                        input_shape=image)
    table = architecture_table(describe(model, image))  # every family takes (N, C, H, W)
write_text(snakemake.output[0], table)
