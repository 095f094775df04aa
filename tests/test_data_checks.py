"""What the data allows is checked before any job: batch sizes against the training images,
the split against the dataset, a named dataset root (issue 10)."""

import pytest
import yaml
from test_model_checks import _tiny_models
from test_validation import SCHEMA, only_problem, problems

from conftest import ROOT
from nnreport.checks.config import validate_config


def _tiny() -> dict:
    return yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())


@pytest.mark.parametrize(("where", "line"), [
    (("base",), "base.batch_size is 4096, larger than the 2000 training images (max_train: "
                "2000); use at most 2000"),
    (("vary",), "experiments[1].vary.batch_size[1] is 4096, larger than the 2000 training "
                "images (max_train: 2000); use at most 2000"),
])
def test_a_batch_larger_than_the_training_images_is_refused(where, line):
    config = _tiny()
    if where == ("base",):
        config["base"]["batch_size"] = 4096
    else:
        config["experiments"][1]["vary"] = {"batch_size": [128, 4096]}
    assert only_problem(config) == f"config.yaml: {line}"


def test_without_max_train_the_dataset_split_decides_the_training_images(default_config):
    default_config["base"]["batch_size"] = 65536
    assert only_problem(default_config) == (
        "config.yaml: base.batch_size is 65536, larger than the 60000 training images "
        "(dataset.n_train: 60000); use at most 60000")
    del default_config["dataset"]["n_train"], default_config["dataset"]["n_val"]
    assert only_problem(default_config) == (
        "config.yaml: base.batch_size is 65536, larger than the 60000 training images "
        "(FashionMNIST's 70000 images pooled less n_val: 10000); use at most 60000")
    default_config["base"]["batch_size"] = 60000
    validate_config(default_config, SCHEMA, ["config.yaml"])
    default_config["dataset"]["n_test"] = 5000  # a test split comes out of the training images
    assert only_problem(default_config) == (
        "config.yaml: base.batch_size is 60000, larger than the 55000 training images "
        "(FashionMNIST's 70000 images pooled less n_val: 10000 and n_test: 5000); use at most "
        "55000")


def test_model_batch_sizes_are_checked_in_hparams_and_searches():
    config = _tiny_models()
    config["models"][0]["hparams"]["batch_size"] = 3000
    config["models"][1]["search"]["batch_size"] = [128, 4096]
    assert problems(config) == [
        "config.yaml: models[0].hparams.batch_size is 3000, larger than the 2000 training "
        "images (max_train: 2000); use at most 2000",
        "config.yaml: models[1].search.batch_size[1] is 4096, larger than the 2000 training "
        "images (max_train: 2000); use at most 2000"]
    config = yaml.safe_load((ROOT / "configs" / "emnist.yaml").read_text())
    config["models"][0]["hparams"]["batch_size"] = 700000  # held-out test: the training file
    assert only_problem(config) == (
        "config.yaml: models[0].hparams.batch_size is 700000, larger than the 677932 training "
        "images (EMNIST ByMerge's 697932 images of its training file less n_val: 20000); use "
        "at most 677932")


def test_a_batch_that_leaves_batchnorm_one_image_is_refused():
    config = _tiny_models()
    config["models"][3]["hparams"]["batch_size"] = 1999  # 2000 images: a last batch of one
    assert only_problem(config) == (
        "config.yaml: models[3].hparams.batch_size is 1999, and with BatchNorm (models[3].search."
        "batchnorm[0]) the last batch of the 2000 training images (max_train: 2000) holds one "
        "image, which BatchNorm cannot train on; use a batch size that leaves no batch of one, "
        "e.g. 2000")


@pytest.mark.parametrize(("dataset", "line"), [
    ({"n_train": 65000}, "dataset.n_train is 65000; with n_val: 10000 that is 75000 images, more "
                         "than FashionMNIST's 70000 images pooled; use at most 60000 or lower "
                         "n_val"),
    ({"n_train": None, "n_val": 70000}, "dataset.n_val is 70000, which leaves no training image "
                                        "of FashionMNIST's 70000 images pooled; use at most "
                                        "69999"),
    ({"n_train": 55000, "n_test": 10000}, "dataset.n_train is 55000; with n_val: 10000 and "
                                          "n_test: 10000 that is 75000 images, more than "
                                          "FashionMNIST's 70000 images pooled; use at most "
                                          "50000 or lower n_val or n_test"),
    ({"n_train": None, "n_test": 60000}, "dataset.n_test is 60000, which with n_val: 10000 "
                                         "leaves no training image of FashionMNIST's 70000 "
                                         "images pooled; use at most 59999"),
    ({"n_test": 5000, "holdout_test": True}, "dataset.n_test is 5000, but holdout_test: true "
                                             "makes the test file the test set; remove n_test, "
                                             "or set holdout_test: false to draw the test "
                                             "images from the pooled images"),
])
def test_a_split_that_does_not_fit_the_dataset_is_refused(default_config, dataset, line):
    default_config["dataset"].update(dataset)
    assert only_problem(default_config) == f"config.yaml: {line}"


def test_a_named_dataset_root_must_hold_the_dataset(tmp_path, default_config):
    default_config["dataset"]["root"] = str(tmp_path / "fashion")
    line = only_problem(default_config)
    assert line.startswith(f"config.yaml: dataset.root is '{tmp_path / 'fashion'}'; "
                           f"{tmp_path / 'fashion'} is not a folder (looked for "
                           "train-images-idx3-ubyte, train-labels-idx1-ubyte, ")
    assert line.endswith(f"put the four files in {tmp_path / 'fashion'}, or set root: null to "
                         "use Debian's /usr/share/datasets/fashion-mnist or torchvision's "
                         "download")
    config = yaml.safe_load((ROOT / "configs" / "emnist.yaml").read_text())
    config["dataset"]["root"] = str(tmp_path)
    assert only_problem(config).startswith(
        f"config.yaml: dataset.root is '{tmp_path}'; none of {tmp_path}, {tmp_path / 'gzip'}, "
        f"{tmp_path / 'EMNIST' / 'raw'} holds emnist-bymerge-train-images-idx3-ubyte, ")


def test_convolution_blocks_that_halve_the_images_to_nothing_are_refused_by_name():
    from nnreport.checks.data import pooling_problems

    config = {"dataset": {"name": "mnist"}, "base": {"model": "cnn", "blocks": 2},
              "experiments": [{"id": "b", "vary": {"blocks": [3, 5]}}]}
    problems = list(pooling_problems(config, {}))
    assert [p.path for p in problems] == [("experiments", 0, "vary", "blocks", 1)]
    assert "blocks: 5 halves a 28x28 image to nothing; use at most 4" in problems[0].text


def test_a_run_too_big_for_the_memory_is_refused_naming_its_knob_and_estimate():
    config = _tiny()
    config["base"]["n1"] = 10**7  # 8e9 parameters: 190 GB with Adam's state
    [line] = problems(config)
    assert line.startswith("config.yaml: base.n1 is 10000000: a run needs about 190.8 GB "
                           "(8.01e+09 parameters with their gradients and optimiser state, and "
                           "the activations of a batch of 256 images), more than this "
                           "machine's memory (")
    config = _tiny()
    config["experiments"][1]["vary"] = {"n1": [16, 100_000]}  # 80 M parameters
    config["memory_limit_mb"] = 2000  # the other runs need 1.2 GB (the step and the data)
    assert only_problem(config).startswith(
        "config.yaml: experiments[1].vary.n1[1] is 100000: a run needs about 3.1 GB")
    assert "more than memory_limit_mb: 2000 (2.0 GB)" in only_problem(config)
    config["memory_limit_mb"] = 64_000  # a cluster node's
    validate_config(config, SCHEMA, ["config.yaml"])
