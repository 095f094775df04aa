"""Values read as the schema means them, before validation and before the grid is expanded."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE, job_counts, make_workdir, snakemake
from nnreport.config.grid import coerce_numbers, expand_grid, run_config
from nnreport.config.values import normalise_values, read_as

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
TINY_MODELS = yaml.safe_load((ROOT / "configs" / "tiny_models.yaml").read_text())


@pytest.mark.parametrize(("value", "types", "read"), [
    (64.0, {"integer"}, 64), ("1e3", {"integer", "null"}, 1000), ("64", {"integer"}, 64),
    ("1e-3", {"number"}, 0.001), ("0", {"number"}, 0), ("true", {"boolean"}, True),
    ("null", {"integer", "null"}, None), ("null", {"string", "null"}, None),
    (64.5, {"integer"}, 64.5), ("fast", {"number"}, "fast"), (True, {"integer"}, True),
    (0.0, {"number"}, 0.0), (1000.0, {"number"}, 1000.0), ("64", {"string"}, "64"),
])
def test_a_value_is_read_as_the_type_meant_only_when_it_is_not_one_already(value, types, read):
    out = read_as(value, types)
    assert out == read and type(out) is type(read)


def test_whole_floats_where_an_integer_is_meant_become_integers_everywhere(default_config):
    c = default_config
    c["base"]["n1"], c["epochs"], c["max_train"], c["max_val"] = 128.0, 2.0, "1e3", 500.0
    c["seeds"], c["experiments"][1]["vary"]["n1"] = [0.0, 1.0], [64.0, "256"]
    c["dataset"].update(n_train=6e4, n_val="1e4", split_seed=0.0)
    c["noise"] = {"sigmas": [0.0, "0.1"], "seed": 3.0}
    coerce_numbers(c)
    assert c["base"]["n1"] == 128 and c["epochs"] == 2 and c["max_train"] == 1000
    assert c["max_val"] == 500 and c["seeds"] == [0, 1]
    assert c["experiments"][1]["vary"]["n1"] == [64, 256]
    assert c["dataset"]["n_train"] == 60000 and c["dataset"]["n_val"] == 10000
    assert c["noise"] == {"sigmas": [0.0, 0.1], "seed": 3}
    ints = [c["base"]["n1"], c["epochs"], c["max_train"], c["max_val"], *c["seeds"],
            *c["experiments"][1]["vary"]["n1"], c["dataset"]["split_seed"], c["noise"]["seed"]]
    assert all(type(v) is int for v in ints)
    assert type(c["base"]["p"]) is float and c["experiments"][3]["vary"]["p"] == [0.0, 0.5]


def test_model_hparams_and_searches_follow_the_hparams_schema():
    config = yaml.safe_load(yaml.safe_dump(TINY_MODELS))
    m0, m1 = config["models"][0], config["models"][1]
    m0["hparams"].update(hidden=[32.0, "16"], batch_size=256.0, momentum="0")
    m1["search"] = {"hidden": [[32.0, 16.0]], "batch_size": ["128", 6.4e1],
                    "early_stopping_patience": [2.0]}
    normalise_values(config, SCHEMA)
    assert m0["hparams"]["hidden"] == [32, 16] and m0["hparams"]["batch_size"] == 256
    assert m1["search"] == {"hidden": [[32, 16]], "batch_size": [128, 64],
                            "early_stopping_patience": [2]}
    assert all(type(v) is int for v in [*m0["hparams"]["hidden"], *m1["search"]["batch_size"]])


def test_a_variant_named_from_a_whole_float_is_the_run_of_the_integer(default_config):
    runs = run_config(default_config, "n1~64", 0)
    default_config["experiments"][1]["vary"]["n1"] = [64.0, 256]
    default_config["base"]["n2"] = 64.0
    coerce_numbers(default_config)
    assert [v.name for v in expand_grid(default_config)][1:3] == ["n1~64", "n1~256"]
    assert run_config(default_config, "n1~64", 0)["hash"] == runs["hash"]


def test_normalising_an_unchanged_config_changes_nothing(default_config):
    before = yaml.safe_dump(default_config)
    coerce_numbers(default_config)
    assert yaml.safe_dump(default_config) == before
    tiny_models = yaml.safe_load(yaml.safe_dump(TINY_MODELS))
    assert yaml.safe_dump(coerce_numbers(tiny_models)) == yaml.safe_dump(TINY_MODELS)
    assert run_config(tiny_models, "M1-1", 0) == run_config(TINY_MODELS, "M1-1", 0)


def test_command_line_lists_of_seeds_train_every_seed(tmp_path):
    config = make_workdir(tmp_path, TINY)
    one = job_counts(snakemake(tmp_path, "-n", "report/tiny.pdf", config=config))["train"]
    for seeds in ("seeds=[0,1]", "seeds=[0, 1]"):
        out = snakemake(tmp_path, "-n", "report/tiny.pdf", "--config", seeds, config=config)
        assert job_counts(out)["train"] == 2 * one == 8


def test_command_line_numbers_and_switches_are_accepted(tmp_path):
    config = make_workdir(tmp_path, TINY)
    out = snakemake(tmp_path, "-n", "report/tiny.pdf", "--config", "max_train=1e3",
                    "tf32=true", "max_val=null", "base={n1: 32.0, lr: 1e-3}", config=config)
    assert job_counts(out)["train"] == 4  # n1: 32.0 is the base run, not a new one


def test_a_single_seed_without_brackets_is_refused_with_the_brackets(tmp_path):
    config = make_workdir(tmp_path, TINY)
    for given, line in (("seeds=1", "--config: seeds is 1 (an integer); expected a list, "
                                    "e.g. [1] (in brackets)"),
                        ("seeds=0,1", "--config: seeds is '0,1' (a string); expected a list, "
                                      "e.g. [0, 1] (in brackets)"),
                        ("epochs=2.5", "--config: epochs is 2.5 (a number); expected an "
                                       "integer, e.g. 2 or 3")):
        proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                               "-n", "--configfile", str(config), "--config", given],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1] == line


def test_a_report_in_another_language_or_of_models_takes_its_own_prose_by_default():
    from nnreport.config.templates import default_sections

    def sections(report, **top):
        return default_sections({**top, "report": report})["report"].get("sections")

    assert sections({}) is None  # the schema's default: report/sections
    assert sections({"language": "en"}) == "report/sections/en"
    assert sections({"language": "en"}, models=[]) == "report/sections/en/tp"
    assert sections({}, models=[]) == "report/sections/tp"
    assert sections({"language": "en", "sections": "mine"}) == "mine"  # the author's own
    assert default_sections({"report": "x"}) == {"report": "x"}  # the checks name it
