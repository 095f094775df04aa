"""The studies layer: what each kind of study builds, and the path layout it names."""

import pytest
import yaml

from conftest import ROOT
from nnreport.config.grid import expand_grid
from nnreport.config.layout import Layout
from nnreport.studies.kinds import ModelStudy, StudyKind, TableStudy, model_ids, study_kind


def _config(name):
    return yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())


def test_the_kind_follows_the_config_and_names_its_template_tables_and_figures():
    table, models = study_kind(_config("tiny")), study_kind(_config("tiny_models"))
    assert isinstance(table, TableStudy) and isinstance(models, ModelStudy)
    assert (table.name, table.template) == ("experiments", "informe")
    assert (models.name, models.template) == ("models", "tp")
    assert "results" in table.tables and "search" in models.tables
    assert "confusion_matrix" in table.figures and "noise_robustness" in models.figures
    for kind in (table, models):  # each template exists beside the others
        assert (ROOT / "report" / "templates" / f"{kind.template}.tex.j2").is_file()


def test_a_table_study_draws_the_base_beside_each_experiments_variants():
    config = _config("tiny")
    variants, kind = expand_grid(config), study_kind(config)
    assert kind.figure_experiments(config, variants) == ["n1", "optimizer"]
    assert kind.experiment_variants(variants, "n1") == ["base", "n1~16", "n1~64"]
    assert model_ids(config) == []


def test_a_model_study_draws_the_candidates_of_each_model_with_a_search():
    config = _config("tiny_models")
    variants, kind = expand_grid(config), study_kind(config)
    assert kind.figure_experiments(config, variants) == ["M1", "M3"]
    assert all(v.startswith("M1") for v in kind.experiment_variants(variants, "M1"))
    assert model_ids(config) == ["M0", "M1", "M2", "M3"]


def test_each_kind_names_the_inputs_of_its_report_and_confusion_matrix():
    layout = Layout("s", "fashion_mnist")
    table = TableStudy().report_inputs({}, layout, ["base", "n1~16"], [0, 1])
    assert table == {"summary": "results/s/summary.parquet",
                     "correct": "results/s/correct.parquet",
                     "base_run": "results/s/runs/base/seed0/run.json",
                     "confusion": "report/build/s/confusion.json"}
    confusion = TableStudy().confusion_inputs({}, layout, ["base", "n1~16"], [0, 1])
    assert confusion["predictions"] == [
        "results/s/runs/base/seed0/predictions.parquet",
        "results/s/runs/base/seed1/predictions.parquet",
        "results/s/runs/n1~16/seed0/predictions.parquet",
        "results/s/runs/n1~16/seed1/predictions.parquet"]
    config = {"models": [{"id": "M0"}, {"id": "M1"}]}
    models = ModelStudy().report_inputs(config, layout, [], [0])
    assert models["selections"] == ["results/s/selection/M0.json", "results/s/selection/M1.json"]
    assert models["noise"] == ["results/s/final/M0/noise.parquet",
                               "results/s/final/M1/noise.parquet"]
    assert ModelStudy().confusion_inputs(config, layout, [], [0])["predictions"][1] == (
        "results/s/final/M1/test_predictions.parquet")


def test_the_layout_names_every_folder_of_a_study():
    layout = Layout("tiny", "emnist")
    assert layout.data_file == "data/tiny/emnist.npz"
    assert (layout.results, layout.runs, layout.build, layout.logs) == (
        "results/tiny", "results/tiny/runs", "report/build/tiny", "logs/tiny")
    assert layout.run_file("p~0.5", 2, "model.pt") == "results/tiny/runs/p~0.5/seed2/model.pt"


def test_every_kind_implements_the_whole_interface():
    interface = [n for n, v in vars(StudyKind).items() if callable(v) and not n.startswith("_")]
    assert interface
    for kind in (TableStudy, ModelStudy):
        assert all(getattr(kind, n) is not getattr(StudyKind, n) for n in interface), kind


def test_the_layout_reads_back_the_run_and_the_model_of_the_paths_it_names():
    layout = Layout("s", "fashion_mnist")
    assert Layout.run_of(layout.run_file("lr~0.001", 12, "metrics.parquet")) == ("lr~0.001", 12)
    assert Layout.model_of(layout.final("M3", "noise.parquet")) == "M3"
    with pytest.raises(ValueError, match="is not a run's file"):
        Layout.run_of("results/s/other/base/seed0/x.json")
    with pytest.raises(ValueError, match="is not a final model's file"):
        Layout.model_of("results/s/selection/M3.json")


def test_the_confusion_matrix_adds_up_every_finished_seed_of_the_best_variant(tmp_path):
    import pandas as pd

    from nnreport.studies.experiments import confusion_source

    layout = Layout("s", "fashion_mnist")
    runs = pd.DataFrame([
        {"variant": "base", "seed": 0, "status": "completed", "final_val_accuracy": 0.80},
        {"variant": "n1~64", "seed": 0, "status": "completed", "final_val_accuracy": 0.90},
        {"variant": "n1~64", "seed": 1, "status": "completed", "final_val_accuracy": 0.86},
        {"variant": "n1~64", "seed": 2, "status": "diverged", "final_val_accuracy": 0.10}])
    runs.to_parquet(tmp_path / "runs.parquet")
    predictions = layout.run_files("predictions.parquet", ["base", "n1~64"], [0, 1, 2])
    paths, info = confusion_source(predictions, runs=str(tmp_path / "runs.parquet"))
    assert paths == [layout.run_file("n1~64", s, "predictions.parquet") for s in (0, 1)]
    assert info == {"variant": "n1~64", "seeds": [0, 1], "split": "validation",
                    "accuracy": pytest.approx(88.0)}


def test_runs_are_not_compared_with_a_base_that_diverged():
    import pandas as pd

    from nnreport.studies.experiments import add_comparisons

    runs = [{"name": "base", "diverged": True, "final_accuracy": 10.0},
            {"name": "n1~64", "diverged": False, "final_accuracy": 80.0}]
    context = {"runs": runs, "ranking": runs[1:], "best": {"name": "n1~64"}}
    table = pd.DataFrame([
        {"variant": "base", "seed": 0, "status": "diverged", "final_val_accuracy": 0.1},
        {"variant": "n1~64", "seed": 0, "status": "completed", "final_val_accuracy": 0.8}])
    add_comparisons(context, table, n_val=1000)
    assert runs[1]["resolved"] is None and "delta_low" not in runs[1]
    # Wilson, p = 0.8 on 1,000 images: centre 0.798852, half-width 0.024771
    assert (runs[1]["accuracy_low"], runs[1]["accuracy_high"]) == pytest.approx((77.41, 82.36),
                                                                               abs=0.01)
    assert context["best_group"] == [] and context["statistics"]["method"] == "binomial"


@pytest.mark.parametrize(("val", "n_val", "resolved"), [(0.61, 1000, True), (0.56, 1000, False)])
def test_the_chosen_configuration_on_the_test_set_says_whether_validation_flattered_it(
        val, n_val, resolved):
    from nnreport.studies.experiments import add_test

    context = {"runs": [{"name": "n1~16", "label": "n1 = 16"}]}
    evaluation = {"variant": "n1~16", "n_test": 1000, "n_dev": n_val, "n_seeds": 2,
                  "test_accuracy": 0.54, "test_accuracy_std": 0.01, "test_loss": 1.9,
                  "dev_accuracy": val}
    add_test(context, evaluation)
    test = context["test"]
    # Wilson, 540 of 1,000: centre 0.539867, half-width 0.030832 -> [50.90, 57.07]
    assert (test["low"], test["high"]) == pytest.approx((50.90, 57.07), abs=0.01)
    # 610 of 1,000: [57.94, 63.97] misses [50.90, 57.07]; 560 of 1,000: [52.91, 59.05] overlaps
    assert test["gap"] == pytest.approx(100 * (val - 0.54))
    assert test["gap_resolved"] is resolved
    assert test["label"] == "n1 = 16" and test["accuracy_std"] == pytest.approx(1.0)
    add_test(context, None)
    assert context["test"] is None


def test_with_a_test_set_the_confusion_matrix_is_the_chosen_configurations_on_it(tmp_path):
    import json

    from nnreport.studies.experiments import confusion_source

    (tmp_path / "evaluation.json").write_text(json.dumps(
        {"variant": "n1~64", "seeds": [0, 1], "test_accuracy": 0.875}))
    paths, info = confusion_source("final/chosen/test_predictions.parquet",
                                   evaluation=str(tmp_path / "evaluation.json"))
    assert paths == ["final/chosen/test_predictions.parquet"]
    assert info == {"variant": "n1~64", "seeds": [0, 1], "split": "test", "accuracy": 87.5}


def _evaluation(model: str, test: list[float], dev: list[float]) -> dict:
    per_seed = [{"seed": s, "dev_accuracy": d, "test_accuracy": t}
                for s, (d, t) in enumerate(zip(dev, test, strict=True))]
    return {"model": model, "n_seeds": len(test), "n_dev": 1000, "n_test": 1000,
            "per_seed": per_seed}


def _correct(accuracies: dict[str, list[float]], n: int = 1000):
    """Each model's correctness on `n` images per seed (`<model>/seed<k>`): the first
    accuracy * n images right, the others wrong, as per_image_correct gives them."""
    import pandas as pd

    return pd.DataFrame({f"{m}/seed{s}": [int(i < round(a * n)) for i in range(n)]
                         for m, accs in accuracies.items() for s, a in enumerate(accs)})


def test_a_reimplementation_is_compared_with_its_source_on_test_over_seeds_and_images():
    import numpy as np
    from scipy import stats

    from nnreport.studies.models import add_model_comparisons

    config = {"models": [{"id": "M1", "backend": "numpy", "search": {"lr": [1, 2]}},
                         {"id": "M2", "backend": "torch", "from": "M1"},
                         {"id": "M3", "backend": "torch", "from": "M1", "hparams": {"p": 0.2}}]}
    entries = [{"id": m, "backend": b, "n_candidates": n, "noise_drops": d}
               for m, b, n, d in (("M1", "NumPy", 2, [0.10, 0.12]), ("M2", "PyTorch", 1,
                                  [0.11, 0.12]), ("M3", "PyTorch", 1, [0.30, 0.32]))]
    context = {"models": entries, "by_id": {e["id"]: e for e in entries},
               "best": entries[0], "most_robust": entries[0]}
    test = {"M1": [0.80, 0.82], "M2": [0.70, 0.72], "M3": [0.60, 0.62]}
    dev = {"M1": [0.81, 0.83], "M2": [0.80, 0.84], "M3": [0.60, 0.61]}
    evaluations = [_evaluation(m, test[m], dev[m]) for m in test]
    add_model_comparisons(context, config, evaluations, _correct(dev), _correct(test))
    [r] = context["reimplementations"]  # M3 changes hyper-parameters: not a re-implementation
    # by hand: each side's seeds (variance 0.0002 over 2) plus the images' paired term, with
    # Satterthwaite's degrees of freedom; a family of one, at 95 %
    per_image = _correct(test)
    d = (per_image[["M2/seed0", "M2/seed1"]].mean(axis=1)
         - per_image[["M1/seed0", "M1/seed1"]].mean(axis=1)).to_numpy()
    terms = [(0.0002 / 2, 1), (0.0002 / 2, 1), (d.var(ddof=1) / len(d), len(d) - 1)]
    variance = sum(v for v, _ in terms)
    df = variance**2 / sum(v**2 / k for v, k in terms)
    half = 100 * stats.t.ppf(0.975, df) * np.sqrt(variance)
    assert (r["id"], r["source"], r["method"]) == ("M2", "M1", "welch")
    assert r["difference"] == pytest.approx(-10.0)
    assert (r["low"], r["high"]) == pytest.approx((-10.0 - half, -10.0 + half), abs=1e-6)
    # (narrower than the seeds alone, 6.085: the well-measured image term raises the degrees
    # of freedom from 2 more than it adds to the standard error)
    assert r["resolved"] and r["source_candidates"] == 2 and r["source_backend"] == "NumPy"
    assert [m["id"] for m in context["best_group"]] == ["M2"]  # dev 82 vs 82: no difference
    assert [m["id"] for m in context["robust_group"]] == ["M2"]  # M3 loses 20 points more
    assert context["statistics"]["method"] == "welch" and context["statistics"]["images"]


def test_one_seed_per_model_pairs_the_images_and_claims_no_difference_in_robustness():
    from scipy import stats

    from nnreport.studies.models import add_model_comparisons

    entries = [{"id": m, "backend": "PyTorch", "n_candidates": 1, "noise_drops": [d]}
               for m, d in (("M0", 0.1), ("M1", 0.3), ("M2", 0.3))]
    context = {"models": entries, "by_id": {e["id"]: e for e in entries},
               "best": entries[0], "most_robust": entries[0]}
    dev = {"M0": [0.9], "M1": [0.5], "M2": [0.897]}
    add_model_comparisons(context, {"models": [{"id": "M0"}, {"id": "M1"}, {"id": "M2"}]},
                          [_evaluation(m, a, a) for m, a in dev.items()], _correct(dev),
                          _correct(dev))
    assert context["robust_group"] is None and context["statistics"]["method"] == "paired"
    # M2 misses 3 of M0's 900 right images: the paired t test of those differences does not
    # resolve it (Holm tests it second, at 0.05); M1, 400 fewer, is resolved
    per_image = _correct(dev)
    assert stats.ttest_rel(per_image["M2/seed0"], per_image["M0/seed0"]).pvalue > 0.05
    assert stats.ttest_rel(per_image["M1/seed0"], per_image["M0/seed0"]).pvalue < 0.025
    assert [m["id"] for m in context["best_group"]] == ["M2"]
    assert context["statistics"]["best_comparisons"] == 2


def test_with_seeds_each_run_compares_its_final_loss_with_the_bases_too():
    import pandas as pd

    from nnreport.studies.experiments import add_comparisons

    runs = [{"name": n, "diverged": False, "final_accuracy": a, "phrase": n}
            for n, a in (("base", 81.0), ("p~0.5", 80.0))]
    context = {"runs": runs, "ranking": runs, "best": {"name": "base"}}
    table = pd.DataFrame([{"variant": v, "seed": s, "status": "completed",
                           "final_val_accuracy": acc, "final_val_loss": loss}
                          for v, rows in (("base", [(0.80, 0.30), (0.82, 0.32)]),
                                          ("p~0.5", [(0.79, 0.40), (0.81, 0.42)]))
                          for s, (acc, loss) in enumerate(rows)])
    add_comparisons(context, table, n_val=1000)
    loss = runs[1]["loss_delta"]
    # +0.10 with the same spreads as the accuracies: se 0.01414, 2 degrees of freedom
    assert loss["difference"] == pytest.approx(0.10)
    assert (loss["low"], loss["high"]) == pytest.approx((0.03915, 0.16085), abs=1e-5)
    assert loss["resolved"] and not runs[1]["resolved"]  # the accuracy: -1 point, [-7, +5]
    assert runs[0]["loss_delta"] is None  # the base compares with nothing


def test_an_effect_significant_alone_is_not_called_so_among_a_family_holm_corrects():
    import pandas as pd
    from scipy import stats

    from nnreport.studies.experiments import add_comparisons, add_findings

    seeds = {"base": [0.80, 0.81, 0.82], "n1~64": [0.83, 0.84, 0.85],
             **{v: [0.80, 0.81, 0.82] for v in ("n2~32", "p~0.5", "lr~0.01")}}
    assert stats.ttest_ind(seeds["n1~64"], seeds["base"], equal_var=False).pvalue < 0.05
    runs = [{"name": n, "diverged": False, "final_accuracy": 100 * sum(a) / 3, "phrase": n,
             "delta_pp": 100 * (sum(a) - sum(seeds["base"])) / 3} for n, a in seeds.items()]
    context = {"runs": runs, "ranking": runs, "best": {"name": "n1~64"}}
    table = pd.DataFrame([{"variant": v, "seed": s, "status": "completed",
                           "final_val_accuracy": acc, "final_val_loss": 1 - acc}
                          for v, accs in seeds.items() for s, acc in enumerate(accs)])
    add_comparisons(context, table, n_val=1000)
    up = runs[1]
    assert up["p"] < 0.05 < up["p_adjusted"] == pytest.approx(4 * up["p"])
    assert up["resolved"] is False and up["delta_low"] < 0 < up["delta_high"]
    assert up["delta_confidence"] == pytest.approx(100 * (1 - 0.05 / 4))
    assert context["statistics"]["correction"] == "holm"
    assert context["statistics"]["comparisons"] == 4
    add_findings(context)
    assert context["improvements"] == []  # the abstract claims no gain


def test_the_abstract_names_what_beats_the_base_and_the_two_effects_that_hurt_it_most():
    from nnreport.studies.experiments import add_findings

    runs = [{"name": n, "resolved": r, "delta_pp": d} for n, r, d in (
        ("base", None, 0.0), ("a", True, 0.5), ("b", False, 0.9), ("c", True, -12.6),
        ("d", True, -0.3), ("e", True, -2.9), ("f", None, -50.0))]  # f diverged
    context = {"runs": runs}
    add_findings(context)
    assert [r["name"] for r in context["improvements"]] == ["a"]  # b is not resolved
    assert [r["name"] for r in context["worsenings"]] == ["c", "e"]


def test_a_run_whose_validation_loss_climbs_while_its_training_loss_falls_overfits():
    # a p = 0-like run: the eval-mode training loss keeps falling, the validation loss climbs
    # from epoch 4, the accuracy holds (over-confidence); lr 0.01-like: both losses climb
    import pandas as pd

    from nnreport.reporting.labels import named_runs
    from nnreport.studies.experiments import add_trends

    epochs = range(1, 13)
    curves = {"base": ([0.5 - 0.01 * e for e in epochs], [0.40 - 0.001 * e for e in epochs]),
              "p~0": ([0.5 - 0.03 * e for e in epochs],
                      [0.45 + 0.02 * max(0, e - 4) for e in epochs]),
              "lr~0.01": ([0.5 + 0.01 * max(0, e - 4) for e in epochs],
                          [0.45 + 0.02 * max(0, e - 4) for e in epochs])}
    metrics = pd.DataFrame([{"variant": v, "seed": 0, "epoch": e, "split": split, "loss": x,
                             "accuracy": 0.9 if split == "train" else 0.88}
                            for v, losses in curves.items()
                            for split, values in zip(("train", "val"), losses, strict=True)
                            for e, x in zip(epochs, values, strict=True)])
    runs = [{"name": n, "diverged": False, "phrase": f"${n}$"} for n in curves]
    context = {"runs": runs}
    add_trends(context, metrics, n_val=10_000)
    assert [r["name"] for r in context["overfitting"]] == ["p~0"]
    assert [r["name"] for r in context["overconfident"]] == ["p~0"]
    assert context["loses_accuracy"] == [] and context["not_converged"] == []
    assert [r["name"] for r in context["unstable"]] == ["lr~0.01"]
    assert named_runs(context["overfitting"]) == "la corrida con $p~0$"
    assert named_runs(runs) == "el modelo base y las corridas con $p~0$ y $lr~0.01$"
    assert named_runs(runs[:1]) == "el modelo base" and named_runs([]) == ""


def test_a_training_time_differs_from_the_bases_only_beyond_the_seeds_spread():
    """The discussion prints a time ratio as a difference only where the evidence has one:
    24 s against 20 s over three seeds that spread by a second is one; 24 s against 20 s
    with seeds spread by 6 s is not (the text then says it lies within the variation)."""
    from nnreport.studies.experiments import TIME_TOLERANCE, time_differs

    assert time_differs([24.0, 24.5, 23.5], [20.0, 20.5, 19.5])
    assert not time_differs([24.0, 30.0, 18.0], [20.0, 26.0, 14.0])
    # one seed has no spread: a ratio within TIME_TOLERANCE of 1 reads as the same time
    assert not time_differs([20.0 * (1 + TIME_TOLERANCE / 2)], [20.0])
    assert time_differs([20.0 * (1 + 2 * TIME_TOLERANCE)], [20.0])
    assert not time_differs([], [20.0]) and not time_differs([5.0], [0.0])
