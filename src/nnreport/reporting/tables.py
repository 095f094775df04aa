"""LaTeX tables of the report: Table I (the experiments) and the results table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nnreport.base.texescape import escape
from nnreport.base.usercode import is_user_model
from nnreport.config.grid import Variant, base_experiment
from nnreport.reporting.labels import (
    class_names,
    format_value,
    knob_header,
    knob_name,
    plus_minus,
    signed,
    thousands,
    variant_label,
)
from nnreport.reporting.words import entry, word

# the family, what it learns and its back-end: the Models section says
NOT_A_COLUMN = {"model", "task", "backend"}
MAX_KNOB_COLUMNS = 6  # what fits a page-wide Table I beside its objectives (the reference's 6)


def table_knobs(config: dict) -> list[str]:
    """Return the hyper-parameters shown as Table I columns, in the base's order: all of them
    when they fit (MAX_KNOB_COLUMNS), else those some experiment varies (`fixed_knobs` are the
    others, which the caption states)."""
    knobs = [k for k in config["base"] if k not in NOT_A_COLUMN]
    if len(knobs) <= MAX_KNOB_COLUMNS:
        return knobs
    varied = {k for e in config["experiments"] for k in (e.get("vary") or {})}
    return [k for k in knobs if k in varied]


def fixed_knobs(config: dict) -> list[str]:
    """Return the base's hyper-parameters that are no Table I column (the same in every run)."""
    shown = set(table_knobs(config))
    return [k for k in config["base"] if k not in NOT_A_COLUMN and k not in shown]


def experiments_table(config: dict) -> str:
    """Return Table I's tabular: one row per experiment, varied values comma-separated."""
    knobs = table_knobs(config)
    base = config["base"]
    header = [word("tables.experiment_number"), *map(knob_header, knobs),
              word("tables.objective")]
    lines = [
        # the objectives wrap ragged right (the array package's >{...} column)
        r"\begin{tabular}{c" + "c" * len(knobs)
        + r">{\raggedright\arraybackslash}p{0.25\textwidth}}",
        r"\hline\hline",
        " & ".join(header) + r" \\",
        r"\hline",
    ]
    base_experiment(config)  # raises if the base experiment is missing or ambiguous
    for i, exp in enumerate(config["experiments"], start=1):
        vary = exp.get("vary") or {}
        reference = exp.get("base") or base  # an experiment's own base run (another family)
        cells = [str(i)]
        for knob in knobs:
            if knob not in vary and knob not in reference:
                cells.append("---")  # a knob its family does not have
                continue
            values = vary.get(knob, [reference.get(knob)])
            cells.append(", ".join(format_value(knob, v) for v in values))
        objective = escape(exp.get("objective", ""))
        # what it varies that is no column: its own base's value, then the varied ones
        others = [f"{knob_name(k)} = " + ", ".join(format_value(k, v)
                                                   for v in [reference[k], *values])
                  for k, values in vary.items() if k not in knobs]
        cells.append(objective + (f" ({'; '.join(others)})" if others else ""))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def header_rows(key: str) -> list[str]:
    """The header line(s) of a table from the words catalogue: a list of column names is one
    row; a list of two such lists is two rows (a long name over two lines, aligned to the
    bottom as every other name)."""
    names = entry(key)
    rows = names if names and isinstance(names[0], list) else [names]
    return [" & ".join(row) + r" \\" for row in rows]


def _pm(mean: float, std: float, n: int, fmt: str) -> str:
    return plus_minus(mean, std, fmt) if n > 1 else format(mean, fmt)


def _delta(difference: float, comparison, scale: float, digits: int) -> str:
    """A difference from the base as Table II prints it, times `scale`: the comparison's when
    there is one, bold when its correction resolves it, with its corrected interval beneath."""
    if comparison is None or math.isnan(comparison.low):
        return f"${signed(scale * difference, digits)}$"
    text = signed(scale * comparison.difference, digits)
    number = rf"\mathbf{{{text}}}" if comparison.resolved else text
    low, high = (signed(scale * x, digits) for x in (comparison.low, comparison.high))
    # two centred lines on the row's baseline, in a box (\vtop), not a nested tabular:
    # revtex's ruledtabular widens every tabular inside it to the page
    return rf"\vtop{{\halign{{\hfil#\hfil\cr${number}$\cr$[{low}, {high}]$\cr}}}}"


def results_table(summary: pd.DataFrame, variants: list[Variant], config: dict,
                  effects: tuple[dict, dict] | None = None) -> str:
    """Return the results tabular: the final validation accuracy and loss, their difference from
    the base (`effects`: the corrected families of accuracy and loss, variant -> Comparison,
    with several seeds: their intervals), the lowest validation loss and the time of every run
    (not the best accuracy over the epochs: a maximum over noisy epochs, chosen on the images
    it is measured on, flatters every run)."""
    exp_number = {e["id"]: i for i, e in enumerate(config["experiments"], start=1)}
    by_name = {v.name: v for v in variants}
    accuracy, loss = effects or ({}, {})
    stats = summary.set_index("variant")
    base = stats.loc["base"] if "base" in stats.index and not stats.loc["base", "diverged"] \
        else None
    lines = [r"\begin{tabular}{clcccccc}", r"\hline\hline", *header_rows("tables.results"),
             r"\hline"]
    for row in summary.itertuples(index=False):
        v = by_name[row.variant]
        n = int(row.n_seeds)
        label = variant_label(v.knob, v.value)
        if row.diverged:  # its numbers are meaningless: say so instead
            diverged = word("tables.diverged_at", epoch=int(row.diverged_epoch))
            cells = [str(exp_number[v.experiment]), label,
                     rf"\multicolumn{{5}}{{c}}{{{diverged}}}",
                     _pm(row.train_seconds_mean, row.train_seconds_std, n, ".1f")]
            lines.append(" & ".join(cells) + r" \\")
            continue
        if base is None or row.variant == "base":
            d_acc = d_loss = "---"
        else:
            d_acc = _delta(row.final_val_accuracy_mean - base.final_val_accuracy_mean,
                           accuracy.get(row.variant), 100, 2)
            d_loss = _delta(row.final_val_loss_mean - base.final_val_loss_mean,
                            loss.get(row.variant), 1, 3)
        cells = [
            str(exp_number[v.experiment]),
            label,
            _pm(100 * row.final_val_accuracy_mean, 100 * row.final_val_accuracy_std, n, ".2f"),
            d_acc,
            _pm(row.final_val_loss_mean, row.final_val_loss_std, n, ".3f"),
            d_loss,
            _pm(row.min_val_loss_mean, row.min_val_loss_std, n, ".3f"),
            _pm(row.train_seconds_mean, row.train_seconds_std, n, ".1f"),
        ]
        # an interval beneath a difference: room before the next row
        lines.append(" & ".join(cells) + (r" \\[3pt]" if r"\vtop" in d_acc + d_loss
                                          else r" \\"))
    lines += [r"\hline\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def class_counts_table(labels: np.ndarray, splits: dict[str, np.ndarray],
                       classes: list[str]) -> str:
    """Return a tabular of image counts per class (rows) and split (columns), with totals.

    `splits` maps each split (`train`, `val` or `dev`, `test`, or a name of the caller's) to its
    image indices."""
    columns = entry("split_columns")
    counts = {name: np.bincount(labels[idx], minlength=len(classes))
              for name, idx in splits.items()}
    lines = [r"\begin{tabular}{l" + "r" * (len(splits) + 1) + "}", r"\hline\hline",
             " & ".join([word("tables.class"), *(columns.get(s, s) for s in splits),
                         word("tables.total")]) + r" \\",
             r"\hline"]
    for c, name in enumerate(class_names(classes)):
        row = [int(counts[s][c]) for s in splits]
        lines.append(" & ".join([escape(name), *map(thousands, row), thousands(sum(row))])
                     + r" \\")
    totals = [int(counts[s].sum()) for s in splits]
    lines += [r"\hline",
              " & ".join([word("tables.total"), *map(thousands, totals), thousands(sum(totals))])
              + r" \\",
              r"\hline\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def layer_name(layer: dict) -> str:
    """Return a layer's name for the architecture table: `Lineal 784$\\to$128`, `Aplanado`."""
    kind, s = layer["layer"], layer["settings"]
    if kind == "Linear":
        return word("tables.linear_layer", n_in=s["in_features"], n_out=s["out_features"])
    if kind == "Dropout":
        return f"Dropout ($p$ = {s['p']:g})"
    if kind == "Flatten":
        return word("tables.flatten")
    if kind.startswith("BatchNorm"):
        return f"BatchNorm ({s['num_features']})"
    if kind in ("Conv2d", "ConvTranspose2d"):
        key = "conv_layer" if kind == "Conv2d" else "transposed_conv_layer"
        return word(f"tables.{key}", c_in=s["in_channels"], c_out=s["out_channels"],
                    k=s["kernel_size"][0])
    if kind == "MaxPool2d":
        return word("tables.pool_layer", k=s["kernel_size"])
    if kind in ("Unflatten", "Sigmoid"):
        return word(f"tables.{kind.lower()}")
    return escape(kind)


def architecture_table(layers: list[dict]) -> str:
    """Return a tabular of a model's layers: name, output shape and parameter count."""
    lines = [r"\begin{tabular}{lcr}", r"\hline\hline",
             " & ".join(entry("tables.architecture")) + r" \\", r"\hline"]
    for layer in layers:
        shape = r" $\times$ ".join(str(d) for d in layer["shape"])
        lines.append(f"{layer_name(layer)} & {shape} & {thousands(layer['params'])} \\\\")
    total = sum(layer["params"] for layer in layers)
    lines += [r"\hline", f"{word('tables.total')} & & {thousands(total)} \\\\", r"\hline\hline",
              r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def parameters_table(names: list[str], shapes: list[tuple[int, ...]]) -> str:
    """Return a tabular of a from-scratch model's parameters: name (code font), shape, size."""
    lines = [r"\begin{tabular}{lcr}", r"\hline\hline",
             " & ".join(entry("tables.scratch_parameters")) + r" \\", r"\hline"]
    sizes = [math.prod(shape) for shape in shapes]
    for name, shape, size in zip(names, shapes, sizes, strict=True):
        dims = r" $\times$ ".join(str(d) for d in shape)
        lines.append(f"\\texttt{{{escape(name)}}} & {dims} & {thousands(size)} \\\\")
    lines += [r"\hline", f"{word('tables.total')} & & {thousands(sum(sizes))} \\\\",
              r"\hline\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def backend_name(backend: str) -> str:
    """The name of a training back-end in the report: `NumPy (desde cero)`, `PyTorch`."""
    return word(f"backends.{backend}")


def models_table(models: list[dict], selections: list[dict], evaluations: list[dict]) -> str:
    """Return the tabular of final models: implementation, layers, dev and test scores."""
    chosen = {s["model"]: s for s in selections}
    scores = {e["model"]: e for e in evaluations}
    lines = [r"\begin{tabular}{lllcccc}", r"\hline\hline",
             r" & & & \multicolumn{2}{c}{" + word("split_columns.dev") + r"} & \multicolumn{2}{c}{"
             + word("split_columns.test") + r"} \\",
             *header_rows("tables.models"), r"\hline"]
    for m in models:
        e, hp = scores[m["id"]], chosen[m["id"]]["hparams"]
        hidden = hp.get("hidden") or [hp.get("n1"), hp.get("n2")]
        # a user's class: its name stands for its layers (the Models section lists them)
        layers = (format_value("model", hp["model"]) if is_user_model(hp.get("model"))
                  else format_value("hidden", hidden))
        cells = [escape(m["id"]), backend_name(m.get("backend", "torch")), layers,
                 *(_pm(scale * e[f"{split}_{metric}"], scale * e[f"{split}_{metric}_std"],
                       e["n_seeds"], fmt)
                   for split in ("dev", "test")
                   for metric, scale, fmt in (("accuracy", 100, ".2f"), ("loss", 1, ".4f")))]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def search_table(models: list[dict], selections: list[dict], runs: list[dict]) -> str:
    """Return the tabular of every searched model's candidates, the chosen one marked."""
    chosen = {s["model"]: s["variant"] for s in selections}
    # the candidates' changes wrap in their column (the array package's >{...} column)
    lines = [r"\begin{tabular}{l>{\raggedright\arraybackslash}p{0.5\linewidth}ccc}",
             r"\hline\hline",
             *header_rows("tables.search"), r"\hline"]
    for m in models:
        own = [r for r in runs if r["experiment"] == m["id"]]
        if len({r["variant"] for r in own}) < 2:
            continue
        frame = pd.DataFrame([{"variant": r["variant"], "acc": r["val_accuracy"],
                               "epoch": r.get("best_epoch") or 0,
                               "changes": r.get("overrides") or {}} for r in own])
        for name, g in frame.groupby("variant", sort=False):
            changes = ", ".join(variant_label(k, v) for k, v in g["changes"].iloc[0].items())
            cells = [escape(m["id"]), f"{escape(name)}: {changes or word('no_changes')}",
                     _pm(100 * g["acc"].mean(), 100 * g["acc"].std(), len(g), ".2f"),
                     f"{g['epoch'].mean():.0f}",
                     word("affirmative") if chosen.get(m["id"]) == name else ""]
            lines.append(" & ".join(cells) + r" \\")
        lines.append(r"\hline")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


MSE_SCALE = 1e3  # an autoencoder's MSE is printed times 10^3 (pixels in [0, 1]: about 0.01)


def autoencoder_results_table(summary: pd.DataFrame, variants: list[Variant], config: dict,
                              labels: dict[str, str]) -> str:
    """Return an autoencoder study's results tabular: each autoencoder's final and lowest
    validation MSE (times 10^3), the epoch of the lowest, its parameters and its time."""
    return _task_table(summary, variants, config, labels, "tables.autoencoder_results",
                       autoencoders=True)


def classifiers_table(summary: pd.DataFrame, variants: list[Variant], config: dict,
                      labels: dict[str, str]) -> str:
    """Return the tabular of an autoencoder study's classifiers (on its encoder): final
    validation accuracy, trainable parameters and time (one column of the page wide)."""
    return _task_table(summary, variants, config, labels, "tables.classifier_results",
                       autoencoders=False)


def _task_table(summary: pd.DataFrame, variants: list[Variant], config: dict,
                labels: dict[str, str], header: str, autoencoders: bool) -> str:
    exp_number = {e["id"]: i for i, e in enumerate(config["experiments"], start=1)}
    by_name = {v.name: v for v in variants}
    # a page-wide table for the autoencoders; the classifiers' fits a column (no Exp. column:
    # they are one experiment's runs)
    spec = "clccccc" if autoencoders else "lccc"
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\hline\hline", *header_rows(header), r"\hline"]
    for row in summary.itertuples(index=False):
        v = by_name[row.variant]
        if (v.hparams.get("model") == "conv_autoencoder") != autoencoders:
            continue
        n = int(row.n_seeds)
        cells = [str(exp_number[v.experiment]), labels[v.name]] if autoencoders else [
            labels[v.name]]
        if row.diverged:
            diverged = word("tables.diverged_at", epoch=int(row.diverged_epoch))
            cells.append(rf"\multicolumn{{{3 if autoencoders else 2}}}{{c}}{{{diverged}}}")
        elif autoencoders:
            cells += [_pm(MSE_SCALE * row.final_val_loss_mean, MSE_SCALE * row.final_val_loss_std,
                          n, ".2f"),
                      _pm(MSE_SCALE * row.min_val_loss_mean, MSE_SCALE * row.min_val_loss_std,
                          n, ".2f"),
                      f"{row.min_val_loss_epoch_mean:.0f}"]
        else:
            cells += [_pm(100 * row.final_val_accuracy_mean, 100 * row.final_val_accuracy_std, n,
                          ".2f"),
                      thousands(int(row.parameters)) if row.parameters == row.parameters
                      else "---"]
        if autoencoders:
            cells.append(thousands(int(row.parameters)) if row.parameters == row.parameters
                         else "---")
        cells.append(_pm(row.train_seconds_mean, row.train_seconds_std, n, ".1f"))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
