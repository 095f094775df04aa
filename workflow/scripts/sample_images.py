"""Adapter: the dataset -> a grid of example images per class."""

from nnreport.base.logs import to_file
from nnreport.data.dataset import Dataset
from nnreport.reporting.figures import sample_images
from nnreport.reporting.labels import class_names
from nnreport.reporting.words import activate

to_file(snakemake.log[0])
activate(snakemake.params.language)  # the report's language, for every word
data = Dataset.load(snakemake.input.data)
sample_images(data.images[data.train_idx], data.labels[data.train_idx], class_names(data.classes),
              snakemake.output[0])
