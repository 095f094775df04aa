import pytest

from conftest import study_config
from nnreport.config.grid import (
    coerce_numbers,
    expand_grid,
    run_config,
    run_configs,
    value_token,
    variant_name,
)


def test_default_config_expands_to_the_twelve_runs_of_table_one(default_config):
    names = [v.name for v in expand_grid(default_config)]
    assert names == [
        "base", "n1~64", "n1~256", "n2~32", "n2~128", "p~0.0", "p~0.5", "optimizer~sgd",
        "batch_size~128", "batch_size~512", "lr~0.01", "lr~0.0001",
    ]


def test_a_variant_changes_only_its_knob(default_config):
    by_name = {v.name: v for v in expand_grid(default_config)}
    base, v = by_name["base"].hparams, by_name["lr~0.0001"].hparams
    assert v["lr"] == 1e-4
    assert {k: x for k, x in v.items() if k != "lr"} == {k: x for k, x in base.items() if k != "lr"}


@pytest.mark.parametrize(("value", "token"), [(1e-4, "0.0001"), (0.01, "0.01"), (0.0, "0.0"),
                                              (256, "256"), ("SGD", "sgd")])
def test_value_tokens_are_readable(value, token):
    assert value_token(value) == token
    assert variant_name("k", value) == f"k~{token}"


def test_two_knobs_in_one_experiment_is_an_error(default_config):
    default_config["experiments"][1]["vary"] = {"n1": [64], "p": [0.5]}
    with pytest.raises(ValueError, match=r"experiments\[1\]\.vary changes \['n1', 'p'\]; vary one"):
        expand_grid(default_config)


def test_duplicate_variant_names_the_other_experiment(default_config):
    default_config["experiments"].append({"id": "again", "vary": {"n1": [256]}})
    with pytest.raises(ValueError, match="already declared by experiment 'n1'"):
        expand_grid(default_config)


def test_varying_to_the_base_value_is_an_error(default_config):
    default_config["experiments"][1]["vary"] = {"n1": [128]}
    with pytest.raises(ValueError, match="contains 128, the base value"):
        expand_grid(default_config)


def test_unknown_knob_lists_the_known_ones(default_config):
    default_config["experiments"][1]["vary"] = {"n3": [5]}
    with pytest.raises(ValueError, match="'n3', which is not a key of 'base'.*n1, n2"):
        expand_grid(default_config)


def test_run_config_is_resolved_and_hashed(default_config):
    default_config["seeds"] = [0, 1]
    a = run_config(default_config, "n1~256", 1)
    b = run_config(default_config, "n1~64", 1)
    assert a["hparams"]["n1"] == 256 and a["seed"] == 1 and a["epochs"] == 30
    assert a["hash"] != b["hash"] and a["hash"] == run_config(default_config, "n1~256", 1)["hash"]


def test_renaming_a_table_i_experiment_keeps_its_runs(default_config):
    # its runs are named by knob and value: the experiment's id is no part of what they compute
    before = run_config(default_config, "n1~256", 0)
    default_config["experiments"][0]["id"] = "ancho_capa_1"
    assert "experiment" not in before
    assert run_config(default_config, "n1~256", 0) == before


def test_a_model_study_run_records_its_model():
    # a model's id names its runs' folders, and selections and tables find candidates by it
    run = run_config(study_config("tiny_models"), "M1-1", 0)
    assert run["experiment"] == "M1"


def test_the_run_hash_of_the_default_config_is_the_one_of_its_finished_results(default_config):
    # Pinned: a change here makes every finished run of the default study train again.
    assert run_config(default_config, "base", 0)["hash"] == "8e8bddc2d9a6"
    assert run_config(coerce_numbers(default_config), "base", 0)["hash"] == "8e8bddc2d9a6"


def test_yaml_1_1_exponents_are_read_as_numbers(default_config):
    default_config["base"]["lr"] = "1e-3"
    default_config["experiments"][-1]["vary"]["lr"] = ["1e-2", "1E-4"]
    default_config["base"]["optimizer"] = "adam"
    coerce_numbers(default_config)
    assert default_config["base"]["lr"] == 1e-3 and default_config["base"]["optimizer"] == "adam"
    assert default_config["experiments"][-1]["vary"]["lr"] == [1e-2, 1e-4]


def test_training_cost_orders_runs_by_their_work():
    from nnreport.config.grid import training_cost

    base = {"n1": 128, "n2": 64, "batch_size": 256}
    assert training_cost(base, 30) == pytest.approx(30 * (1 + 2e7 / 256 / 327_552))
    assert training_cost(base, 10) == pytest.approx(training_cost(base, 30) / 3)
    assert training_cost({**base, "n1": 256}, 30) > training_cost(base, 30)
    # convolutions: more filters, a larger kernel cost more; a CNN more than the MLP
    cnn = {"model": "cnn", "channels": 16, "kernel": 3, "blocks": 2, "dense": 128,
           "batch_size": 128}
    assert training_cost({**cnn, "channels": 32}, 5) > training_cost({**cnn, "kernel": 5}, 5) \
        > training_cost(cnn, 5) > training_cost({**cnn, "channels": 8}, 5) > training_cost(base, 5)
    assert training_cost({**base, "batch_size": 64}, 30) > training_cost(base, 30)
    assert training_cost({"hidden": [512, 256, 128]}, 1) > training_cost({"hidden": [64]}, 1)
    assert training_cost({}, 1) == training_cost(base, 1)  # `from:` runs: the defaults


def test_run_configs_resolves_every_run_as_run_config_does(default_config):
    config = {**default_config, "seeds": [0, 3]}
    runs = run_configs(config)
    assert list(runs)[:3] == [("base", 0), ("base", 3), ("n1~64", 0)]
    assert len(runs) == 2 * len(expand_grid(config))
    for (variant, seed), run in runs.items():
        assert run == run_config(config, variant, seed)
