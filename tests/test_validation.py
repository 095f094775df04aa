import subprocess

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE, make_workdir
from nnreport.checks.config import ConfigError, format_path, validate_config

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def problems(config: dict, sources: tuple = ("config.yaml",), overrides=None) -> list[str]:
    """The lines of the ConfigError that validating `config` raises."""
    with pytest.raises(ConfigError) as caught:
        validate_config(config, SCHEMA, sources, overrides)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def only_problem(config: dict) -> str:
    """The one line of the ConfigError that validating `config` raises."""
    (line,) = problems(config)
    return line


@pytest.mark.parametrize(("path", "text"), [
    (["experiments", 3, "vary"], "experiments[3].vary"),
    (["base", "lr"], "base.lr"),
    (["report", "authors", 0, "email"], "report.authors[0].email"),
    (["experiments", 3, "vary", "p", 0], "experiments[3].vary.p[0]"),
    ([], ""),
])
def test_format_path_reads_like_yaml(path, text):
    assert format_path(path) == text


@pytest.mark.parametrize("name", sorted(["config.yaml", *(
    str(p.relative_to(ROOT)) for p in (ROOT / "configs").glob("*.yaml"))]))
def test_the_repository_configs_are_valid(name):
    config = yaml.safe_load((ROOT / name).read_text())
    validate_config(config, SCHEMA, [str(ROOT / name)])


def test_a_config_error_is_a_value_error_with_one_problem_per_line():
    error = ConfigError(["a.yaml: x is 1; must be > 1", "a.yaml: y is missing; add it"])
    assert isinstance(error, ValueError)
    assert str(error) == "a.yaml: x is 1; must be > 1\na.yaml: y is missing; add it"


def test_unknown_top_level_key_suggests_the_known_one(default_config):
    default_config["epoch"] = 3
    assert only_problem(default_config) == (
        "config.yaml: epoch is not a key of the top level; known keys: study, dataset, epochs, "
        "seeds, device, tf32, memory_limit_mb, max_train, max_val, max_test, noise, models, "
        "base, experiments, report; did you mean 'epochs'?")


def test_unknown_nested_key_suggests_the_known_one(default_config):
    default_config["report"]["autors"] = [{"name": "X"}]
    line = only_problem(default_config)
    assert line.startswith("config.yaml: report.autors is not a key of report; known keys: pdf,")
    assert line.endswith("; did you mean 'authors'?")


def test_unknown_key_without_a_close_name_says_to_remove_it(default_config):
    default_config["report"]["authors"][0]["phone"] = "555"
    assert only_problem(default_config) == (
        "config.yaml: report.authors[0].phone is not a key of report.authors[0]; known keys: "
        "name, affiliation, email; remove it or fix its spelling")


def test_a_quoted_number_is_read_as_the_number_a_word_is_refused(default_config):
    default_config["base"]["batch_size"] = "256"  # what --config 'base={batch_size: 256}' gives
    validate_config(default_config, SCHEMA, ["config.yaml"])
    default_config["base"]["batch_size"] = "big"
    assert only_problem(default_config) == (
        "config.yaml: base.batch_size is 'big' (a string); expected an integer, e.g. 1")


@pytest.mark.parametrize(("value", "line"), [
    (64.5, "base.n1 is 64.5 (a number); expected an integer, e.g. 64 or 65"),
    ("64.5", "base.n1 is 64.5 (a number); expected an integer, e.g. 64 or 65"),
])
def test_a_fraction_where_an_integer_is_meant_is_refused(default_config, value, line):
    default_config["base"]["n1"] = value
    assert only_problem(default_config) == f"config.yaml: {line}"
    default_config["base"]["n1"] = 0.5  # the example respects the minimum
    assert problems(default_config)[0] == (
        "config.yaml: base.n1 is 0.5 (a number); expected an integer, e.g. 1")


def test_whole_numbers_written_as_floats_are_valid_integers(default_config):
    default_config["base"]["n1"], default_config["max_train"] = 128.0, "1e3"
    default_config["experiments"][2]["vary"]["n2"] = [32.0, 128.0]
    validate_config(default_config, SCHEMA, ["config.yaml"])
    default_config["experiments"][2]["vary"]["n2"] = [32.5]
    assert only_problem(default_config) == (
        "config.yaml: experiments[2].vary.n2[0] is 32.5 (a number); expected an integer, "
        "e.g. 32 or 33")


def test_an_unknown_option_lists_the_allowed_ones_and_the_closest(default_config):
    default_config["base"]["optimizer"] = "adamm"
    assert only_problem(default_config) == (
        "config.yaml: base.optimizer is 'adamm'; allowed: adam, adamw, sgd, rmsprop; "
        "did you mean 'adam'?")


@pytest.mark.parametrize(("key", "value", "line"), [
    ("p", 1.2, "base.p is 1.2; must be in [0, 1)"),
    ("p", -0.1, "base.p is -0.1; must be in [0, 1)"),
    ("lr", 0, "base.lr is 0; must be > 0"),
    ("batch_size", 0, "base.batch_size is 0; must be ≥ 1"),
])
def test_out_of_range_values_state_the_range(default_config, key, value, line):
    default_config["base"][key] = value
    assert only_problem(default_config) == f"config.yaml: {line}"


def test_zero_epochs_is_out_of_range(default_config):
    default_config["epochs"] = 0
    assert only_problem(default_config) == "config.yaml: epochs is 0; must be ≥ 1"


def test_an_empty_seed_list_asks_for_one_seed(default_config):
    default_config["seeds"] = []
    assert only_problem(default_config) == (
        "config.yaml: seeds is []; give at least 1 value, e.g. seeds: [0]")


def test_repeated_seeds_name_the_repeated_one(default_config):
    default_config["seeds"] = [0, 1, 1]
    assert only_problem(default_config) == (
        "config.yaml: seeds is [0, 1, 1]; values must be unique but 1 is repeated; "
        "remove the duplicate")


def test_a_missing_required_key_is_named_with_its_siblings(default_config):
    del default_config["base"]["lr"]
    assert problems(default_config) == [
        "config.yaml: base.lr is missing; add it (base needs model, optimizer, batch_size, lr)",
        "config.yaml: experiments[6].vary.lr varies 'lr', which base does not set; base sets: "
        "model, n1, n2, p, optimizer, batch_size; add base.lr first"]


def test_a_study_name_with_spaces_gets_a_usable_name(default_config):
    default_config["study"] = "my study!"
    assert only_problem(default_config) == (
        "config.yaml: study is 'my study!'; use only letters, digits, _, ., - (' ', '!' not "
        "allowed); did you mean 'my_study'?")


def test_an_empty_value_is_called_empty(default_config):
    default_config["base"]["lr"] = None
    assert only_problem(default_config) == (
        "config.yaml: base.lr is empty (null); expected a number, e.g. 0.001")


def test_a_long_value_is_shortened(default_config):
    default_config["report"]["title"] = ["x" * 100]
    line = only_problem(default_config)
    assert line.startswith("config.yaml: report.title is ['xxxx") and "..." in line
    assert len(line) < 150


def test_an_experiment_varying_two_knobs_is_split(default_config):
    default_config["experiments"][3]["vary"] = {"n1": [32], "p": [0.5]}
    assert only_problem(default_config) == (
        "config.yaml: experiments[3].vary changes n1 and p; vary one knob per experiment "
        "(split it into two experiments)")


def test_an_experiment_varying_no_knob_is_reported(default_config):
    default_config["experiments"][3]["vary"] = {}
    assert only_problem(default_config) == (
        "config.yaml: experiments[3].vary is empty; vary one knob, e.g. vary: {n1: [64, 256]}, "
        "or delete vary for the base experiment")


def test_a_second_experiment_without_vary_names_the_first(default_config):
    del default_config["experiments"][2]["vary"]
    assert only_problem(default_config) == (
        "config.yaml: experiments[2] ('n2') has no vary, like experiments[0] ('base'); only the "
        "base experiment may omit vary; give it one, e.g. vary: {n1: [64, 256]}")


def test_a_study_without_base_experiment_is_reported(default_config):
    del default_config["experiments"][0]
    assert only_problem(default_config) == (
        "config.yaml: experiments has no base experiment; exactly one experiment must have no "
        "vary, e.g. - id: base")


def test_varying_a_knob_base_does_not_set_suggests_one(default_config):
    default_config["experiments"][1]["vary"] = {"nn1": [64]}
    assert only_problem(default_config) == (
        "config.yaml: experiments[1].vary.nn1 varies 'nn1', which base does not set; base sets: "
        "model, n1, n2, p, optimizer, batch_size, lr; did you mean 'n1'?")


def test_varying_a_schema_knob_missing_from_base_asks_to_set_it(default_config):
    default_config["experiments"][1]["vary"] = {"momentum": [0.9]}
    assert only_problem(default_config).endswith("; add base.momentum first")


@pytest.mark.parametrize(("knob", "value", "line"), [
    ("p", 1.5, "experiments[3].vary.p[0] is 1.5; must be in [0, 1)"),
    ("optimizer", "adamm", "experiments[3].vary.optimizer[0] is 'adamm'; allowed: adam, adamw, "
                           "sgd, rmsprop; did you mean 'adam'?"),
    ("lr", -1, "experiments[3].vary.lr[0] is -1; must be > 0"),
    ("batch_size", "big", "experiments[3].vary.batch_size[0] is 'big' (a string); expected an "
                          "integer, e.g. 1"),
])
def test_varied_values_obey_the_schema_of_their_base_key(default_config, knob, value, line):
    default_config["experiments"][3]["vary"] = {knob: [value]}
    assert only_problem(default_config) == f"config.yaml: {line}"


def test_a_varied_value_equal_to_the_base_is_reported(default_config):
    default_config["experiments"][1]["vary"] = {"n1": [64, 128]}
    assert only_problem(default_config) == (
        "config.yaml: experiments[1].vary.n1[1] is 128, the same as base.n1; the base run "
        "already covers it, remove it")


def test_a_duplicate_variant_names_both_experiments(default_config):
    default_config["experiments"].append({"id": "again", "vary": {"n1": [256]}})
    assert only_problem(default_config) == (
        "config.yaml: experiments[7].vary.n1[0] is 256, already run by experiment 'n1' "
        "(experiments[1].vary.n1[1]); remove it from 'again' or from 'n1'")


def test_a_value_repeated_within_one_experiment_is_reported(default_config):
    default_config["experiments"][1]["vary"] = {"n1": [64, 256, 64]}
    assert only_problem(default_config) == (
        "config.yaml: experiments[1].vary.n1[2] is 64, already run by experiments[1].vary.n1[0]; "
        "remove it from 'n1'")


def test_duplicate_experiment_ids_are_reported(default_config):
    default_config["experiments"][2]["id"] = "n1"
    assert only_problem(default_config) == (
        "config.yaml: experiments[2].id is 'n1', the id of experiments[1] too; give each "
        "experiment its own id")


def test_yaml_1_1_exponents_are_numbers_but_words_are_not(default_config):
    default_config["base"]["lr"] = "1e-3"
    default_config["experiments"][6]["vary"] = {"lr": ["1e-2", "1E-4"]}
    validate_config(default_config, SCHEMA, ["config.yaml"])
    default_config["experiments"][6]["vary"] = {"lr": ["1e-2", "fast"]}
    assert only_problem(default_config) == (
        "config.yaml: experiments[6].vary.lr[1] is 'fast' (a string); expected a number, "
        "e.g. 0.001")


def test_every_problem_is_reported_in_file_order(default_config):
    default_config["report"]["autors"] = []
    default_config["base"]["lr"] = "fast"
    default_config["experiments"][3]["vary"] = {"n1": [32], "p": [1.5]}
    default_config["epochs"] = 0
    lines = problems(default_config)
    assert [line.split()[1] for line in lines] == [
        "epochs", "base.lr", "experiments[3].vary", "experiments[3].vary.p[0]", "report.autors"]
    assert all(line.startswith("config.yaml: ") for line in lines)


def test_the_last_file_that_defines_the_key_is_named(tmp_path, default_config):
    first, second = tmp_path / "config.yaml", tmp_path / "patch.yaml"
    first.write_text(yaml.safe_dump(default_config))
    second.write_text("base: {lr: 0}\n")
    default_config["base"]["lr"] = 0
    default_config["base"]["p"] = 2
    default_config["epoch"] = 1
    lines = problems(default_config, [str(first), str(second)])
    assert lines == [f"{first}: base.p is 2; must be in [0, 1)",
                     f"{second}: base.lr is 0; must be > 0",
                     f"{second}: epoch is not a key of the top level; known keys: study, "
                     f"dataset, epochs, seeds, device, tf32, memory_limit_mb, max_train, max_val, "
                     f"max_test, noise, models, base, experiments, report; did you mean "
                     f"'epochs'?"]


def test_files_inside_the_working_directory_are_named_relative(tmp_path, monkeypatch,
                                                                default_config):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "study.yaml").write_text("epochs: 0\n")
    make_workdir(tmp_path, default_config)  # the author's prose and references
    monkeypatch.chdir(tmp_path)
    default_config["epochs"] = 0
    assert problems(default_config, [tmp_path / "configs" / "study.yaml"]) == [
        "configs/study.yaml: epochs is 0; must be ≥ 1"]


def test_values_given_with_dash_dash_config_are_named_so(default_config):
    default_config["max_train"] = "abc"
    default_config["epochs"] = 0
    assert problems(default_config, ["config.yaml"], {"max_train": "abc"}) == [
        "config.yaml: epochs is 0; must be ≥ 1",
        "--config: max_train is 'abc' (a string); expected an integer or null (empty), e.g. 1"]


def test_the_schema_may_be_given_as_a_mapping(default_config):
    schema = yaml.safe_load(SCHEMA.read_text())
    default_config["device"] = "metal"
    with pytest.raises(ConfigError, match=r"^config\.yaml: device is 'metal'; allowed: auto, cpu, "
                                          r"cuda; pick one of those$"):
        validate_config(default_config, schema, ["config.yaml"])


def test_the_caller_config_is_not_changed(default_config):
    default_config["base"]["lr"] = "1e-3"
    validate_config(default_config, SCHEMA, ["config.yaml"])
    assert default_config["base"]["lr"] == "1e-3"


def test_an_empty_vary_is_not_taken_for_a_second_base(default_config):
    default_config["experiments"][1]["vary"] = None
    assert only_problem(default_config) == (
        "config.yaml: experiments[1].vary is empty (null); expected a mapping")


def test_a_missing_base_is_reported_once_not_per_varied_knob(default_config):
    default_config["base"] = None
    assert only_problem(default_config) == "config.yaml: base is empty (null); expected a mapping"


def test_tf32_and_the_device_are_no_part_of_a_runs_identity(default_config):
    # where a run trains is compared with its run.json instead (integrity.stale_runs)
    from nnreport.config.grid import run_config

    default_config["tf32"] = "yes"
    line = only_problem(default_config)
    assert line == "config.yaml: tf32 is 'yes' (a string); expected true or false"
    default_config["tf32"] = False
    off = run_config(default_config, "base", 0)
    for key, value in (("tf32", True), ("device", "cpu"), ("device", "cuda")):
        default_config[key] = value
        on = run_config(default_config, "base", 0)
        assert on == off and key not in on


def _gelu_in_m1s_search(config):
    config["models"][1]["search"]["activation"] = ["relu", "gelu"]


@pytest.mark.parametrize(("study", "change", "line"), [
    ("tiny_models", _gelu_in_m1s_search,
     "config.yaml: models[1].search.activation[1] is 'gelu'; the numpy back-end supports relu; "
     "use relu or backend: torch"),
    ("tiny_models", lambda c: c.pop("noise"),
     "config.yaml: noise is missing; a model study (models:) needs noise (Gaussian noise on the "
     "test images, for the robustness section), e.g. noise: {sigmas: [0.0, 0.1, 0.2]}"),
    ("tiny", lambda c: c["base"].update(batch_size=4096),
     "config.yaml: base.batch_size is 4096, larger than the 2000 training images (max_train: "
     "2000); use at most 2000"),
    ("tiny", lambda c: c["report"].update(bibliography="refs/mine.bib"),
     "config.yaml: report.bibliography is 'refs/mine.bib', which is not a file; copy the "
     "repository's report/refs.bib there or name your own .bib file"),
    ("tiny", lambda c: c["dataset"].update(root="fashion"),  # relative to the working folder
     "config.yaml: dataset.root is 'fashion'; none of fashion, fashion/FashionMNIST/raw holds "
     "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
     "t10k-labels-idx1-ubyte (each plain or .gz); put the four files in fashion, or set root: "
     "null to use Debian's /usr/share/datasets/fashion-mnist or torchvision's download"),
])
def test_values_that_would_fail_in_a_job_stop_the_workflow_before_any_job(tmp_path, study,
                                                                          change, line):
    config = yaml.safe_load((ROOT / "configs" / f"{study}.yaml").read_text())
    change(config)
    make_workdir(tmp_path, config)
    (tmp_path / "fashion").mkdir()
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "-n"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and line in proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_a_knob_the_model_family_would_ignore_is_refused_before_any_job(default_config):
    config = {**default_config, "base": {**default_config["base"], "model": "cnn"}}
    lines = problems(config)
    assert lines[0] == ("config.yaml: base.n1 is set, but model 'cnn' does not read it (its own "
                        "knobs: blocks, channels, dense, kernel, p); remove it, or set the model "
                        "that reads it")
    assert len(lines) == 2 and "base.n2" in lines[1]
    experiments = [*default_config["experiments"][:1],
                   {"id": "kernel", "vary": {"kernel": [5, 4]}}]
    cnn = {**default_config, "experiments": experiments,
           "base": {"model": "cnn", "channels": 8, "kernel": 3, "optimizer": "adam", "lr": 1e-3,
                    "batch_size": 64}}
    assert only_problem(cnn) == ("config.yaml: experiments[1].vary.kernel[1] is 4, an even size; "
                                 "use an odd one (3, 5, 7) so that a convolution keeps the image "
                                 "size")


@pytest.mark.parametrize(("where", "value", "line"), [
    (("base", "lr"), float("inf"), "config.yaml: base.lr is inf; give a finite number"),
    (("experiments", 6, "vary", "lr"), [float("nan")],
     "config.yaml: experiments[6].vary.lr[0] is nan; give a finite number"),
])
def test_a_number_that_is_not_finite_is_refused_where_it_is(default_config, where, value, line):
    node = default_config
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    assert any(p.startswith(line) for p in problems(default_config)), problems(default_config)


def test_a_seed_numpy_cannot_take_is_refused(default_config):
    default_config["seeds"] = [0, 2**64]
    assert only_problem(default_config).startswith(
        "config.yaml: seeds[1] is 18446744073709551616; must be")


def test_lr_inf_in_yaml_stops_the_workflow_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    path = make_workdir(tmp_path, config)
    path.write_text(path.read_text().replace("lr: 0.001", "lr: .inf"))
    assert "lr: .inf" in path.read_text()
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                           "--cores", "1", "--configfile", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "base.lr is inf; give a finite number" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_a_name_too_long_for_a_folder_is_refused_with_its_length(default_config):
    default_config["study"] = "x" * 300
    assert only_problem(default_config) == (f"config.yaml: study is '{'x' * 56}... (300 "
                                            f"characters); use at most 100")


def test_a_target_of_an_undeclared_seed_is_no_run(tmp_path, default_config):
    make_workdir(tmp_path, default_config)
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "-n",
                           "results/fashion_mnist/runs/base/seed7/run.json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "KeyError" not in proc.stdout + proc.stderr
    assert "No rule to produce results/fashion_mnist/runs/base/seed7/run.json" in proc.stdout
