"""An autoencoder study at run time: each autoencoder's reconstruction error with its
uncertainty and its comparison with the base, the classifiers on its encoder, and the
report's context.

The MSE is the mean over validation images of each image's mean squared pixel error (pixels
in [0, 1]), printed times 10^3. With several seeds a difference carries the interval over seeds
and images of evaluation/comparisons.effect; with one seed, the paired t interval over the
validation images, which both runs reconstructed (the images' sampling noise: one seed cannot
resolve the seeds' own). The autoencoders' comparisons with their references are one family,
the classifiers' another, each corrected with Holm's procedure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nnreport.base.integrity import verified
from nnreport.base.io import read_json
from nnreport.base.texescape import escape
from nnreport.config.grid import Variant, expand_grid
from nnreport.config.layout import Layout
from nnreport.evaluation.comparisons import (
    ACCURACY_BOUNDS,
    BINOMIAL,
    CONFIDENCE,
    HOLM,
    PAIRED,
    WELCH,
    Comparison,
    accuracy_interval,
    compare,
    family,
    holm,
    mean_interval,
    paired_effect,
)
from nnreport.evaluation.trends import verdict
from nnreport.reporting.context import (
    confusion_words,
    gradient_steps,
    model_sources,
    provenance_context,
)
from nnreport.reporting.labels import (
    class_names,
    knob_name,
    panel_letters,
    run_label,
    signed,
    variant_phrase,
)
from nnreport.reporting.tables import MSE_SCALE
from nnreport.studies.experiments import best_on_validation, build_context, time_differs

AUTOENCODER = "conv_autoencoder"


def scaled(value: float, std: float | None = None) -> str:
    """An MSE (already times 10^3) as LaTeX math with its unit: `$8.53 \\times 10^{-3}$`, or
    with its spread over seeds, `$(8.53 \\pm 0.12) \\times 10^{-3}$`."""
    text = signed(value, 2) if value < 0 else f"{value:.2f}"
    if std is not None:
        text = f"({text} \\pm {std:.2f})"
    return f"${text} \\times 10^{{-3}}$"


def scaled_interval(low: float, high: float, sign: bool = False) -> str:
    """An interval of MSEs (times 10^3): `$[8.41, 8.65] \\times 10^{-3}$`."""
    a, b = (signed(x, 2) if sign else f"{x:.2f}" for x in (low, high))
    return f"$[{a}, {b}] \\times 10^{{-3}}$"


def is_autoencoder(v: Variant) -> bool:
    """Whether the run `v` trains an autoencoder (else a classifier on its encoder)."""
    return v.hparams.get("model", "mlp") == AUTOENCODER


def per_image_errors(paths: list[str]) -> dict[tuple[str, int], np.ndarray]:
    """Each autoencoder run's per-image validation MSE, keyed by (variant, seed), from the
    predictions files (a classifier's have no `mse`: left out)."""
    out = {}
    for path in paths:
        frame = pd.read_parquet(verified(path))
        if "mse" in frame.columns:
            out[Layout.run_of(path)] = frame["mse"].to_numpy(dtype=np.float64)
    return out


def mse_comparisons(runs: pd.DataFrame, errors: dict[tuple[str, int], np.ndarray],
                    pairs: dict[str, str]) -> dict[str, Comparison]:
    """Compare each autoencoder of `pairs` (run -> its reference) with its reference's final
    validation MSE as one family, corrected with Holm's procedure: over seeds and images when
    every run has two seeds or more, else paired over the images both reconstructed with their
    first common seed."""
    ok = runs[runs["status"] != "diverged"]
    seeds = {v: sorted(int(s) for s in ok.loc[ok["variant"] == v, "seed"])
             for v in {*pairs, *pairs.values()}}
    if all(len(s) > 1 for s in seeds.values()):
        per_image = pd.DataFrame({f"{v}/seed{s}": errors[v, s] for v in seeds for s in seeds[v]})
        return family(runs, list(pairs), pairs, "final_val_loss", per_image)
    effects = {}
    for v, ref in pairs.items():
        seed = min(set(seeds[v]) & set(seeds[ref]))
        effects[v] = paired_effect(errors[v, seed], errors[ref, seed])
    return holm(effects, pairs, method=PAIRED)


def accuracy_comparisons(runs: pd.DataFrame, pairs: dict[str, str],
                         n_val: int) -> dict[str, Comparison]:
    """Compare each classifier of `pairs` with its reference: with several seeds as one family
    over seeds corrected with Holm's procedure; with one, by their Wilson intervals."""
    ok = runs[runs["status"] != "diverged"]
    if not pairs or ok.groupby("variant").size().min() < 2:
        return {v: compare(runs, v, ref, "final_val_accuracy", n_val) for v, ref in pairs.items()}
    return family(runs, list(pairs), pairs, "final_val_accuracy", bounds=ACCURACY_BOUNDS)


def autoencoder_entry(v: Variant, s: pd.Series, errors: dict, runs: pd.DataFrame) -> dict:
    """One autoencoder run's numbers for the report: MSE (times 10^3) with its spread over
    seeds, or its interval over the images with one seed; its lowest MSE and when."""
    n = int(s["n_seeds"])
    entry = {"mse": MSE_SCALE * s["final_val_loss_mean"],
             "mse_std": MSE_SCALE * s["final_val_loss_std"] if n > 1 else None,
             "min_mse": MSE_SCALE * s["min_val_loss_mean"],
             "min_epoch": None if pd.isna(s["min_val_loss_epoch_mean"])
             else int(round(s["min_val_loss_epoch_mean"]))}
    entry["mse_text"] = scaled(entry["mse"], entry["mse_std"])
    if n == 1 and not s["diverged"]:
        seed = int(runs.loc[runs["variant"] == v.name, "seed"].iloc[0])
        low, high = mean_interval(errors[v.name, seed])
        entry.update(mse_low=MSE_SCALE * low, mse_high=MSE_SCALE * high,
                     mse_interval=scaled_interval(MSE_SCALE * low, MSE_SCALE * high))
    return entry


def classifier_entry(s: pd.Series, n_val: int) -> dict:
    """A classifier's numbers: final accuracy (%) with its spread over seeds, or its Wilson
    interval with one seed, and its final loss."""
    n = int(s["n_seeds"])
    entry = {"accuracy": 100 * s["final_val_accuracy_mean"],
             "accuracy_std": 100 * s["final_val_accuracy_std"] if n > 1 else None,
             "loss": s["final_val_loss_mean"]}
    if n == 1 and not s["diverged"]:
        low, high = accuracy_interval(s["final_val_accuracy_mean"], n_val)
        entry.update(accuracy_low=100 * low, accuracy_high=100 * high)
    return entry


def with_comparison(entry: dict, c: Comparison, scale: float, reference: float) -> None:
    """Give a run's entry its difference with its reference (`delta`, in the entry's units),
    the interval when the method gives one, the relative change (%) and whether the evidence
    resolves it."""
    entry.update(delta=scale * c.difference, resolved=c.resolved, method=c.method,
                 relative=100 * scale * c.difference / reference if reference else math.nan)
    if not math.isnan(c.low):
        entry.update(delta_low=scale * c.low, delta_high=scale * c.high)
        if reference:
            entry.update(relative_low=100 * c.low / reference * scale,
                         relative_high=100 * c.high / reference * scale)
    if entry["autoencoder"]:  # in the MSE's unit, for the prose
        entry["delta_text"] = f"${signed(entry['delta'], 2)} \\times 10^{{-3}}$"
        if "delta_low" in entry:
            entry["delta_interval"] = scaled_interval(entry["delta_low"], entry["delta_high"],
                                                      sign=True)


def run_entries(variants: list[Variant], summary: pd.DataFrame, runs: pd.DataFrame,
                run_configs: list[dict], errors: dict, n_val: int) -> list[dict]:
    """One entry per run: label, phrase, its task's numbers, its comparison with its reference
    (the base, or its experiment's own base run), parameters and time."""
    stats = summary.set_index("variant")
    config_of = {r["variant"]: r for r in run_configs}
    by_name: dict[str, dict] = {}
    pairs: dict[str, dict[str, str]] = {"mse": {}, "accuracy": {}}  # run -> its reference
    seconds = runs.groupby("variant")["train_seconds"].apply(list)
    for v in variants:
        s = stats.loc[v.name]
        entry = {"name": v.name, "label": run_label(v), "experiment": v.experiment,
                 "reference": v.reference, "knob": v.knob,
                 "phrase": variant_phrase(v.knob, v.value) if v.knob else run_label(v),
                 "autoencoder": is_autoencoder(v), "diverged": bool(s["diverged"]),
                 "seconds": float(s["train_seconds_mean"]),
                 "epochs_run": int(s["epochs_run_mean"]),
                 "parameters": int(config_of[v.name]["parameters"]),
                 "hparams": v.hparams}
        if entry["autoencoder"]:
            entry.update(autoencoder_entry(v, s, errors, runs))
        else:
            entry.update(classifier_entry(s, n_val))
            entry["frozen"] = bool(v.hparams.get("freeze", True))
        ref = by_name.get(v.reference or "")
        if ref is not None and not entry["diverged"] and not ref["diverged"]:
            pairs["mse" if entry["autoencoder"] else "accuracy"][v.name] = ref["name"]
        if ref is not None:
            entry["reference_label"] = ref["label"]
            entry["reference_frozen"] = bool(ref.get("frozen"))
            entry["parameter_ratio"] = entry["parameters"] / ref["parameters"]
            entry["time_ratio"] = entry["seconds"] / ref["seconds"] if ref["seconds"] else None
            entry["time_resolved"] = time_differs(seconds.get(v.name, []),
                                                  seconds.get(ref["name"], []))
        by_name[v.name] = entry
    # each task's comparisons are one family, corrected together
    for name, c in mse_comparisons(runs, errors, pairs["mse"]).items():
        with_comparison(by_name[name], c, MSE_SCALE,
                        MSE_SCALE * stats.loc[c.reference, "final_val_loss_mean"])
    for name, c in accuracy_comparisons(runs, pairs["accuracy"], n_val).items():
        with_comparison(by_name[name], c, 100,
                        100 * stats.loc[c.reference, "final_val_accuracy_mean"])
    return list(by_name.values())


def add_trends(context: dict, metrics: pd.DataFrame, n_val: int) -> None:
    """Say which runs have not converged (the validation loss still falls at the end, by the
    fitted trend of the last third of the epochs) and which overfit (it rises)."""
    for run in context["runs"]:
        v = None if run["diverged"] else verdict(metrics[metrics["variant"] == run["name"]],
                                                 n_val)
        run["trend_known"] = v is not None
        run["converged"] = bool(v is None or v.converged)
        run["rising"] = bool(v and v.loss.rising)
    finished = [r for r in context["runs"] if not r["diverged"]]
    context["trends_known"] = any(r["trend_known"] for r in finished)
    context["not_converged"] = [r for r in finished if not r["converged"]]
    context["rising"] = [r for r in finished if r["rising"]]


def confusion_source(predictions: list[str], runs: str) -> tuple[list[str], dict]:
    """The validation predictions of every finished seed of the best classifier on the
    encoder (by mean final validation accuracy), and what the confusion summary says."""
    table = pd.read_parquet(verified(runs))
    return best_on_validation(table[table["final_val_accuracy"].notna()], predictions)


def experiment_entries(config: dict, runs: list[dict], figures: dict[str, str]) -> list[dict]:
    """Table I's experiments with their runs (besides their reference), panel letter and
    figure, and what they vary."""
    panels = panel_letters([e["id"] for e in config["experiments"] if figures.get(e["id"])])
    out = []
    for i, exp in enumerate(config["experiments"], start=1):
        knob = next(iter(exp["vary"])) if exp.get("vary") else None
        own = [r for r in runs if r["experiment"] == exp["id"]]
        reference = next((r for r in runs if r["name"] == (own[-1]["reference"] if own and
                                                           own[-1]["reference"] else "base")),
                         None)
        out.append({"number": i, "id": exp["id"], "knob": knob,
                    "objective": escape(exp.get("objective", "")),
                    "knob_name": knob_name(knob) if knob else None,
                    "panel": panels.get(exp["id"]), "figure": figures.get(exp["id"]),
                    "reference": reference, "own_base": bool(exp.get("base")),
                    "autoencoder": bool(own) and own[0]["autoencoder"],
                    "runs": [r for r in own if r["reference"] is not None]})
    return out


def report_context(config: dict, inputs: dict, runs_table: pd.DataFrame, runs: list[dict],
                   metrics: pd.DataFrame, figures: dict[str, str], provenance: dict) -> dict:
    """The context of an autoencoder study's report from its named workflow inputs."""
    variants = expand_grid(config)
    summary = pd.read_parquet(verified(inputs["summary"]))
    base_run = read_json(inputs["base_run"])
    confusion = read_json(inputs["confusion"]) if "confusion" in inputs else None
    n_val = base_run["normalisation"]["n_val"]
    errors = per_image_errors(inputs["predictions"])
    entries = run_entries(variants, summary, runs_table, runs, errors, n_val)
    with np.load(inputs["data"]) as z:
        classes, n_images = [str(c) for c in z["classes"]], len(z["labels"])
    # what every Table I report says the same way: title, data, model, base, provenance
    stub = {"variant": "base", "accuracy": math.nan, "classes": class_names(classes)}
    shared = build_context(config, [v for v in variants if v.name == "base"],
                           summary[summary["variant"] == "base"], base_run, stub, {}, provenance)
    n_seeds = len(config["seeds"])
    autoencoders = [r for r in entries if r["autoencoder"]]
    classifiers = [r for r in entries if not r["autoencoder"]]
    by_name = {r["name"]: r for r in entries}
    context = {
        **shared,
        "runs": entries,
        "autoencoders": autoencoders,
        "classifiers": classifiers,
        "experiments": experiment_entries(config, entries, figures),
        "base_result": by_name["base"],
        "statistics": {"confidence": round(100 * CONFIDENCE), "n_seeds": n_seeds,
                       "method": WELCH if n_seeds > 1 else PAIRED, "binomial": BINOMIAL,
                       "n_val": n_val, "correction": HOLM,
                       "comparisons": sum(r.get("resolved") is not None for r in autoencoders)},
        "model_sources": model_sources({v.hparams.get("model", "mlp") for v in variants}),
        "provenance": provenance_context(provenance),
        "test": None,  # reported on validation only (the checks refuse a test split)
        "noisy": [r for r in autoencoders if (r["hparams"].get("sigma") or 0) > 0],
    }
    if confusion is not None:
        context["best"] = {**confusion_words(confusion), **by_name[confusion["variant"]]}
    # the code sizes tried, in order: what the bottleneck costs in reconstruction error
    sizes = [r for r in autoencoders if (r["name"] == "base" or r["knob"] == "bottleneck")
             and not r["diverged"]]
    context["sizes"] = sorted(sizes, key=lambda r: r["hparams"]["bottleneck"])
    add_trends(context, metrics, n_val)
    context["gradients"] = gradient_steps(runs, {v.name: run_label(v) for v in variants})
    context["n_images"] = n_images
    return context
