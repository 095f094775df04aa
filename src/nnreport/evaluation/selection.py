"""Picking a winner: the best run of a study, and a model's best candidate on dev."""

from __future__ import annotations

import logging

import pandas as pd


def best_run(runs: pd.DataFrame) -> pd.Series:
    """Return the (variant, seed) row with the highest final validation accuracy."""
    ok = runs[runs["status"] != "diverged"]
    if ok.empty:
        raise ValueError("every run diverged: there is no best run to show")
    return ok.loc[ok["final_val_accuracy"].idxmax()]




log = logging.getLogger(__name__)


def select(model: str, runs: list[dict]) -> dict:
    """Return the selection file of `model`: the candidate with the best mean dev accuracy."""
    frame = pd.DataFrame([{"variant": r["variant"], "seed": r["seed"],
                           "val_accuracy": r["val_accuracy"], "val_loss": r["val_loss"],
                           "best_epoch": r.get("best_epoch"), "status": r["status"]}
                          for r in runs])
    ok = frame[frame["status"] != "diverged"]
    if ok.empty:
        raise ValueError(f"{model}: every candidate diverged; there is nothing to select")
    means = ok.groupby("variant", sort=False)[["val_accuracy", "val_loss"]].mean()
    chosen = means["val_accuracy"].idxmax()
    hparams = next(r["hparams"] for r in runs if r["variant"] == chosen)
    log.info("%s: %s chosen with dev accuracy %.4f", model, chosen,
             means.loc[chosen, "val_accuracy"])
    return {
        "model": model, "variant": chosen, "hparams": hparams,
        "val_accuracy": float(means.loc[chosen, "val_accuracy"]),
        "candidates": [{"variant": v, "val_accuracy": float(row["val_accuracy"]),
                        "val_loss": float(row["val_loss"])} for v, row in means.iterrows()],
    }
