"""Per-run summaries of the metrics, their mean and spread over seeds, and trends in them."""

from __future__ import annotations

import pandas as pd


def summarise_run(df: pd.DataFrame, run: dict, experiment: str | None = None) -> dict:
    """Return one run's headline numbers: final and best validation accuracy and loss, time.

    `experiment`: the one the config now puts the run in (renaming a Table I experiment
    retrains nothing, so its runs' files may hold the old name), else the one it recorded.

    Without an accuracy (a task that has none), the accuracies are NaN and the best epoch is
    the one of the lowest validation loss."""
    if "accuracy" not in df.columns:
        df = df.assign(accuracy=float("nan"))
    val = df[df["split"] == "val"].sort_values("epoch")
    train = df[df["split"] == "train"].sort_values("epoch")
    finite = val[val["loss"].abs() < float("inf")]  # a diverged run ends in NaN or inf
    if val["accuracy"].notna().any():
        best = val.loc[val["accuracy"].idxmax()]
    else:  # no accuracy: the epoch of the lowest validation loss
        best = finite.loc[finite["loss"].idxmin()] if len(finite) else val.iloc[0]
    return {
        "variant": run["variant"],
        "seed": run["seed"],
        "experiment": experiment if experiment is not None else run.get("experiment"),
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
        # where it trained and whether its float32 products used TF32: the report's
        # Reproducibility appendix states both (reporting/provenance.py)
        "device_type": run.get("device_type"),
        "tf32": run.get("tf32"),
        "threads": run.get("threads"),
        "parameters": run.get("parameters"),  # trainable (a frozen encoder's are not)
    }


def over_seeds(frame: pd.DataFrame, by: str | list[str], columns: list[str]) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds of `columns` in each `by` group, as
    `<column>_mean` and `<column>_std` (0 for a single seed), and `n_seeds`, in `by`'s order
    of first appearance: every spread over seeds in the report comes from here."""
    g = frame.groupby(by, sort=False)[columns]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).fillna(0.0).add_suffix("_std"))
    out["n_seeds"] = g.size()
    return out


def summarise_curves(metrics: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Per variant, split and epoch: mean, std and number of seeds of every metric (the loss,
    and the accuracy when the task has one), variants in `order`."""
    columns = [c for c in ("loss", "accuracy") if c in metrics.columns]
    out = over_seeds(metrics, ["variant", "split", "epoch"], columns).reset_index()
    rank = {v: i for i, v in enumerate(order)}
    out = out.sort_values(["variant", "split", "epoch"], key=lambda s: s.map(rank)
                          if s.name == "variant" else s, kind="stable")
    return out.reset_index(drop=True)


SUMMARY_STATS = ["final_val_accuracy", "final_val_loss", "best_val_accuracy", "best_epoch",
                 "min_val_loss", "min_val_loss_epoch", "epochs_run", "train_seconds"]


def summarise(runs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Return one row per variant (in `order`) with mean and std over seeds of each statistic."""
    out = over_seeds(runs, "variant", SUMMARY_STATS)
    g = runs.groupby("variant", sort=False)
    out["experiment"] = g["experiment"].first()
    out["diverged"] = g["status"].agg(lambda s: bool((s == "diverged").any()))
    out["diverged_epoch"] = g["diverged_epoch"].min()
    if "parameters" in runs.columns:
        out["parameters"] = g["parameters"].first()
    return out.reindex(order).reset_index()


def correctness(predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each run's correctness (0 or 1) on each validation image, one column per run
    (`<variant>/seed<k>`: its predictions.parquet), the images in the order all runs share: what
    the comparisons need to count the images' sampling noise. Runs without predicted classes
    (an autoencoder's errors) are left out."""
    columns, truth = {}, None
    for name, frame in predictions.items():
        if "pred" not in frame.columns:
            continue
        if truth is None:
            truth = frame["true"].to_numpy()
        elif len(frame) != len(truth) or (frame["true"].to_numpy() != truth).any():
            raise ValueError(f"run {name} was scored on other validation images than "
                             f"{next(iter(columns))}: its predictions cannot be paired")
        columns[name] = (frame["pred"] == frame["true"]).astype("uint8")
    return pd.DataFrame(columns)
