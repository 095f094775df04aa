"""A damaged file the workflow wrote is named before any job runs, with the command that
rebuilds it; rebuilding it retrains nothing else (the real workflow)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import (
    ROOT,
    SNAKEMAKE,
    copy_study,
    job_counts,
    needs_fashion_mnist,
    run_snakemake,
    snakemake,
)
from nnreport.base.integrity import (
    DamagedFileError,
    damage,
    damaged_files,
    deleted_files,
    rebuild_command,
    stale_runs,
)
from nnreport.base.io import read_json, seal_of, sha256, write_json
from nnreport.config.grid import code_digest
from nnreport.data.dataset import Dataset
from nnreport.training.metrics import read_metrics, write_metrics


def test_damage_names_what_is_wrong_with_each_kind_of_file(tmp_path):
    good = tmp_path / "m.parquet"
    write_metrics(good, [{"epoch": 1, "split": "val", "loss": 1.0, "accuracy": 50.0, "lr": 0.1,
                          "seconds": 1.0}], {"variant": "base", "seed": 0})
    np.savez(tmp_path / "d.npz", a=np.arange(1000))
    (tmp_path / "r.json").write_text('{"a": 1}')
    assert damaged_files(tmp_path.iterdir()) == {}
    assert damage(tmp_path / "absent.parquet") is None
    for name, size in (("m.parquet", 20), ("d.npz", 100), ("r.json", 3)):
        path = tmp_path / name
        path.write_bytes(path.read_bytes()[:size])
    found = damaged_files(sorted(tmp_path.iterdir()))
    assert list(found) == [str(tmp_path / n) for n in ("d.npz", "m.parquet", "r.json")]
    assert found[str(tmp_path / "d.npz")].startswith("BadZipFile")
    assert found[str(tmp_path / "r.json")].startswith("JSONDecodeError")


def test_readers_name_a_damaged_file_and_the_command_that_rebuilds_it(tmp_path):
    metrics, data = tmp_path / "metrics.parquet", tmp_path / "data.npz"
    metrics.write_bytes(b"PAR1 not really")
    data.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DamagedFileError, match=rf"{metrics}: damaged, cannot be read .*"
                                               rf"snakemake --cores 1 {metrics}"):
        read_metrics(metrics)
    with pytest.raises(DamagedFileError, match=rf"{data}: damaged, cannot be read \(BadZipFile"):
        Dataset.load(data)
    assert rebuild_command(["a b.npz"], ["c.yaml"]) == (
        "rm -f -- 'a b.npz' && snakemake --cores 1 'a b.npz' --configfile c.yaml")


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def run_the_command(output: str, workdir) -> str:
    """Run the rebuild command a message gives, as the user would in the study's folder."""
    command = output.split("Rebuild ", 1)[1].split("`")[1]
    assert command.startswith("rm -f -- ") and " && snakemake --cores 1 " in command
    command = command.replace("snakemake", f"{SNAKEMAKE} -s {ROOT / 'Snakefile'}", 1)
    proc = subprocess.run(command, shell=True, cwd=workdir, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture
def built(tiny_study):
    """The session's built tiny study: every test here copies it before damaging it."""
    return tiny_study


@needs_fashion_mnist
def test_a_truncated_data_file_is_rebuilt_without_retraining_any_run(built, tmp_path):
    workdir, config = copy_study(built, tmp_path)
    data = workdir / "data" / "tiny" / "fashion_mnist.npz"
    results = snapshot(workdir / "results")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    failed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "data/tiny/fashion_mnist.npz: damaged, cannot be read (BadZipFile" in out
    assert "Nothing was run and no finished result was touched" in out
    assert snapshot(workdir / "results") == results
    assert job_counts(run_the_command(out, workdir)) == {"prepare_data": 1}
    assert "Nothing to be done" in snakemake(workdir, "-n", "report/tiny.pdf", config=config)
    # the data counts by its config: another split retrains every run
    other = run_snakemake(workdir, "-n", "report/tiny.pdf", "--config",
                          "dataset={name: fashion_mnist, n_train: 60000, n_val: 10000, "
                          "split_seed: 1}", config=config)
    assert job_counts(other.stdout)["train"] == 4


@needs_fashion_mnist
def test_a_corrupt_metrics_file_is_named_and_only_its_run_retrains(built, tmp_path):
    workdir, config = copy_study(built, tmp_path)
    runs = workdir / "results" / "tiny" / "runs"
    metrics = runs / "n1~16" / "seed0" / "metrics.parquet"
    metrics.write_bytes(b"this is not parquet")
    others = {p: p.read_bytes() for p in runs.rglob("*") if p.is_file() and "n1~16" not in str(p)}
    failed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "results/tiny/runs/n1~16/seed0/metrics.parquet: damaged, cannot be read" in out
    assert job_counts(run_the_command(out, workdir)) == {"train": 1}
    assert all(p.read_bytes() == b for p, b in others.items())
    out = snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    assert "train" not in job_counts(out)
    assert len(pd.read_parquet(metrics)) > 0
    assert json.loads((runs / "n1~16" / "seed0" / "run.json").read_text())["variant"] == "n1~16"


@needs_fashion_mnist
def test_a_deleted_run_folder_is_retrained_alone_then_the_report(built, tmp_path):
    workdir, config = copy_study(built, tmp_path)
    runs = workdir / "results" / "tiny" / "runs"
    others = {p: p.read_bytes() for p in runs.rglob("*.pt") if "n1~64" not in str(p)}
    shutil.rmtree(runs / "n1~64")
    out = snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    jobs = job_counts(out)
    assert jobs["train"] == 1 and jobs["aggregate"] == 1 and jobs["report"] == 1
    assert "prepare_data" not in jobs
    assert "are gone or were built from another config than the config now gives" in out
    assert (runs / "n1~64" / "seed0" / "model.pt").is_file()
    assert all(p.read_bytes() == b for p, b in others.items())  # nothing finished retrained
    assert "Nothing to be done" in snakemake(workdir, "-n", "report/tiny.pdf", config=config)


@needs_fashion_mnist
@pytest.mark.parametrize("deleted", [("results",), ("results", "data"), ("data",),
                                     ("results", ".snakemake")])
def test_deleted_results_or_data_rebuild_every_run_and_the_report(built, tmp_path, deleted):
    workdir, config = copy_study(built, tmp_path)
    for name in deleted:
        shutil.rmtree(workdir / name)
    jobs = job_counts(snakemake(workdir, "-n", "report/tiny.pdf", config=config))
    assert jobs["train"] == 4 and jobs["report"] == 1 and jobs["publish_report"] == 1
    assert ("prepare_data" in jobs) == ("data" in deleted)


@needs_fashion_mnist
def test_a_run_deleted_without_snakemakes_metadata_is_still_rebuilt(built, tmp_path):
    workdir, config = copy_study(built, tmp_path)
    shutil.rmtree(workdir / ".snakemake")
    shutil.rmtree(workdir / "results" / "tiny" / "runs" / "base")
    jobs = job_counts(snakemake(workdir, "-n", "report/tiny.pdf", config=config))
    assert jobs["train"] == 1 and jobs["report"] == 1


def test_deleted_files_lists_what_was_built_and_is_gone_not_what_never_was(tmp_path):
    runs = {("base", 0): [str(tmp_path / "base.pt")], ("new", 0): [str(tmp_path / "new.pt")]}
    table, report, data = (str(tmp_path / n) for n in ("runs.parquet", "r.pdf", "d.npz"))
    assert deleted_files(runs, table, report, data, []) == []  # nothing built yet
    pd.DataFrame({"variant": ["base"], "seed": [0]}).to_parquet(table)
    # base was built and is gone, with the data it was trained on; `new` was never built
    assert deleted_files(runs, table, report, data, []) == [data, str(tmp_path / "base.pt")]
    Path(table).unlink()
    Path(report).write_text("pdf")  # the report was built from every run declared then
    assert deleted_files(runs, table, report, data, [str(tmp_path / "final.json")]) == [
        data, str(tmp_path / "base.pt"), str(tmp_path / "new.pt"), str(tmp_path / "final.json")]


def flip_inside(path: Path) -> None:
    """Change one byte in the middle of a file, keeping its size and times (the file still
    parses: a zip's directory and a Parquet footer lie at its end)."""
    stat = path.stat()
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x01
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_sealed_file_changed_inside_is_damaged_and_its_readers_refuse_it(tmp_path):
    path = tmp_path / "evaluation.json"
    write_json(path, {"accuracy": 0.551, "n_test": 10000})
    assert seal_of(path).read_text().split() == [sha256(path), "evaluation.json"]
    assert damage(path) is None and read_json(path)["accuracy"] == 0.551
    path.write_text(path.read_text().replace("0.551", "0.255"))  # still valid JSON
    assert damage(path).startswith("its content changed after it was written (SHA-256 ")
    with pytest.raises(DamagedFileError, match="evaluation.json: damaged.*rebuild it with"):
        read_json(path)
    legacy = tmp_path / "old.json"  # written before seals existed: read as it is
    legacy.write_text('{"a": 1}')
    assert damage(legacy) is None and read_json(legacy) == {"a": 1}


@needs_fashion_mnist
@pytest.mark.parametrize("name", ["data/tiny/fashion_mnist.npz",
                                  "results/tiny/runs/n1~16/seed0/model.pt",
                                  "results/tiny/runs/n1~16/seed0/metrics.parquet",
                                  "results/tiny/runs/n1~16/seed0/predictions.parquet",
                                  "results/tiny/runs/n1~16/seed0/run.json",
                                  "results/tiny/summary.parquet"])
def test_a_byte_changed_inside_any_result_stops_the_workflow_naming_it(built, tmp_path, name):
    workdir, config = copy_study(built, tmp_path)
    path = workdir / name
    flip_inside(path)
    assert damage(path)  # the seal, if nothing else, tells
    before = {p: p.read_bytes() for p in (workdir / "results").rglob("*") if p.is_file()}
    failed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert f"{name}: damaged, cannot be read (" in out, out[-2000:]
    assert "Nothing was run and no finished result was touched" in out
    assert {p: p.read_bytes() for p in (workdir / "results").rglob("*") if p.is_file()} == before
    if name.endswith("model.pt"):  # its rebuild command retrains that run alone
        assert job_counts(run_the_command(out, workdir)) == {"train": 1}
        assert damage(path) is None


def _change(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))


@needs_fashion_mnist
def test_without_snakemakes_metadata_a_changed_config_is_still_seen(built, tmp_path):
    """The results' own records (run.json's config hash, the packed data's config) decide."""
    workdir, config = copy_study(built, tmp_path)
    shutil.rmtree(workdir / ".snakemake")
    assert "Nothing to be done" in snakemake(workdir, "-n", "report/tiny.pdf", config=config)
    _change(config, "lr: 0.001", "lr: 0.002")  # every run's config
    jobs = job_counts(snakemake(workdir, "-n", "report/tiny.pdf", config=config))
    assert jobs["train"] == 4 and jobs["report"] == 1 and "prepare_data" not in jobs
    one = job_counts(snakemake(workdir, "-n", "results/tiny/runs/base/seed0/run.json",
                               config=config))
    assert one == {"train": 1}  # a target of one run retrains that one only
    _change(config, "lr: 0.002", "lr: 0.001")
    _change(config, "split_seed: 0", "split_seed: 1")  # another split: the data, then all
    jobs = job_counts(snakemake(workdir, "-n", "report/tiny.pdf", config=config))
    assert jobs["prepare_data"] == 1 and jobs["train"] == 4


@needs_fashion_mnist
def test_a_touched_script_or_reordered_keys_retrain_nothing(built, tmp_path):
    workdir, config = copy_study(built, tmp_path)
    for script in (ROOT / "workflow" / "scripts").glob("*.py"):
        os.utime(script)  # newer than every result, the content unchanged (a fresh clone)
    study = yaml.safe_load(config.read_text())
    study["base"] = dict(reversed(list(study["base"].items())))
    config.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False))
    out = snakemake(workdir, "-n", "report/tiny.pdf", config=config)
    # no run retrains; the tables that print base's keys in the order written are redrawn
    assert "Nothing to be done" in out or not {"train", "prepare_data"} & set(job_counts(out))


def test_the_code_digest_follows_content_not_times_or_places(tmp_path):
    for where in ("a", "b"):
        (tmp_path / where / "pkg").mkdir(parents=True)
        (tmp_path / where / "pkg" / "m.py").write_text("x = 1\n")
    a, b = (code_digest([tmp_path / w / "pkg"]) for w in ("a", "b"))
    assert a == b
    os.utime(tmp_path / "a" / "pkg" / "m.py", (0, 0))
    assert code_digest([tmp_path / "a" / "pkg"]) == a
    (tmp_path / "a" / "pkg" / "m.py").write_text("x = 2\n")
    assert code_digest([tmp_path / "a" / "pkg"]) != a


@needs_fashion_mnist
def test_a_renamed_experiment_or_a_setting_that_changes_nothing_here_retrains_nothing(
        built, tmp_path):
    """Renaming a Table I experiment, `device: auto` to `cpu` on a machine without a GPU and
    `tf32: true` for runs trained on the CPU keep every run; the tables take the new name."""
    workdir, config = copy_study(built, tmp_path)
    _change(config, "- id: n1\n", "- id: ancho\n")
    _change(config, "device: auto", "device: cpu")
    config.write_text(config.read_text() + "tf32: true\n")
    bare = tmp_path / "bare"  # the same runs kept without Snakemake's records
    shutil.copytree(workdir, bare, symlinks=True)
    shutil.rmtree(bare / ".snakemake")
    dry = snakemake(bare, "-n", "report/tiny.pdf", config=bare / config.relative_to(workdir))
    assert "Nothing to be done" in dry or not {"train", "prepare_data"} & set(job_counts(dry))
    out = snakemake(workdir, "--cores", "2", "report/tiny.pdf", config=config)
    jobs = job_counts(out)
    assert not {"train", "prepare_data"} & set(jobs) and jobs["aggregate"] == 1
    runs = pd.read_parquet(workdir / "results" / "tiny" / "runs.parquet")
    assert set(runs.loc[runs["variant"].str.startswith("n1~"), "experiment"]) == {"ancho"}


def test_a_run_is_stale_when_it_trained_otherwise_than_device_and_tf32_ask(tmp_path):
    def recorded(device_type, tf32, h="h"):
        path = tmp_path / f"{device_type}-{tf32}-{h}.json"
        path.write_text(json.dumps({"hash": h, "device_type": device_type, "tf32": tf32}))
        return str(path)

    runs = {("cpu", 0): (recorded("cpu", False), "h"), ("gpu", 0): (recorded("cuda", False), "h"),
            ("gpu-tf32", 0): (recorded("cuda", True), "h"),
            ("other", 0): (recorded("cpu", False, "old"), "h"),
            ("new", 0): (str(tmp_path / "none.json"), "h")}
    assert stale_runs(runs, "auto", False) == [("gpu-tf32", 0), ("other", 0)]
    assert stale_runs(runs, "auto", True) == [("gpu", 0), ("other", 0)]  # TF32: only on a GPU
    assert stale_runs(runs, "cpu", True) == [("gpu", 0), ("gpu-tf32", 0), ("other", 0)]
    assert stale_runs(runs, "cuda", False) == [("cpu", 0), ("gpu-tf32", 0), ("other", 0)]


@needs_fashion_mnist
def test_device_cuda_without_a_gpu_is_refused_before_any_job(built, tmp_path):
    workdir, config = copy_study(built, tmp_path)
    _change(config, "device: auto", "device: cuda")  # the runs trained on the CPU: all again
    assert job_counts(snakemake(workdir, "-n", "report/tiny.pdf", config=config))["train"] == 4
    env = {"CUDA_VISIBLE_DEVICES": ""}  # no GPU for this process, on any machine
    proc = run_snakemake(workdir, "--cores", "2", "report/tiny.pdf", config=config, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "device: 'cuda' asks for a CUDA GPU and this machine shows none" in out
    assert "4 run(s) would train here" in out and "set device: auto" in out
    assert "Traceback" not in out and "common.smk" not in out and "rule train" not in out
    assert read_json(workdir / "results" / "tiny" / "runs" / "base" / "seed0" /
                     "run.json")["hash"] == read_json(built[0] / "results" / "tiny" / "runs" /
                                                      "base" / "seed0" / "run.json")["hash"]
