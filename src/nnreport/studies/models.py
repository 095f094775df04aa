"""A model study at run time: the model its confusion matrix shows and its report's context
(M0, M1, ... and their robustness to noise)."""

from __future__ import annotations

import inspect

import pandas as pd

from nnreport.base.integrity import verified
from nnreport.base.io import read_json
from nnreport.base.texescape import escape
from nnreport.base.usercode import is_user_model
from nnreport.config.grid import candidates, expand_grid
from nnreport.config.layout import Layout
from nnreport.evaluation.comparisons import (
    ACCURACY_BOUNDS,
    CONFIDENCE,
    HOLM,
    PAIRED,
    WELCH,
    accuracy_interval,
    best_group,
    family,
)
from nnreport.evaluation.statistics import over_seeds
from nnreport.models import scratch as scratch_layers
from nnreport.reporting.context import (
    confusion_words,
    dataset_context,
    gradient_steps,
    model_sources,
    provenance_context,
    report_metadata,
    user_model,
)
from nnreport.reporting.labels import format_value, run_label
from nnreport.reporting.tables import backend_name
from nnreport.training.history import TRAIN_EVAL_IMAGES


def noise_drops(noise: pd.DataFrame) -> pd.Series:
    """Per seed, the accuracy lost from the smallest to the largest noise level (one model)."""
    by_sigma = noise.pivot_table(index="seed", columns="sigma", values="accuracy")
    return by_sigma[by_sigma.columns.min()] - by_sigma[by_sigma.columns.max()]


def uncertainty(evaluation: dict) -> dict:
    """A final model's spread over seeds (None with one seed) and the Wilson interval of its
    dev and test accuracies, in percent."""
    n_seeds = evaluation["n_seeds"]
    out: dict = {"n_seeds": n_seeds}
    for split in ("dev", "test"):
        acc = evaluation[f"{split}_accuracy"]
        out[f"{split}_accuracy_std"] = (100 * evaluation[f"{split}_accuracy_std"] if n_seeds > 1
                                        else None)
        low, high = accuracy_interval(acc, evaluation[f"n_{split}"])
        out[f"{split}_low"], out[f"{split}_high"] = 100 * low, 100 * high
    return out


def seed_scores(evaluations: list[dict]) -> pd.DataFrame:
    """One row per final model and seed (variant: the model) with its dev and test scores,
    shaped for evaluation/comparisons.py."""
    rows = []
    for e in evaluations:
        per_seed = e.get("per_seed")
        if per_seed is None and e["n_seeds"] == 1:  # written before per-seed scores were kept
            per_seed = [{k: e[k] for k in ("dev_accuracy", "test_accuracy")}]
        if per_seed is None:
            raise ValueError(f"the final evaluation of {e['model']} predates per-seed scores; "
                             f"rerun it: snakemake --forcerun evaluate_model")
        rows += [{"variant": e["model"], "status": "completed", **r} for r in per_seed]
    return pd.DataFrame(rows)


def per_image_correct(dev_correct: list[str], test_predictions: list[str]
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each final model's correctness (0 or 1) on each dev and each test image, one column per
    model and seed (`<model>/seed<k>`, as evaluation/comparisons.py pairs them), the images in
    the same order for every model."""
    dev = pd.concat([pd.read_parquet(verified(p)).add_prefix(f"{Layout.model_of(p)}/")
                     for p in dev_correct], axis=1)
    test = {}
    for p in test_predictions:
        model, preds = Layout.model_of(p), pd.read_parquet(verified(p))
        for seed, rows in preds.groupby("seed", sort=True):
            test[f"{model}/seed{int(seed)}"] = (rows["true"] == rows["pred"]).to_numpy(int)
    return dev, pd.DataFrame(test)


def add_model_comparisons(context: dict, config: dict, evaluations: list[dict],
                          dev: pd.DataFrame, test: pd.DataFrame) -> None:
    """Name the final models the dev evidence cannot tell apart from the best, and compare each
    re-implementation (a model with `from:` on another back-end and nothing else changed)
    with its source on test. Every model is scored on the same dev and test images, so each
    difference is paired image by image (`dev`, `test`: per_image_correct's) and, with several
    seeds, also carries the seeds' spread (Welch's); each set of comparisons is one family
    corrected with Holm's procedure (evaluation/comparisons.py)."""
    frame = seed_scores(evaluations)
    n_seeds = int(frame.groupby("variant").size().min())
    n_dev, n_test = evaluations[0]["n_dev"], evaluations[0]["n_test"]
    context["statistics"] = {"confidence": round(100 * CONFIDENCE), "n_seeds": n_seeds,
                             "n_dev": n_dev, "n_test": n_test, "correction": HOLM,
                             "method": WELCH if n_seeds > 1 else PAIRED, "images": True}
    best = context["best"]["id"]
    context["best_group"] = [context["by_id"][m] for m in
                             best_group(frame, best, "dev_accuracy", n_dev, per_image=dev)
                             if m != best]
    context["statistics"]["best_comparisons"] = len(context["models"]) - 1
    # the models whose loss of accuracy under noise the seeds cannot tell from the most
    # robust's (Welch over seeds; one seed measures no variation between initialisations)
    robust = context["most_robust"]["id"]
    drops = pd.DataFrame([{"variant": e["id"], "status": "completed", "drop": d}
                          for e in context["models"] for d in e["noise_drops"]])
    context["robust_group"] = ([context["by_id"][m] for m in best_group(drops, robust, "drop")
                                if m != robust] if n_seeds > 1 else None)
    declared = {m["id"]: m for m in config["models"]}
    sources = {m["id"]: m["from"] for m in config["models"]
               if (source := declared.get(m.get("from", ""))) is not None
               and not m.get("search") and not m.get("hparams")
               and m.get("backend", "torch") != source.get("backend", "torch")}
    found = family(frame, list(sources), sources, "test_accuracy", test,
                   bounds=ACCURACY_BOUNDS) if sources else {}
    context["statistics"]["reimplementation_comparisons"] = len(found)
    context["reimplementations"] = []
    for m, source in sources.items():
        c = found[m]
        context["reimplementations"].append({
            "id": m, "source": source, "difference": 100 * c.difference,
            "low": 100 * c.low, "high": 100 * c.high, "resolved": c.resolved,
            "p_adjusted": c.p_adjusted, "confidence": 100 * c.confidence, "method": c.method,
            "backend": context["by_id"][m]["backend"],
            "source_backend": context["by_id"][source]["backend"],
            "source_candidates": context["by_id"][source]["n_candidates"]})


def build_models_context(config: dict, variants: list, selections: list[dict],
                         evaluations: list[dict], noise: pd.DataFrame, runs: list[dict],
                         epochs_run: dict[str, int], confusion: dict, figures: dict[str, str],
                         provenance: dict) -> dict:
    """Return everything the model study's template and prose may use, ready for LaTeX."""
    rep = config.get("report", {})
    chosen = {s["model"]: s for s in selections}
    scores = {e["model"]: e for e in evaluations}
    by_variant = {r["variant"]: r for r in runs}
    label = {v.name: run_label(v) for v in variants}
    sigmas = sorted(noise["sigma"].unique())
    entries = []
    for m in config["models"]:
        sel, ev = chosen[m["id"]], scores[m["id"]]
        run, hp = by_variant[sel["variant"]], sel["hparams"]
        own = noise[noise["model"] == m["id"]]
        curve = over_seeds(own, "sigma", ["accuracy"]).sort_index()
        drops = noise_drops(own)
        entries.append({
            "id": m["id"], "description": escape(m.get("description", "")),
            "backend": backend_name(m.get("backend", "torch")), "source": m.get("from"),
            "variant": sel["variant"], "label": label[sel["variant"]],
            "n_candidates": len(sel["candidates"]), "figure": figures.get(m["id"]),
            "hidden": format_value("hidden", hp.get("hidden") or [hp.get("n1"), hp.get("n2")]),
            # a class of the user's own file: its name, file, arguments (None for ours)
            "user": user_model({**hp, "backend": m.get("backend", "torch")}, run),
            "optimizer": format_value("optimizer", hp["optimizer"]),
            "lr": format_value("lr", hp["lr"]), "batch_size": hp["batch_size"],
            "schedule": format_value("lr_schedule", hp.get("lr_schedule") or "constant"),
            "activation": format_value("activation", hp.get("activation", "relu")),
            "parameters": run["parameters"], "best_epoch": run.get("best_epoch"),
            "epochs_run": epochs_run.get(sel["variant"]),
            "dev_accuracy": 100 * ev["dev_accuracy"], "dev_loss": ev["dev_loss"],
            "test_accuracy": 100 * ev["test_accuracy"], "test_loss": ev["test_loss"],
            **uncertainty(ev),
            "noise": [{"sigma": s, "accuracy": 100 * curve.loc[s, "accuracy_mean"],
                       "accuracy_std": (100 * curve.loc[s, "accuracy_std"]
                                        if len(drops) > 1 else None)} for s in sigmas],
            "noise_drops": drops.tolist(),  # per seed, for the comparison of robustness
            "noise_drop": 100 * drops.mean(),
            "noise_drop_std": 100 * drops.std() if len(drops) > 1 else None,
            "seconds": sum(by_variant[c["variant"]]["train_seconds"]
                           for c in sel["candidates"]),
        })
    best = max(entries, key=lambda e: e["dev_accuracy"])
    robust = min(entries, key=lambda e: e["noise_drop"])
    dataset = config["dataset"]
    first_run = runs[0]
    return {
        "report": report_metadata(rep),
        "dataset": {**dataset_context(dataset),
                    "n_classes": len(confusion["classes"]),
                    "classes": [escape(c) for c in confusion["classes"]],
                    "n_train": first_run["normalisation"]["n_train"],
                    "n_dev": first_run["normalisation"]["n_val"],
                    "n_test": evaluations[0]["n_test"],
                    "mean": first_run["normalisation"]["mean"],
                    "std": first_run["normalisation"]["std"]},
        "epochs": int(config["epochs"]),
        # the training images measured in eval mode each epoch (training/history.py)
        "train_images": min(first_run["normalisation"]["n_train"], TRAIN_EVAL_IMAGES),
        "seeds": list(config.get("seeds", [0])),
        "models": entries,
        "by_id": {e["id"]: e for e in entries},
        "best": {**best, **{k: v for k, v in confusion_words(confusion).items()
                            if k in ("confusion", "easiest", "hardest")}},
        "most_robust": robust,
        "sigmas": [f"{s:g}" for s in sigmas],
        "max_sigma": f"{sigmas[-1]:g}",
        "model_sources": study_sources(config),
        "user_models": [e["id"] for e in entries if e["user"]],
        "provenance": provenance_context(provenance),
    }


def study_sources(config: dict) -> list[dict]:
    """The code of the models a model study trains: our MLP in each back-end some model uses
    (PyTorch, NumPy/CuPy), and each class of the user's own files, as written."""
    by_id = {m["id"]: m for m in config["models"]}

    def family(m: dict, change: dict) -> str:  # a model that starts from another has its model
        own = {**m.get("hparams", {}), **change}.get("model")
        return own or (family(by_id[m["from"]], {}) if m.get("from") in by_id else "mlp")

    used = [(family(m, change), m.get("backend", "torch"))
            for m in config["models"] for change in candidates(m)]
    backends = {b for name, b in used if not is_user_model(name)}
    sources: list[dict] = []
    if "torch" in backends:
        from nnreport.models import mlp as torch_models  # PyTorch: the report job only

        sources.append({"name": "MLP", "key": "PyTorch", "file": None, "helpers": [],
                        "code": inspect.getsource(torch_models.MLP)})
    if "numpy" in backends:
        sources.append({"name": "MLP", "key": "NumPy/CuPy", "file": None, "helpers": [],
                        "code": inspect.getsource(scratch_layers.MLP)})
    return sources + model_sources({name for name, _ in used if is_user_model(name)})


def confusion_source(evaluations: list[str], predictions: list[str]) -> tuple[list[str], dict]:
    """The test predictions (every seed) of the final model with the best dev accuracy, and
    what the confusion matrix's summary says about it."""
    best = max((read_json(p) for p in evaluations), key=lambda e: e["dev_accuracy"])
    paths = [p for p in predictions if Layout.model_of(p) == best["model"]]
    return paths, {"model": best["model"], "variant": best["variant"], "split": "test",
                  "accuracy": 100 * best["test_accuracy"]}


def report_context(config: dict, inputs: dict, runs_table: pd.DataFrame, runs: list[dict],
                   metrics: pd.DataFrame, figures: dict[str, str], provenance: dict) -> dict:
    """The context of a model study's report from its named workflow inputs."""
    epochs_run = runs_table.groupby("variant")["epochs_run"].max().astype(int).to_dict()
    variants = expand_grid(config)
    evaluations = [read_json(p) for p in inputs["evaluations"]]
    context = build_models_context(
        config, variants, [read_json(p) for p in inputs["selections"]], evaluations,
        pd.concat(pd.read_parquet(verified(p)) for p in inputs["noise"]), runs, epochs_run,
        read_json(inputs["confusion"]), figures, provenance)
    add_model_comparisons(context, config, evaluations,
                          *per_image_correct(inputs["dev_correct"], inputs["test_predictions"]))
    context["gradients"] = gradient_steps(runs, {v.name: run_label(v) for v in variants})
    return context
