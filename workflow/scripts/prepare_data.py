"""Adapter: raw idx files -> data/<study>/<dataset>.npz."""

from nnreport.base.logs import to_file
from nnreport.data.prepare import prepare

to_file(snakemake.log[0])
ds = dict(snakemake.params.dataset)
prepare(ds.pop("name"), **ds).save(snakemake.output[0], params=snakemake.params.dataset)
