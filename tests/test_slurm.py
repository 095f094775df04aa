"""The workflow on a real SLURM cluster: a single-node SLURM with job accounting starts on this
machine (tests/slurm_cluster.py), and the tiny study runs through Snakemake's SLURM executor with
the project's profile, its two lines edited as the README says. sacct then shows what went
through the scheduler: one job per training run, with the CPUs, memory, wall time, partition and
account the workflow asked for; packing the data, figures, tables and the report ran in
Snakemake's own process (localrules)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
import yaml

from conftest import (
    ROOT,
    make_workdir,
    needs_fashion_mnist,
    pdf_text,
    run_snakemake,
    study_config,
)
from slurm_cluster import ACCOUNT, OTHER_PARTITION, PARTITION, LocalSlurm, why_not

PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
SACCT_FIELDS = ("JobID", "Comment", "State", "Partition", "Account", "AllocCPUS", "ReqMem",
                "Timelimit", "Elapsed", "ExitCode")


@pytest.fixture(scope="module")
def cluster():
    reason = why_not()
    if reason:
        if os.environ.get("CI"):  # CI installs everything (make test): a skip would hide a gap
            pytest.fail(f"no single-node SLURM in CI: {reason}")
        pytest.skip(reason)
    with LocalSlurm() as slurm:
        yield slurm


def edited_profile(folder: Path, partition: str, account: str, extra: dict) -> Path:
    """The project's SLURM profile with its two lines edited as the README shows, plus `extra`
    settings; returns the profile's folder."""
    text = PROFILE.read_text()
    for key, value in (("slurm_partition", partition), ("slurm_account", account)):
        line = f'{key}: ""'
        assert line in text, f"{PROFILE.relative_to(ROOT)} lost its line `{line}` (README)"
        text = text.replace(line, f'{key}: "{value}"')
    folder.mkdir()
    (folder / "config.yaml").write_text(text + (yaml.safe_dump(extra) if extra else ""))
    return folder


def sacct_jobs(slurm: LocalSlurm, since: str) -> list[dict[str, str]]:
    """Every job (allocation) sacct recorded since `since`, one dict of SACCT_FIELDS each."""
    out = slurm.run("sacct", "-a", "-X", "-n", "-P", "-S", since,
                    f"--format={','.join(SACCT_FIELDS)}")
    return [dict(zip(SACCT_FIELDS, line.split("|"), strict=True))
            for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The tiny study (one epoch) built through the SLURM executor: its folder, the output,
    the jobs sacct recorded, and the wall time."""
    tmp = tmp_path_factory.mktemp("slurm")
    path = make_workdir(tmp, study_config("tiny", epochs=1))
    # training jobs on the other partition with 2 CPUs each: both from the profile, as a user
    # sends them to a GPU partition (README) or gives them more threads
    profile = edited_profile(tmp / "profile", PARTITION, ACCOUNT, {
        "set-resources": {"train": {"slurm_partition": OTHER_PARTITION}},
        "set-threads": {"train": 2}})
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
    start = time.monotonic()
    proc = run_snakemake(tmp, "report/tiny.pdf", "--profile", str(profile),
                         "--slurm-init-seconds-before-status-checks", "2",
                         config=path, env=cluster.env)
    seconds = time.monotonic() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return {"dir": tmp, "output": output, "jobs": sacct_jobs(cluster, since), "seconds": seconds}


def rule_of(job: dict[str, str]) -> str:
    """The rule of a job, from the comment the executor gives it (rule_train_wildcards_...)."""
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]


@needs_fashion_mnist
def test_the_tiny_study_builds_its_report_through_slurm(slurm_run):
    pdf = slurm_run["dir"] / "report" / "tiny.pdf"
    assert pdf.exists()
    text = pdf_text(pdf, raw=True)
    assert "Informe de prueba" in text and "??" not in text
    print(f"\nSLURM build of the tiny study: {slurm_run['seconds']:.0f} s")  # for the notes
    for job in slurm_run["jobs"]:
        print(" | ".join(job[field] for field in SACCT_FIELDS))


@needs_fashion_mnist
def test_the_training_runs_went_through_the_scheduler_and_nothing_else(slurm_run):
    jobs = slurm_run["jobs"]
    assert all(job["State"] == "COMPLETED" and job["ExitCode"] == "0:0" for job in jobs), jobs
    rules = sorted(rule_of(job) for job in jobs)
    assert rules == ["train"] * 4, rules  # base, n1~16, n1~64, optimizer~sgd
    trained = sorted(job["Comment"].split("_wildcards_")[1] for job in jobs
                     if rule_of(job) == "train")
    assert trained == ["base_0", "n1~16_0", "n1~64_0", "optimizer~sgd_0"]
    assert all(job["Account"] == ACCOUNT for job in jobs)


@needs_fashion_mnist
def test_each_training_job_got_what_its_rule_asked_for_and_used_it(slurm_run):
    from nnreport.studies import resources

    config = yaml.safe_load((slurm_run["dir"] / "config.yaml").read_text())
    memory = resources.memory_mb(config)
    for job in slurm_run["jobs"]:
        assert job["Partition"] == OTHER_PARTITION  # set-resources in the profile
        assert job["AllocCPUS"] == "2"  # set-threads in the profile
        assert job["ReqMem"] == f"{memory}M"
        assert job["Timelimit"] == "00:05:00"  # the shortest a run asks for (tiny)
    for run in ("base", "n1~16", "n1~64", "optimizer~sgd"):
        info = json.loads((slurm_run["dir"] / "results" / "tiny" / "runs" / run / "seed0"
                           / "run.json").read_text())
        assert info["threads"] == 2, run  # its math threads: what the job was given
        assert 0 < info["peak_memory_mb"] < memory, run


@needs_fashion_mnist
def test_a_second_slurm_run_submits_nothing(slurm_run, cluster):
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    profile = slurm_run["dir"] / "profile"
    proc = run_snakemake(slurm_run["dir"], "report/tiny.pdf", "--profile", str(profile),
                         config=slurm_run["dir"] / "config.yaml", env=cluster.env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert sacct_jobs(cluster, since) == []


@needs_fashion_mnist
def test_the_profile_as_shipped_runs_on_the_default_partition(slurm_run, cluster):
    # its two lines left empty: SLURM's default partition, the account the executor guesses
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    target = "results/tiny/runs/base/seed0/metrics.parquet"
    proc = run_snakemake(slurm_run["dir"], target, "--force", "--profile", str(PROFILE.parent),
                         "--slurm-init-seconds-before-status-checks", "2",
                         config=slurm_run["dir"] / "config.yaml", env=cluster.env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    jobs = sacct_jobs(cluster, since)
    assert [(rule_of(j), j["Partition"], j["AllocCPUS"], j["State"]) for j in jobs] == [
        ("train", PARTITION, "1", "COMPLETED")]


STUDENT_MLP = '''\
from torch import nn


class MiMLP(nn.Module):
    def __init__(self, n1=32, p=0.2, n_classes=10):
        super().__init__()
        self.red = nn.Sequential(nn.Flatten(), nn.Linear(784, n1), nn.ReLU(), nn.Dropout(p),
                                 nn.Linear(n1, n_classes))

    def forward(self, x):
        return self.red(x)
'''


@needs_fashion_mnist
def test_a_students_class_trains_on_the_compute_node_and_its_edit_retrains_its_runs(
        cluster, tmp_path):
    # the student's file is read where Snakemake runs (the checks) and on the node (the job)
    config = study_config("tiny", epochs=1)
    config["base"] = {"model": "mi_mlp.py:MiMLP", "n1": 32, "p": 0.2, "optimizer": "adam",
                      "batch_size": 256, "lr": 1.0e-3}
    config["experiments"] = config["experiments"][:2]  # base and n1: 16, 64
    path = make_workdir(tmp_path, config)
    (tmp_path / "mi_mlp.py").write_text(STUDENT_MLP)
    profile = edited_profile(tmp_path / "profile", PARTITION, ACCOUNT, {})
    target = "results/tiny/runs.parquet"
    trained = []
    for source in (STUDENT_MLP, STUDENT_MLP.replace("nn.ReLU()", "nn.GELU()")):
        (tmp_path / "mi_mlp.py").write_text(source)
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 1))
        proc = run_snakemake(tmp_path, target, "--profile", str(profile),
                             "--slurm-init-seconds-before-status-checks", "2", config=path,
                             env=cluster.env)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
        jobs = sacct_jobs(cluster, since)
        assert all(j["State"] == "COMPLETED" for j in jobs), jobs
        trained.append(sorted(j["Comment"].split("_wildcards_")[1] for j in jobs))
        run = json.loads((tmp_path / "results" / "tiny" / "runs" / "base" / "seed0"
                          / "run.json").read_text())
        assert run["code"] == {"file": "mi_mlp.py", "sha256": hashlib.sha256(
            source.encode()).hexdigest()}
    assert trained == [["base_0", "n1~16_0", "n1~64_0"]] * 2  # the edit retrained all three
