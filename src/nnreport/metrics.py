"""Long-format metrics Parquet (one row per epoch and split) and per-run summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nnreport.integrity import DamagedFileError
from nnreport.io import atomic_path

RUN_KEY = b"nnreport.run"
COLUMNS = ["variant", "seed", "epoch", "split", "loss", "accuracy", "lr", "seconds"]


def write_metrics(path: str | Path, rows: list[dict], run: dict) -> None:
    """Write `rows` as long-format Parquet carrying the resolved run config in its metadata."""
    df = pd.DataFrame(rows)
    df.insert(0, "seed", run["seed"])
    df.insert(0, "variant", run["variant"])
    table = pa.Table.from_pandas(df[COLUMNS], preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[RUN_KEY] = json.dumps(run, sort_keys=True, default=str).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_metrics(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Return (metrics frame, run config) from a file written by `write_metrics`."""
    try:
        table = pq.read_table(path)
        run = json.loads(table.schema.metadata[RUN_KEY])
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError) as e:
        raise DamagedFileError(path, e) from None
    return table.to_pandas(), run


def summarise_run(df: pd.DataFrame, run: dict) -> dict:
    """Return one run's headline numbers: final and best validation accuracy and loss, time."""
    val = df[df["split"] == "val"].sort_values("epoch")
    train = df[df["split"] == "train"].sort_values("epoch")
    best = val.loc[val["accuracy"].idxmax()]
    finite = val[val["loss"].abs() < float("inf")]  # a diverged run ends in NaN or inf
    return {
        "variant": run["variant"],
        "seed": run["seed"],
        "experiment": run["experiment"],
        "status": run.get("status", "completed"),
        "diverged_epoch": run.get("diverged_epoch"),
        "epochs_run": int(val["epoch"].max()),
        "final_val_accuracy": float(val["accuracy"].iloc[-1]),
        "final_val_loss": float(val["loss"].iloc[-1]),
        "final_train_accuracy": float(train["accuracy"].iloc[-1]),
        "final_train_loss": float(train["loss"].iloc[-1]),
        "best_val_accuracy": float(best["accuracy"]),
        "best_epoch": int(best["epoch"]),
        "min_val_loss": float(finite["loss"].min()) if len(finite) else float("nan"),
        "min_val_loss_epoch": (int(finite.loc[finite["loss"].idxmin(), "epoch"])
                               if len(finite) else float("nan")),
        "train_seconds": float(run.get("train_seconds", val["seconds"].sum())),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "device_name": run.get("device_name"),
        "threads": run.get("threads"),
    }


SUMMARY_STATS = ["final_val_accuracy", "final_val_loss", "best_val_accuracy", "best_epoch",
                 "min_val_loss", "min_val_loss_epoch", "epochs_run", "train_seconds"]


def summarise(runs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Return one row per variant (in `order`) with mean and std over seeds of each statistic."""
    g = runs.groupby("variant", sort=False)
    out = g[SUMMARY_STATS].mean().add_suffix("_mean")
    std = g[SUMMARY_STATS].std(ddof=1).fillna(0.0).add_suffix("_std")
    out = out.join(std)
    out["n_seeds"] = g.size()
    out["experiment"] = g["experiment"].first()
    out["diverged"] = g["status"].agg(lambda s: bool((s == "diverged").any()))
    out["diverged_epoch"] = g["diverged_epoch"].min()
    return out.reindex(order).reset_index()
