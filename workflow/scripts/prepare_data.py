"""Adapter: the dataset's raw files -> data/<study>/<dataset>.npz."""

from nnreport.base.logs import to_file
from nnreport.data.registry import prepare

to_file(snakemake.log[0])
prepare(dict(snakemake.params.dataset)).save(snakemake.output[0], params=snakemake.params.dataset)
