"""Adapter: the dataset and its split -> table of image counts per class and split."""

from nnreport.data import Dataset
from nnreport.io import write_text
from nnreport.logs import to_file
from nnreport.tables import class_counts_table

to_file(snakemake.log[0])
data = Dataset.load(snakemake.input.data)
splits = {"Entrenamiento": data.train_idx[: snakemake.params.max_train],
          "Validación": data.val_idx[: snakemake.params.max_val]}
write_text(snakemake.output[0], class_counts_table(data.labels, splits, data.classes))
