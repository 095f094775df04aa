"""A Table I study at run time: the run its confusion matrix shows and its report's context."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nnreport.base.families import constructor_arguments
from nnreport.base.integrity import verified
from nnreport.base.io import read_json
from nnreport.base.texescape import escape
from nnreport.base.usercode import is_user_model
from nnreport.config.grid import Variant, expand_grid
from nnreport.config.layout import Layout
from nnreport.evaluation.comparisons import (
    ACCURACY_BOUNDS,
    BINOMIAL,
    CONFIDENCE,
    HOLM,
    PAIRED,
    WELCH,
    accuracy_interval,
    best_group,
    compare,
    family,
    welch_interval,
)
from nnreport.evaluation.selection import best_variant
from nnreport.evaluation.trends import GAIN_LOSS, GAIN_POINTS, verdict
from nnreport.reporting.context import (
    confusion_words,
    dataset_context,
    gradient_steps,
    model_sources,
    provenance_context,
    report_metadata,
    user_model,
)
from nnreport.reporting.labels import (
    format_value,
    knob_name,
    panel_letters,
    power_of_ten,
    series,
    signed,
    variant_label,
    variant_phrase,
)
from nnreport.reporting.tables import fixed_knobs
from nnreport.reporting.words import entry, word
from nnreport.training.history import TRAIN_EVAL_IMAGES


def optimizer_settings(hparams: dict) -> dict:
    """Return the base optimiser's settings as PyTorch applies them (defaults included)."""
    import torch

    from nnreport.training.loop import make_optimizer

    opt = make_optimizer(hparams, [torch.zeros(1, requires_grad=True)])
    d = opt.defaults
    out = {"name": format_value("optimizer", hparams["optimizer"]),
           "lr": format_value("lr", d["lr"]), "weight_decay": d.get("weight_decay", 0.0)}
    settings = []
    if "betas" in d:
        settings += [f"$\\beta_1 = {d['betas'][0]:g}$", f"$\\beta_2 = {d['betas'][1]:g}$"]
    if "eps" in d:
        settings.append(f"$\\epsilon = {power_of_ten(d['eps'])}$")
    if "momentum" in d:
        settings.append(word("optimizer_settings.momentum", value=f"{d['momentum']:g}"))
    if d.get("weight_decay"):
        settings.append(word("optimizer_settings.weight_decay",
                             value=format_value("lr", d["weight_decay"])))
    out["description"] = out["name"] + (f" ({', '.join(settings)})" if settings else "")
    return out


def run_entries(variants: list[Variant], summary: pd.DataFrame) -> list[dict]:
    """Return one entry per run: label, accuracies, effect against the base, overfitting."""
    stats = summary.set_index("variant")
    base_acc = stats.loc["base", "final_val_accuracy_mean"]
    runs = []
    for v in variants:
        s = stats.loc[v.name]
        last = int(s["epochs_run_mean"])
        min_epoch = last if pd.isna(s["min_val_loss_epoch_mean"]) else int(
            round(s["min_val_loss_epoch_mean"]))
        runs.append({
            "name": v.name, "label": variant_label(v.knob, v.value), "experiment": v.experiment,
            "phrase": (phrase := variant_phrase(v.knob, v.value)),
            # the run as the subject of a sentence: "el modelo base", "la corrida con el
            # optimizador SGD"
            "named": word("runs.base") if v.knob is None else word("runs.named", phrase=phrase),
            "final_accuracy": 100 * s["final_val_accuracy_mean"],
            # one seed has no spread: None, so the prose prints the accuracy alone
            "final_accuracy_std": (100 * s["final_val_accuracy_std"] if s["n_seeds"] > 1
                                   else None),
            "best_accuracy": 100 * s["best_val_accuracy_mean"],
            "best_epoch": int(round(s["best_epoch_mean"])),
            "delta_pp": 100 * (s["final_val_accuracy_mean"] - base_acc),
            "min_loss_epoch": min_epoch, "epochs_run": last,
            "loss_rise": s["final_val_loss_mean"] - s["min_val_loss_mean"],
            "seconds": s["train_seconds_mean"], "diverged": bool(s["diverged"]),
            "diverged_epoch": None if pd.isna(s["diverged_epoch"]) else int(s["diverged_epoch"]),
        })
    return runs


def build_context(config: dict, variants: list[Variant], summary: pd.DataFrame,
                  base_run: dict, confusion: dict, figures: dict[str, str],
                  provenance: dict) -> dict:
    """Return everything the template and the author's prose may use, ready for LaTeX."""
    rep, base = config.get("report", {}), config["base"]
    runs = run_entries(variants, summary)
    by_name = {r["name"]: r for r in runs}
    experiments = []
    # the letters of the figure of all learning curves
    panels = panel_letters([e["id"] for e in config["experiments"] if figures.get(e["id"])])
    for i, exp in enumerate(config["experiments"], start=1):
        knob = next(iter(exp["vary"])) if exp.get("vary") else None
        experiments.append({
            "panel": panels.get(exp["id"]),
            "number": i, "id": exp["id"], "objective": escape(exp.get("objective", "")),
            "knob": knob, "knob_name": knob_name(knob) if knob else None,
            # an argument of the user's own class: the prose says what it costs, not what our
            # families' knob of that name does
            "own_knob": bool(knob) and is_user_model(base.get("model"))
            and knob in constructor_arguments(base),
            "figure": figures.get(exp["id"]),
            "runs": [r for r in runs if r["experiment"] == exp["id"] and r["name"] != "base"],
        })
    ranked = sorted((r for r in runs if not r["diverged"]), key=lambda r: -r["final_accuracy"])
    best = {**confusion_words(confusion), **by_name[confusion["variant"]],
            "accuracy": confusion["accuracy"]}
    return {
        "report": report_metadata(rep),
        "study": escape(config["study"]),
        "epochs": int(config["epochs"]),
        "seeds": list(config.get("seeds", [0])),
        "base": {k: format_value(k, v) for k, v in base.items() if k != "model"},
        # what the prose describes: mlp, cnn, ..., or "user" (a class of the user's own file)
        "family": "user" if is_user_model(base.get("model")) else base.get("model", "mlp"),
        "user_model": user_model(base, base_run),
        # the hyper-parameters every run shares that Table I has no column for
        "fixed_knobs": [variant_label(k, base[k]) for k in fixed_knobs(config)],
        "optimizer": optimizer_settings(base),
        "experiments": experiments,
        "figure_experiments": [e["id"] for e in experiments if e["figure"]],
        "runs": runs,
        "base_result": by_name["base"],
        "ranking": ranked,
        "diverged": [r for r in runs if r["diverged"]],
        "base_run": base_run,
        "classes": [escape(c) for c in confusion["classes"]],
        "n_train": base_run["normalisation"]["n_train"],
        # the training images measured in eval mode each epoch (training/history.py)
        "train_images": min(base_run["normalisation"]["n_train"], TRAIN_EVAL_IMAGES),
        "n_val": base_run["normalisation"]["n_val"],
        "pooled": not config["dataset"].get("holdout_test", False),  # train and test files
        "dataset": dataset_context(config["dataset"]),
        "best": best,
        "model_sources": model_sources({v.hparams.get("model", "mlp") for v in variants}),
        "provenance": provenance_context(provenance),
    }


def compared_runs(runs_table: pd.DataFrame, order: list[str]) -> list[str]:
    """The runs compared with the base, in `order`: every one but the base and those with a
    diverged seed (none when the base diverged)."""
    diverged = set(runs_table.loc[runs_table["status"] == "diverged", "variant"])
    return [] if "base" in diverged else [v for v in order if v != "base" and v not in diverged]


def base_comparisons(runs_table: pd.DataFrame, compared: list[str],
                     correct: pd.DataFrame | None = None) -> tuple[dict, dict]:
    """The two families the report states, each corrected with Holm's procedure: the
    `compared` runs' final validation accuracy against the base's (with the images' noise given
    `correct`; with one seed, that noise alone) and, with several seeds, their final validation
    loss (over seeds; one seed gives it no interval: {})."""
    several = runs_table.groupby("variant")["seed"].nunique().min() > 1
    if not several and correct is None:
        return {}, {}
    return (family(runs_table, compared, "base", "final_val_accuracy", correct,
                   bounds=ACCURACY_BOUNDS),
            family(runs_table, compared, "base", "final_val_loss") if several else {})


def add_comparisons(context: dict, runs_table: pd.DataFrame, n_val: int,
                    correct: pd.DataFrame | None = None) -> None:
    """Give each run of `context` its comparison with the base, with its uncertainty, and name
    the runs the evidence cannot tell apart from the best (evaluation/comparisons.py). With
    several seeds, the variants against the base are one family per metric, corrected with
    Holm's procedure, and `correct` (each run's correctness on each validation image) adds the
    images' sampling noise to the accuracies' intervals."""
    metric = "final_val_accuracy"
    n_seeds = int(runs_table.groupby("variant")["seed"].nunique().min())
    by_name = {r["name"]: r for r in context["runs"]}
    compared = compared_runs(runs_table, [r["name"] for r in context["runs"]])
    several = n_seeds > 1
    method = WELCH if several else PAIRED if correct is not None else BINOMIAL
    context["statistics"] = {"confidence": round(100 * CONFIDENCE), "n_seeds": n_seeds,
                             "n_val": n_val, "method": method,
                             "correction": HOLM if method != BINOMIAL else None,
                             "comparisons": len(compared),  # and the confidence of the
                             # first Holm tests (the smallest p-value: 1 - 0.05/m)
                             "top_confidence": 100 * (1 - (1 - CONFIDENCE) / max(1, len(compared))),
                             "images": several and correct is not None}
    accuracy, loss = base_comparisons(runs_table, compared, correct)
    # few degrees of freedom (two seeds, Holm's levels): wide intervals the prose warns of
    df = [c.df for c in accuracy.values()]
    context["statistics"].update(min_df=min(df, default=math.inf),
                                 clipped=any(c.clipped for c in accuracy.values()))
    for run in context["runs"]:
        run["resolved"] = None  # the base, and diverged runs, compare with nothing
        run["loss_delta"] = None  # the final validation loss against the base's, over seeds
        if n_seeds == 1 and not run["diverged"]:
            low, high = accuracy_interval(run["final_accuracy"] / 100, n_val)
            run["accuracy_low"], run["accuracy_high"] = 100 * low, 100 * high
        if run["name"] not in compared:
            continue  # nothing to compare with: the base itself, or a diverged run
        c = accuracy.get(run["name"]) or compare(runs_table, run["name"], "base", metric, n_val)
        run["resolved"] = c.resolved
        run["delta_low"], run["delta_high"] = 100 * c.low, 100 * c.high
        run["p"], run["p_adjusted"] = c.p, c.p_adjusted
        run["delta_confidence"] = 100 * c.confidence
        if run["name"] in loss:  # the loss has no binomial interval: compared over seeds only
            d = loss[run["name"]]
            run["loss_delta"] = {"difference": d.difference, "low": d.low, "high": d.high,
                                 "resolved": d.resolved, "p_adjusted": d.p_adjusted}
    best = context["best"]["name"]
    context["best"].update(by_name[best])  # the best run's comparison with the base
    context["best"]["accuracy"] = by_name[best]["final_accuracy"]
    context["best_group"] = [by_name[n] for n in
                             best_group(runs_table, best, metric, n_val, per_image=correct)
                             if n != best]
    context["best_group_text"] = best_group_text(context["best_group"])
    unresolved = 0
    for run in context["runs"]:  # in Table I order: the frames of unresolved effects rotate
        run["change"] = change_text(run, method, unresolved)
        unresolved += run["resolved"] is False


def change_text(run: dict, method: str, k: int) -> str:
    """How a run's final accuracy differs from the base's, as the verb phrase of a sentence
    whose subject is that accuracy: `baja 1.60 puntos (intervalo [-2.75, -0.45])`; an effect
    the evidence does not resolve says its interval is compatible with both signs, in the
    `k`-th of the catalogue's frames (they rotate, so none is read more than a few times)."""
    delta = run.get("delta_pp", 0.0)
    size = f"{abs(delta):.2f}"
    verb = word("change.none") if float(size) == 0 else word(
        "change.up" if delta > 0 else "change.down", value=size)
    if run.get("resolved") is None:  # the base itself, a diverged run: nothing compared
        return verb
    if method == BINOMIAL:
        return verb if run["resolved"] else word("change.wilson", change=verb)
    low, high = signed(run["delta_low"]), signed(run["delta_high"])
    if run["resolved"]:
        return word("change.resolved", change=verb, low=low, high=high)
    frames = entry("change.unresolved")
    return frames[k % len(frames)].format(change=verb, low=low, high=high)


def best_group_text(group: list[dict]) -> str:
    """The runs the evidence cannot tell apart from the best, as a sentence names them after
    "no se distingue": `del modelo base ni de las corridas con $n_1$ = 64 y el optimizador SGD`."""
    others = series([r["phrase"] for r in group if r["name"] != "base"])
    with_base = any(r["name"] == "base" for r in group)
    if not group:
        return ""
    if not others:
        return word("best_group.base")
    return word("best_group.both" if with_base else "best_group.others", runs=others)


def add_findings(context: dict) -> None:
    """Name the effects the abstract states: the variations that beat the base beyond the noise
    (`improvements`, largest first) and the two that hurt it most (`worsenings`)."""
    resolved = [r for r in context["runs"] if r.get("resolved")]
    context["improvements"] = sorted((r for r in resolved if r["delta_pp"] > 0),
                                     key=lambda r: -r["delta_pp"])
    context["worsenings"] = sorted((r for r in resolved if r["delta_pp"] < 0),
                                   key=lambda r: r["delta_pp"])[:2]


def add_costs(context: dict, runs: list[dict], runs_table: pd.DataFrame) -> None:
    """Give each run what explains and what costs its result: parameters and training time
    against the base's, optimisation steps per epoch and in all (the training images over the
    batch size), and its final training accuracy (a running average with dropout active) with
    its gap to the validation accuracy."""
    n_train = context["n_train"]
    by_variant = {r["variant"]: r for r in runs}
    train_accuracy = runs_table.groupby("variant")["final_train_accuracy"].mean()
    base = next(r for r in context["runs"] if r["name"] == "base")
    for run in context["runs"]:
        config = by_variant[run["name"]]
        run["parameters"] = int(config["parameters"])
        run["updates_per_epoch"] = math.ceil(n_train / config["hparams"]["batch_size"])
        run["updates"] = run["updates_per_epoch"] * run["epochs_run"]
        # what a comparison of optimisers must state: the variant's own settings
        run["optimizer"] = str(config["hparams"].get("optimizer", "adam")).lower()
        run["momentum"] = float(config["hparams"].get("momentum", 0.0))
        run["train_accuracy"] = 100 * float(train_accuracy[run["name"]])
        run["gap"] = run["train_accuracy"] - run["final_accuracy"]
    seconds = runs_table.groupby("variant")["train_seconds"].apply(list)
    for run in context["runs"]:
        run["parameter_ratio"] = run["parameters"] / base["parameters"]
        run["time_ratio"] = run["seconds"] / base["seconds"] if base["seconds"] else math.nan
        run["time_resolved"] = time_differs(seconds.get(run["name"], []),
                                            seconds.get("base", []))
    context["best"].update(next(r for r in context["runs"]
                                if r["name"] == context["best"]["name"]))


# With one seed a training time has no spread to read it against: a ratio within this of 1
# is read as the same time (two jobs of the same run differ by about that on a shared CPU).
TIME_TOLERANCE = 0.1


def time_differs(seconds: list[float], base: list[float]) -> bool:
    """Whether a run's training time differs from the base's beyond the noise: Welch's 95 %
    interval of the difference excludes zero (several seeds each), or, with one seed, the
    ratio is more than TIME_TOLERANCE away from 1. A cost, not a finding: not corrected."""
    if not seconds or not base or not np.mean(base):
        return False
    if min(len(seconds), len(base)) > 1 and (np.std(seconds) > 0 or np.std(base) > 0):
        low, high = welch_interval(list(seconds), list(base))
        return bool(low > 0 or high < 0)
    return bool(abs(np.mean(seconds) / np.mean(base) - 1) > TIME_TOLERANCE)


def add_trends(context: dict, metrics: pd.DataFrame, n_val: int) -> None:
    """Give each finished run what its curves show (evaluation/trends.py), and list the runs
    that overfit (over-confident, or losing accuracy), whose validation loss rises without
    overfitting, that would gain from early stopping or that have not converged: the only such
    claims the report makes. `convergence` holds the gains that count as still improving."""
    for run in context["runs"]:
        v = None if run["diverged"] else verdict(metrics[metrics["variant"] == run["name"]], n_val)
        run["trend_known"] = v is not None
        run["overfits"] = bool(v and v.overfits)
        run["overconfident"] = bool(v and v.overconfident)
        run["loses_accuracy"] = bool(v and v.loses_accuracy)
        run["unstable"] = bool(v and v.unstable)
        run["converged"] = bool(v is None or v.converged)
        run["early_stop_helps"] = bool(v and v.early_stop_helps)
        run["early_stop_gain"] = 100 * v.early_stop_gain if v and v.early_stop_gain else 0.0
    finished = [r for r in context["runs"] if not r["diverged"]]
    context["trends_known"] = any(r["trend_known"] for r in finished)
    context["overfitting"] = [r for r in finished if r["overfits"]]
    context["overconfident"] = [r for r in finished if r["overconfident"]]
    context["loses_accuracy"] = [r for r in finished if r["loses_accuracy"]]
    context["unstable"] = [r for r in finished if r["unstable"]]
    context["early_stopping"] = [r for r in finished if r["early_stop_helps"]]
    context["not_converged"] = [r for r in finished if not r["converged"]]
    context["convergence"] = {"points": GAIN_POINTS, "loss_percent": round(100 * GAIN_LOSS)}


def confusion_source(predictions: str | list[str], runs: str | None = None,
                     evaluation: str | None = None) -> tuple[list[str], dict]:
    """The predictions the confusion matrix adds up, and what its summary says about them.

    With a test set (`evaluation`: the chosen configuration's test scores), the test
    predictions of every seed of the chosen configuration; without one, the validation
    predictions of every finished seed of the best variant (by mean final validation accuracy).
    """
    if evaluation is not None:
        chosen = read_json(evaluation)
        return [predictions] if isinstance(predictions, str) else predictions, {
            "variant": chosen["variant"], "seeds": chosen["seeds"], "split": "test",
            "accuracy": 100 * chosen["test_accuracy"]}
    if runs is None:
        raise ValueError("without a test set (evaluation), the runs table (runs) picks the "
                         "confusion matrix's run")
    return best_on_validation(pd.read_parquet(verified(runs)), list(predictions))


def best_on_validation(table: pd.DataFrame, predictions: list[str]) -> tuple[list[str], dict]:
    """The validation predictions of every finished seed of the variant of `table` (one row
    per run) with the best mean final validation accuracy, and the confusion summary's info."""
    variant = best_variant(table, "final_val_accuracy")
    own = table[(table["variant"] == variant) & (table["status"] != "diverged")]
    seeds = sorted(int(s) for s in own["seed"])
    paths = [p for p in predictions if Layout.run_of(p) in {(variant, s) for s in seeds}]
    return paths, {"variant": variant, "seeds": seeds, "split": "validation",
                   "accuracy": 100 * float(own["final_val_accuracy"].mean())}


def add_test(context: dict, evaluation: dict | None) -> None:
    """Give the context the chosen configuration's score on the test images (`test`, None
    without a test set) and whether its validation score, which chose it, is higher by more
    than the sampling noise of the two image sets (their Wilson intervals do not overlap)."""
    if evaluation is None:
        context["test"] = None
        return
    run = next(r for r in context["runs"] if r["name"] == evaluation["variant"])
    test, val = evaluation["test_accuracy"], evaluation["dev_accuracy"]
    low, high = accuracy_interval(test, evaluation["n_test"])
    val_low, val_high = accuracy_interval(val, evaluation["n_dev"])
    context["test"] = {
        "label": run["label"], "n_test": evaluation["n_test"], "n_seeds": evaluation["n_seeds"],
        "accuracy": 100 * test, "accuracy_std": 100 * evaluation.get("test_accuracy_std", 0.0),
        "low": 100 * low, "high": 100 * high, "loss": evaluation["test_loss"],
        "val_accuracy": 100 * val, "val_low": 100 * val_low, "val_high": 100 * val_high,
        "gap": 100 * (val - test), "gap_resolved": val_low > high or low > val_high,
    }


def report_context(config: dict, inputs: dict, runs_table: pd.DataFrame, runs: list[dict],
                   metrics: pd.DataFrame, figures: dict[str, str], provenance: dict) -> dict:
    """The context of a Table I study's report from its named workflow inputs."""
    variants = expand_grid(config)
    context = build_context(config, variants, pd.read_parquet(verified(inputs["summary"])),
                            read_json(inputs["base_run"]), read_json(inputs["confusion"]),
                            figures, provenance)
    add_comparisons(context, runs_table, context["n_val"],
                    pd.read_parquet(verified(inputs["correct"])) if "correct" in inputs else None)
    add_trends(context, metrics, context["n_val"])
    add_findings(context)
    add_costs(context, runs, runs_table)
    add_test(context, read_json(inputs["evaluation"]) if "evaluation" in inputs else None)
    context["gradients"] = gradient_steps(
        runs, {v.name: variant_label(v.knob, v.value) for v in variants})
    with np.load(inputs["data"]) as z:
        context["n_images"] = len(z["labels"])
    return context
