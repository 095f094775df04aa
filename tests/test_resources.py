"""What each job asks a scheduler for (nnreport.studies.resources and the rules): every rule
declares memory and wall time, sized from the job's data, model and epochs."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, dry_run_jobs, make_workdir, snakemake, study_config, train_jobs
from nnreport.config.grid import run_configs
from nnreport.studies import resources


def tiny(**changes) -> dict:
    return study_config("tiny", **changes)


def test_memory_follows_the_images_a_job_holds():
    fashion = tiny()
    emnist = tiny(dataset={"name": "emnist", "split": "bymerge", "n_val": 10_000})
    assert resources.data_mb(fashion) == pytest.approx(70_000 * 784 / 1e6)
    assert resources.data_mb(emnist) == pytest.approx(814_255 * 784 / 1e6)
    assert resources.memory_mb(fashion) < resources.memory_mb(emnist)
    cifar = tiny(dataset={"name": "cifar10", "n_val": 10_000})  # 60,000 x 3 x 32 x 32 bytes
    assert resources.data_mb(cifar) == pytest.approx(60_000 * 3072 / 1e6)
    assert resources.memory_mb(fashion) < resources.memory_mb(cifar)
    # the from-scratch MLP holds float32 copies of its images besides the uint8 ones
    assert resources.memory_mb(emnist) < resources.memory_mb(emnist, "numpy")
    # a PyTorch run on FashionMNIST peaked at 1.06 GB (sacct's MaxRSS): asked with a margin
    assert 1.4 * 1060 < resources.memory_mb(fashion) < 3 * 1060
    assert all(resources.memory_mb(c, b) % 256 == 0 for c in (fashion, emnist)
               for b in ("torch", "numpy"))
    # a retry comes back with twice the memory; a GPU job adds CUDA's host libraries
    assert resources.memory_mb(fashion, attempt=2) == 2 * resources.memory_mb(fashion)
    assert resources.memory_mb({**fashion, "device": "cuda"}) > resources.memory_mb(fashion)


def test_split_sizes_follow_the_dataset_and_the_caps():
    assert resources.split_sizes(tiny()) == (2000, 1000, 0)  # max_train, max_val
    full = tiny(max_train=None, max_val=None)
    assert resources.split_sizes(full) == (60_000, 10_000, 0)
    held = tiny(max_train=None, max_val=None, max_test=None,
                dataset={"name": "emnist", "split": "balanced", "holdout_test": True,
                         "n_val": 5000})
    assert resources.split_sizes(held) == (131_600 - 5000 - 18_800, 5000, 18_800)
    drawn = tiny(max_train=None, dataset={"name": "fashion_mnist", "n_val": 10_000,
                                          "n_test": 5000, "n_train": 20_000})
    assert resources.split_sizes(drawn) == (20_000, 1000, 5000)


def test_wall_time_grows_with_the_work_and_doubles_on_a_retry():
    config = tiny(max_train=None, max_val=None, epochs=30)
    runs = run_configs(config)
    base = runs["base", 0]
    units = resources.train_units(config, base)
    assert units == pytest.approx(resources.train_units({**config, "epochs": 15},
                                                        {**base, "epochs": 15}) * 2)
    assert resources.minutes(0) == resources.MIN_MINUTES
    assert resources.minutes(units) <= resources.minutes(units * 10)
    assert resources.minutes(units * 100, attempt=2) == 2 * resources.minutes(units * 100)
    # the base MLP, 30 epochs on 60,000 images: 0.37 s an epoch measured, at most minutes asked
    assert resources.minutes(units) * 60 > 30 * 0.37 * resources.SAFETY
    cnn = {**base, "hparams": {"model": "cnn", "channels": 32, "kernel": 3, "blocks": 2,
                               "p": 0.25, "dense": 128, "batch_size": 128}, "epochs": 6}
    # a CNN with 32 filters took 21 s an epoch on 50,000 + 10,000 images (one thread)
    assert resources.minutes(resources.train_units(config, cnn)) * 60 > 6 * 21 * 2


def test_every_rule_declares_memory_and_wall_time(tmp_path):
    rules = set(re.findall(r"^rule (\w+):", "".join(
        p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")]),
        re.M)) - {"all"}
    seen: dict[str, list[str]] = {}
    # two seeds: the forest plot of the effects is drawn too
    test_set = tiny(dataset={"name": "fashion_mnist", "n_val": 10_000, "n_test": 1000},
                    seeds=[0, 1])
    studies = {"tiny": test_set, **{name: study_config(name)
                                    for name in ("tiny_models", "tiny_autoencoder")}}
    for name, config in studies.items():
        folder = tmp_path / name
        path = make_workdir(folder, config)
        out = snakemake(folder, "-n", "--forceall", "--cores", "2", config=path)
        for rule, fields in dry_run_jobs(out):
            seen.setdefault(rule, []).append(fields.get("resources", ""))
    seen.pop("all", None)  # the default target: no job of its own
    assert set(seen) == rules, f"rules no study ran: {sorted(rules - set(seen))}"
    for rule, lines in seen.items():
        for line in lines:
            assert re.search(r"\bmem_mb=\d+", line) and re.search(r"\bruntime=\d+", line), (
                f"rule {rule} declares no mem_mb or runtime: {line!r}")


def test_a_training_jobs_memory_adds_its_models_parameters_state_and_activations():
    config = tiny()
    base = config["base"]
    # the tiny MLP 784-32-16-10: 25,818 parameters; Adam keeps two moments besides the gradient
    assert resources.model_mb(config, base) == pytest.approx(
        (16 * 25_818 + 8 * 256 * (784 + 3 * (32 + 16) + 10)) / 1e6)
    assert resources.model_mb(config, {**base, "optimizer": "sgd"}) < resources.model_mb(
        config, base)
    big = {**base, "n1": 100_000}  # 78.4 M weights in the first layer alone
    assert resources.memory_mb(config, "torch", 1, big) > resources.memory_mb(config) + 1500
    assert resources.memory_mb(config, "torch", 1, base) == resources.memory_mb(config)


def test_train_jobs_declare_their_models_memory(tmp_path):
    config = tiny()
    config["experiments"][1]["vary"] = {"n1": [16, 200_000]}
    make_workdir(tmp_path, config)
    jobs = {fields["wildcards"]: fields for fields in train_jobs(snakemake(tmp_path, "-n"))}
    mem = {w: int(re.search(r"mem_mb=(\d+)", f["resources"])[1]) for w, f in jobs.items()}
    assert mem["variant=n1~200000, seed=0"] > mem["variant=n1~16, seed=0"] + 3000
