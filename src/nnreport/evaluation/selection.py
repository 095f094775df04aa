"""Picking a winner, one way for every study: the variant with the best mean of a metric over
its seeds (diverged runs excluded): the best run of a Table I study (whose seeds' confusion
matrices the report adds up), a model's best candidate."""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__name__)


def best_variant(runs: pd.DataFrame, metric: str, what: str = "run") -> str:
    """Return the variant whose non-diverged runs have the highest mean `metric` over seeds.

    `runs` has one row per run (variant, seed, status, `metric`); `what` names the runs in the
    error raised when every one diverged."""
    ok = runs[runs["status"] != "diverged"]
    if ok.empty:
        raise ValueError(f"every {what} diverged: there is no best {what} to show")
    return str(ok.groupby("variant", sort=False)[metric].mean().idxmax())


def select(model: str, runs: list[dict]) -> dict:
    """Return the selection file of `model`: the candidate with the best mean dev accuracy."""
    frame = pd.DataFrame([{"variant": r["variant"], "seed": r["seed"],
                           "val_accuracy": r["val_accuracy"], "val_loss": r["val_loss"],
                           "best_epoch": r.get("best_epoch"), "status": r["status"]}
                          for r in runs])
    try:
        chosen = best_variant(frame, "val_accuracy", what="candidate")
    except ValueError:
        raise ValueError(f"{model}: every candidate diverged; there is nothing to select") from None
    ok = frame[frame["status"] != "diverged"]
    means = ok.groupby("variant", sort=False)[["val_accuracy", "val_loss"]].mean()
    hparams = next(r["hparams"] for r in runs if r["variant"] == chosen)
    log.info("%s: %s chosen with dev accuracy %.4f", model, chosen,
             means.loc[chosen, "val_accuracy"])
    return {
        "model": model, "variant": chosen, "hparams": hparams,
        "val_accuracy": float(means.loc[chosen, "val_accuracy"]),
        "candidates": [{"variant": v, "val_accuracy": float(row["val_accuracy"]),
                        "val_loss": float(row["val_loss"])} for v, row in means.iterrows()],
    }
