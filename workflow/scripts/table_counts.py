"""Adapter: the dataset and its split -> table of image counts per class and split."""

from nnreport.base.io import write_text
from nnreport.base.logs import to_file
from nnreport.data.dataset import Dataset
from nnreport.reporting.tables import class_counts_table
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
data = Dataset.load(snakemake.input.data)
p = snakemake.params
has_test = len(data.test_idx) > 0
splits = {"train": data.train_idx[: p.max_train],
          "dev" if has_test else "val": data.val_idx[: p.max_val]}
if has_test:
    splits["test"] = data.test_idx[: p.max_test]
write_text(snakemake.output[0], class_counts_table(data.labels, splits, data.classes))
