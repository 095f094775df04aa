"""Adapter: the dataset -> a grid of example images per class."""

from nnreport.data import Dataset
from nnreport.figures import sample_images
from nnreport.logs import to_file

to_file(snakemake.log[0])
data = Dataset.load(snakemake.input.data)
sample_images(data.images[data.train_idx], data.labels[data.train_idx], data.classes,
              snakemake.output[0])
