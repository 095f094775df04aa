"""An autoencoder study: the grid of an experiment with a base of its own, its checks, its kind,
its MSE comparisons and tables (the workflow test is in test_workflow_conv.py)."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from conftest import ROOT
from nnreport.checks.config import ConfigError, validate_config
from nnreport.config.grid import expand_grid, run_configs
from nnreport.evaluation.comparisons import PAIRED, mean_interval, paired_comparison
from nnreport.evaluation.statistics import summarise
from nnreport.reporting.labels import run_label, variant_phrase
from nnreport.reporting.tables import (
    autoencoder_results_table,
    classifiers_table,
    experiments_table,
)
from nnreport.studies.autoencoder import scaled, scaled_interval
from nnreport.studies.kinds import AutoencoderStudy, TableStudy, study_kind

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY_AE = yaml.safe_load((ROOT / "configs" / "tiny_autoencoder.yaml").read_text())


def _config():
    return copy.deepcopy(TINY_AE)


def _problems(config):
    with pytest.raises(ConfigError) as caught:
        validate_config(config, SCHEMA, ["config.yaml"])
    return caught.value.problems


def test_an_experiment_with_its_own_base_has_a_reference_run_named_by_its_id():
    variants = {v.name: v for v in expand_grid(_config())}
    assert list(variants) == ["base", "bottleneck~4", "sigma~0.3", "clasificador",
                              "freeze~false"]
    own, tuned = variants["clasificador"], variants["freeze~false"]
    assert own.reference is None and (own.knob, own.value) == ("freeze", True)
    assert own.hparams["model"] == "encoder_classifier" and "bottleneck" not in own.hparams
    assert tuned.reference == "clasificador" and tuned.hparams == {**own.hparams,
                                                                   "freeze": False}
    assert variants["bottleneck~4"].reference == "base"
    assert run_label(own) == "codificador fijo~=~sí" and run_label(tuned) == (
        "codificador fijo~=~no")
    assert variant_phrase("freeze", True) == "el codificador fijo"
    assert variant_phrase("freeze", False) == "el codificador ajustado"


def test_a_classifier_run_carries_its_autoencoders_hash_so_a_change_retrains_it():
    config = _config()
    before = run_configs(config)
    config["base"]["bottleneck"] = 12
    after = run_configs(config)
    for name in ("clasificador", "freeze~false"):
        assert before[name, 0]["encoder_run"] == before["base", 0]["hash"]
        assert after[name, 0]["encoder_run"] == after["base", 0]["hash"]
        assert after[name, 0]["hash"] != before[name, 0]["hash"]
    assert after["sigma~0.3", 0]["hash"] != before["sigma~0.3", 0]["hash"]


def test_the_autoencoder_kind_adds_its_figures_and_the_classifiers_only_when_it_has_some():
    kind = study_kind(_config())
    assert isinstance(kind, AutoencoderStudy) and kind.template == "autoencoder"
    assert "classifiers" in kind.tables and "confusion_matrix" in kind.figures
    assert {"reconstructions", "latent_space"} <= set(kind.figures)
    variants = expand_grid(_config())
    assert kind.experiment_variants(variants, "clasificador") == ["clasificador",
                                                                  "freeze~false"]
    assert kind.experiment_variants(variants, "sigma") == ["base", "sigma~0.3"]
    alone = _config()
    alone["experiments"] = alone["experiments"][:3]
    plain = study_kind(alone)
    assert "classifiers" not in plain.tables and "confusion_matrix" not in plain.figures
    assert isinstance(study_kind(yaml.safe_load((ROOT / "config.yaml").read_text())),
                      TableStudy)


def test_the_example_and_tiny_autoencoder_configs_are_valid():
    validate_config(_config(), SCHEMA, ["config.yaml"])
    validate_config(yaml.safe_load((ROOT / "configs" / "autoencoder.yaml").read_text()), SCHEMA,
                    ["config.yaml"])


def test_a_classifier_must_name_an_autoencoder_run_of_the_study():
    config = _config()
    config["experiments"][3]["base"]["encoder"] = "bas"
    assert _problems(config) == [
        "config.yaml: experiments[3].base.encoder is 'bas', which is no autoencoder run of this "
        "study; its autoencoder runs: base, bottleneck~4, sigma~0.3"]


def test_only_an_autoencoder_study_takes_an_experiment_with_its_own_base():
    config = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    config["experiments"].append({"id": "cnn", "base": {"model": "cnn", "channels": 4,
                                                        "optimizer": "adam", "lr": 1e-3,
                                                        "batch_size": 64}})
    [problem] = _problems(config)
    assert problem.startswith("config.yaml: experiments[3].base gives experiment 'cnn' a base "
                              "run of its own, which only an autoencoder study reports")


def test_an_autoencoder_study_refuses_a_test_split_and_knobs_its_classifier_ignores():
    config = _config()
    config["dataset"]["n_test"] = 500
    config["experiments"][3]["base"]["bottleneck"] = 8
    problems = _problems(config)
    assert any("dataset.n_test holds out test images, but an autoencoder study reports on "
               "validation only" in p for p in problems)
    assert any("experiments[3].base.bottleneck is set, but model 'encoder_classifier' does "
               "not read it" in p for p in problems)


def test_the_paired_interval_is_the_t_interval_of_the_per_image_differences():
    rng = np.random.default_rng(0)
    b = rng.random(200)
    a = b + 0.01 + rng.normal(0, 0.02, 200)
    c = paired_comparison("a", "b", list(a), list(b))
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high))
    assert c.method == PAIRED and c.resolved and c.difference == pytest.approx(np.mean(a - b))
    assert not paired_comparison("a", "b", list(b[::-1]), list(b)).resolved  # mean diff 0
    assert mean_interval(b) == pytest.approx(tuple(stats.t.interval(
        0.95, 199, loc=b.mean(), scale=stats.sem(b))))
    with pytest.raises(ValueError, match="scored on 3 and 2 images"):
        paired_comparison("a", "b", [1, 2, 3], [1, 2])


def test_mse_reads_with_its_unit_in_the_prose():
    assert scaled(8.534) == r"$8.53 \times 10^{-3}$"
    assert scaled(8.534, 0.12) == r"$(8.53 \pm 0.12) \times 10^{-3}$"
    assert scaled_interval(-1.5, 0.25, sign=True) == r"$[-1.50, +0.25] \times 10^{-3}$"


def _summary(config):
    rows = []
    for v in expand_grid(config):
        auto = v.hparams["model"] == "conv_autoencoder"
        rows.append({"variant": v.name, "seed": 0, "experiment": v.experiment,
                     "status": "completed", "diverged_epoch": None, "epochs_run": 2,
                     "final_val_accuracy": np.nan if auto else 0.8,
                     "final_val_loss": 0.0123 if auto else 0.5,
                     "best_val_accuracy": np.nan if auto else 0.8, "best_epoch": 2,
                     "min_val_loss": 0.0120 if auto else 0.5, "min_val_loss_epoch": 2,
                     "train_seconds": 3.0, "parameters": 1234 if auto else 56})
    return summarise(pd.DataFrame(rows), [v.name for v in expand_grid(config)])


def test_the_autoencoders_and_the_classifiers_get_a_table_each():
    config = _config()
    variants = expand_grid(config)
    labels = {v.name: run_label(v) for v in variants}
    summary = _summary(config)
    auto = autoencoder_results_table(summary, variants, config, labels)
    assert r"1 & base & 12.30 & 12.00 & 2 & 1\,234 & 3.0 \\" in auto
    assert "código~=~4" in auto and "codificador" not in auto
    clf = classifiers_table(summary, variants, config, labels)
    assert r"codificador fijo~=~sí & 80.00 & 56 & 3.0 \\" in clf and "base" not in clf
    table_one = experiments_table(config)
    # the classifier's row: no autoencoder knob; what it varies beside its objective
    assert (r"4 & --- & --- & Clasificar con el codificador del autoencoder base. "
            r"(codificador fijo = sí, no) \\") in table_one
