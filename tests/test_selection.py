"""Picking a winner: one rule (best mean over seeds) for the best run and a model's candidate."""

import pandas as pd
import pytest

from nnreport.evaluation.selection import best_variant, select


def _runs():
    # a: one lucky seed (0.95) but the lower mean; b: the better mean; c diverged
    return pd.DataFrame([
        {"variant": "a", "seed": 0, "status": "completed", "final_val_accuracy": 0.95},
        {"variant": "a", "seed": 1, "status": "completed", "final_val_accuracy": 0.80},
        {"variant": "b", "seed": 0, "status": "completed", "final_val_accuracy": 0.90},
        {"variant": "b", "seed": 1, "status": "completed", "final_val_accuracy": 0.91},
        {"variant": "c", "seed": 0, "status": "diverged", "final_val_accuracy": 0.99},
    ])


def test_the_best_variant_has_the_best_mean_and_is_never_a_diverged_one():
    assert best_variant(_runs(), "final_val_accuracy") == "b"


def test_when_every_run_diverged_there_is_no_winner():
    runs = _runs().assign(status="diverged")
    with pytest.raises(ValueError, match="every run diverged: there is no best run to show"):
        best_variant(runs, "final_val_accuracy")
    with pytest.raises(ValueError, match="M1: every candidate diverged"):
        select("M1", [{"variant": "M1-1", "seed": 0, "val_accuracy": 0.5, "val_loss": 1.0,
                       "status": "diverged", "hparams": {}}])


def test_a_models_candidate_is_chosen_by_the_same_rule():
    runs = [{"variant": r.variant, "seed": r.seed, "val_accuracy": r.final_val_accuracy,
             "val_loss": 1 - r.final_val_accuracy, "status": r.status,
             "hparams": {"lr": r.variant}} for r in _runs().itertuples()]
    chosen = select("M1", runs)
    assert (chosen["variant"], chosen["hparams"]) == ("b", {"lr": "b"})
    assert chosen["val_accuracy"] == pytest.approx(0.905)
    assert [c["variant"] for c in chosen["candidates"]] == ["a", "b"]
