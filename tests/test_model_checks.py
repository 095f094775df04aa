"""A model study (models M0, M1, ...) is checked before any job: its kind, what the numpy
back-end can train, its searches and ids (issue 10)."""

import pytest
import yaml
from test_validation import SCHEMA, only_problem, problems

from conftest import ROOT
from nnreport.checks.config import validate_config


def _tiny_models() -> dict:
    return yaml.safe_load((ROOT / "configs" / "tiny_models.yaml").read_text())


def test_a_model_study_without_noise_is_told_it_needs_noise():
    config = _tiny_models()
    del config["noise"]
    assert only_problem(config) == (
        "config.yaml: noise is missing; a model study (models:) needs noise (Gaussian noise on "
        "the test images, for the robustness section), e.g. noise: {sigmas: [0.0, 0.1, 0.2]}")


def test_a_table_one_study_without_experiments_is_shown_one(default_config):
    del default_config["experiments"]
    assert only_problem(default_config) == (
        "config.yaml: experiments is missing; a Table I study (base:) needs experiments (the "
        "base experiment and one experiment per varied knob), e.g. experiments: [{id: base}, "
        "{id: n1, vary: {n1: [64, 256]}}]")


def test_a_config_of_neither_kind_names_both_kinds(default_config):
    del default_config["experiments"], default_config["base"]
    assert only_problem(default_config) == (
        "config.yaml: the config is neither a Table I study (base, experiments) nor a model "
        "study (models, noise); add the keys of one of them, as in config.yaml or as in "
        "configs/emnist.yaml")


def test_a_config_of_both_kinds_is_refused(default_config):
    default_config["models"] = _tiny_models()["models"]
    default_config["noise"] = {"sigmas": [0.0]}
    assert only_problem(default_config) == (
        "config.yaml: models is set and so is base; a config is a Table I study (base, "
        "experiments) or a model study (models, noise), not both; remove the keys of one of them")


def test_an_activation_the_numpy_back_end_lacks_is_refused_where_it_is_searched():
    config = _tiny_models()
    config["models"][1]["search"]["activation"] = ["relu", "gelu"]
    assert only_problem(config) == (
        "config.yaml: models[1].search.activation[1] is 'gelu'; the numpy back-end supports "
        "relu; use relu or backend: torch")


def test_the_numpy_back_ends_activations_come_from_its_registry(monkeypatch):
    from nnreport.models import scratch as layers

    config = _tiny_models()
    config["models"][0]["hparams"]["activation"] = "tanh"
    assert "supports relu;" in only_problem(config)
    monkeypatch.setitem(layers.ACTIVATIONS, "tanh", layers.ReLU)
    validate_config(config, SCHEMA, ["config.yaml"])


@pytest.mark.parametrize(("key", "value", "line"), [
    ("optimizer", "rmsprop", "models[0].hparams.optimizer is 'rmsprop'; the numpy back-end "
                             "supports adam, sgd; use one of those or backend: torch"),
    ("momentum", 1.5, "models[0].hparams.momentum is 1.5; the numpy back-end refuses it "
                      "(momentum: 1.5 must be in [0, 1)); change it or use backend: torch"),
    ("batchnorm", True, "models[0].hparams.batchnorm is true; the numpy back-end has no "
                        "BatchNorm; use batchnorm: false or backend: torch"),
    ("p", 0.2, "models[0].hparams.p is 0.2; the numpy back-end has no dropout (it would train "
               "without); use p: 0.0 or backend: torch"),
])
def test_hparams_the_numpy_back_end_cannot_train_are_refused(key, value, line):
    config = _tiny_models()
    config["models"][0]["hparams"][key] = value
    assert only_problem(config) == f"config.yaml: {line}"
    config["models"][0]["backend"] = "torch"  # PyTorch trains them all
    validate_config(config, SCHEMA, ["config.yaml"])


def test_a_numpy_model_is_refused_what_it_would_inherit_from_a_torch_search():
    config = _tiny_models()
    config["models"].append({"id": "M4", "backend": "numpy", "from": "M3"})
    lines = problems(config)
    assert lines[0] == (
        "config.yaml: models[3].search.activation[0] is 'leaky_relu', which models[4] (M4, "
        "backend: numpy) starts from; the numpy back-end supports relu; use relu or "
        "backend: torch")
    assert [line.split()[1] for line in lines] == [
        "models[3].search.activation[0]", "models[3].search.activation[1]",
        "models[3].search.activation[2]", "models[3].search.batchnorm[0]",
        "models[3].search.p[0]"]


@pytest.mark.parametrize(("search", "line"), [
    ({"lr": [0]}, "models[1].search.lr[0] is 0; must be > 0"),
    ({"optimizer": ["adamm"]}, "models[1].search.optimizer[0] is 'adamm'; allowed: adam, adamw, "
                               "sgd, rmsprop; did you mean 'adam'?"),
    ({"lrr": [0.1]}, "models[1].search.lrr is not a hyper-parameter; known: model, n1, n2, "
                     "hidden, p, activation, batchnorm, optimizer, batch_size, lr, momentum, "
                     "weight_decay, lr_schedule, lr_gamma, lr_final_fraction, "
                     "early_stopping_patience; did you mean 'lr'?"),
    ({"hidden": [32]}, "models[1].search.hidden[0] is 32 (an integer); expected a list, "
                       "e.g. [32] (in brackets)"),
])
def test_search_values_obey_the_hparams_schema_like_base(search, line):
    config = _tiny_models()
    config["models"][1]["search"] = search
    assert only_problem(config) == f"config.yaml: {line}"


def test_model_ids_from_and_the_keys_every_run_needs_are_checked():
    config = _tiny_models()
    config["models"][2]["from"] = "M9"
    config["models"][3]["id"] = "M0"
    del config["models"][0]["hparams"]["lr"]
    assert problems(config) == [
        "config.yaml: models[0].hparams.lr is missing; add it (every model needs optimizer, lr, "
        "batch_size, in hparams, its search, or the model it starts from (from:))",
        "config.yaml: models[2].from is 'M9', which no model before it is called; models before "
        "it: M0, M1",
        "config.yaml: models[3].id is 'M0', the id of models[0] too; give each model its own id"]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_n1_beside_hidden_is_refused_for_either_back_end(backend):
    config = _tiny_models()
    config["models"][0].update(backend=backend)
    config["models"][0]["hparams"]["n1"] = 32
    assert only_problem(config) == (
        "config.yaml: models[0].hparams.n1 is 32, but models[0].hparams.hidden sets the hidden "
        "sizes, and the MLP takes them from hidden alone (it would ignore n1 and n2); give "
        "hidden alone, or n1 and n2 alone")


def test_n1_beside_hidden_is_refused_in_a_table_one_study(default_config):
    default_config["base"]["hidden"] = [128, 64]
    lines = problems(default_config)
    assert lines[0].startswith("config.yaml: base.n1 is 128, but base.hidden sets the hidden "
                               "sizes")
    assert any(line.startswith("config.yaml: experiments[1].vary.n1 is [64, 256], but "
                               "base.hidden sets") for line in lines)


def test_a_report_template_of_the_other_kind_of_study_is_refused(default_config):
    config = _tiny_models()
    config["report"]["template"] = "informe"
    assert only_problem(config) == (
        "config.yaml: report.template is 'informe', but this is a model study, whose report is "
        "the template 'tp'; remove report.template or set it to tp")
    default_config["report"]["template"] = "tp"
    assert only_problem(default_config).startswith(
        "config.yaml: report.template is 'tp', but this is a Table I study, whose report is the "
        "template 'informe'")
