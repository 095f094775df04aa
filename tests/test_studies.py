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
                     "base_run": "results/s/runs/base/seed0/run.json"}
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
    paths, info = confusion_source(str(tmp_path / "runs.parquet"), predictions)
    assert paths == [layout.run_file("n1~64", s, "predictions.parquet") for s in (0, 1)]
    assert info == {"variant": "n1~64", "seeds": [0, 1], "accuracy": pytest.approx(88.0)}


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
