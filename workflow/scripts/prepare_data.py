"""Adapter: raw idx files -> data/<dataset>.npz."""

from nnreport.data import prepare
from nnreport.logs import to_file

to_file(snakemake.log[0])
ds = snakemake.params.dataset
data = prepare(ds["name"], root=ds.get("root"), download_dir=ds.get("download_dir"),
               n_train=ds["n_train"], n_val=ds["n_val"], split_seed=ds["split_seed"])
data.save(snakemake.output[0])
