import pandas as pd

from nnreport.config.grid import expand_grid
from nnreport.reporting.tables import experiments_table, results_table


def test_table_one_matches_the_reference_layout(default_config):
    rows = experiments_table(default_config).splitlines()
    assert rows[2] == (r"Experimento n\textsuperscript{o} & $n_1$ & $n_2$ & $p$ & Optimizador & "
                       r"Mini-batch & Tasa de aprendizaje & Objetivo \\")
    assert r"1 & 128 & 64 & 0.2 & Adam & 256 & $10^{-3}$ & Experimento base. \\" in rows
    assert r"2 & 64, 256 & 64 & 0.2 & Adam & 256 & $10^{-3}$ & Variar $n_1$. \\" in rows
    assert r"4 & 128 & 64 & 0.0, 0.5 & Adam & 256 & $10^{-3}$ & Variar $p$. \\" in rows
    assert r"5 & 128 & 64 & 0.2 & SGD & 256 & $10^{-3}$ & Cambiar el optimizador. \\" in rows
    assert (r"7 & 128 & 64 & 0.2 & Adam & 256 & $10^{-2}$, $10^{-4}$ & Variar la tasa de "
            r"aprendizaje. \\") in rows


def _summary(variants, n_seeds=1):
    return pd.DataFrame([{
        "variant": v.name, "experiment": v.experiment, "n_seeds": n_seeds,
        "final_val_accuracy_mean": 0.9, "final_val_accuracy_std": 0.01,
        "best_val_accuracy_mean": 0.91, "best_val_accuracy_std": 0.01,
        "best_epoch_mean": 12.0, "best_epoch_std": 1.0, "final_val_loss_mean": 0.3,
        "final_val_loss_std": 0.01, "min_val_loss_mean": 0.29, "min_val_loss_std": 0.01,
        "train_seconds_mean": 20.0, "train_seconds_std": 1.0, "min_val_loss_epoch_mean": 9.0,
        "min_val_loss_epoch_std": 1.0, "epochs_run_mean": 30.0, "epochs_run_std": 0.0,
        "diverged": v.name == "lr~0.01", "diverged_epoch": 4 if v.name == "lr~0.01" else None,
    } for v in variants])


def test_results_table_has_one_row_per_run_with_labels(default_config):
    variants = expand_grid(default_config)
    text = results_table(_summary(variants), variants, default_config)
    assert r"1 & base & 90.00 & --- & 0.300 & --- & 0.290 & 20.0 \\" in text
    assert r"2 & $n_1$~=~256 & 90.00 & $0.00$ & 0.300" in text  # one seed: no interval
    assert (r"7 & tasa de aprendizaje~=~$10^{-2}$ & \multicolumn{5}{c}{divergió en la época 4} & "
            r"20.0 \\") in text
    assert sum(line.endswith(r"\\") for line in text.splitlines()) == 12 + 2  # two header rows


def test_results_table_shows_mean_and_std_over_seeds(default_config):
    variants = expand_grid(default_config)
    text = results_table(_summary(variants, n_seeds=3), variants, default_config)
    assert r"$90.00 \pm 1.00$" in text


def test_class_counts_table_counts_each_split():
    import numpy as np

    from nnreport.reporting.tables import class_counts_table

    labels = np.array([0, 0, 1, 2, 2, 2])
    text = class_counts_table(labels, {"Entrenamiento": np.array([0, 1, 3]),
                                       "Validación": np.array([4, 5])}, ["a_b", "b", "c"])
    assert r"a\_b & 2 & 0 & 2 \\" in text
    assert r"b & 0 & 0 & 0 \\" in text and r"c & 1 & 2 & 3 \\" in text
    assert r"Total & 3 & 2 & 5 \\" in text


def test_architecture_table_lists_layers_from_the_model():
    from nnreport.models.registry import build_model, describe
    from nnreport.reporting.tables import architecture_table

    model = build_model({"model": "mlp", "n1": 128, "n2": 64, "p": 0.2}, 784, 10)
    text = architecture_table(describe(model, (28, 28)))
    assert r"Lineal 784$\to$128 & 128 & 100\,480 \\" in text
    assert r"Dropout ($p$ = 0.2) & 128 & 0 \\" in text
    assert r"Total & & 109\,386 \\" in text


def test_results_table_prints_the_corrected_differences_from_the_base(default_config):
    from nnreport.evaluation.comparisons import WELCH, Comparison

    variants = expand_grid(default_config)
    summary = _summary(variants, n_seeds=3)
    summary.loc[summary["variant"] == "n1~256", "final_val_accuracy_mean"] = 0.905
    up = Comparison("n1~256", "base", 0.005, 0.001, 0.009, WELCH, True)
    same = Comparison("n1~256", "base", 0.01, -0.02, 0.04, WELCH, False)
    text = results_table(summary, variants, default_config, ({"n1~256": up}, {"n1~256": same}))
    # resolved: bold, with its interval beneath; not resolved: plain, with its interval
    assert r"\vtop{\halign{\hfil#\hfil\cr$\mathbf{+0.50}$\cr$[+0.10, +0.90]$\cr}}" in text
    assert r"\vtop{\halign{\hfil#\hfil\cr$+0.010$\cr$[-0.020, +0.040]$\cr}}" in text
