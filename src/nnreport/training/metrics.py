"""The metrics file: long-format Parquet (one row per epoch and split) carrying its run config."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nnreport.base.integrity import DamagedFileError, verified
from nnreport.base.io import atomic_path

RUN_KEY = b"nnreport.run"
# the columns in their order; a task's metrics beside the loss (accuracy) only when it has them
COLUMNS = ["variant", "seed", "epoch", "split", "loss", "accuracy", "lr", "seconds"]


def write_metrics(path: str | Path, rows: list[dict], run: dict) -> None:
    """Write `rows` as long-format Parquet carrying the resolved run config in its metadata."""
    df = pd.DataFrame(rows)
    df.insert(0, "seed", run["seed"])
    df.insert(0, "variant", run["variant"])
    table = pa.Table.from_pandas(df[[c for c in COLUMNS if c in df.columns]],
                                 preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[RUN_KEY] = json.dumps(run, sort_keys=True, default=str).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_metrics(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Return (metrics frame, run config) from a file written by `write_metrics`."""
    try:
        table = pq.read_table(verified(path))
        run = json.loads(table.schema.metadata[RUN_KEY])
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError) as e:
        raise DamagedFileError(path, e) from None
    return table.to_pandas(), run
