"""Adapter: raw idx files -> data/<study>/<dataset>.npz."""

from nnreport.data import prepare
from nnreport.logs import to_file

to_file(snakemake.log[0])
ds = dict(snakemake.params.dataset)
prepare(ds.pop("name"), **ds).save(snakemake.output[0], params=snakemake.params.dataset)
