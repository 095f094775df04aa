import subprocess

import pandas as pd

from nnreport.reporting.provenance import git_state, provenance, versions


def test_git_state_reports_commit_and_dirty_tree(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    (tmp_path / "a").write_text("1")
    subprocess.run(["git", "add", "a"], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"],
                   **run)
    state = git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "a").write_text("2")
    assert git_state(tmp_path)["dirty"] is True


def test_provenance_sums_times_and_spans_the_grid(tmp_path):
    runs = pd.DataFrame({"train_seconds": [10.0, 20.0], "started_at": [100.0, 105.0],
                         "finished_at": [111.0, 130.0], "device_name": ["cpu", "cpu"],
                         "threads": [1, 1]})
    p = provenance({"a": 1}, runs, tmp_path)
    assert p["total_train_seconds"] == 30.0 and p["grid_wall_seconds"] == 30.0
    assert p["devices"] == ["cpu"] and p["threads"] == [1] and p["n_runs"] == 2
    assert set(versions()) >= {"python", "torch", "numpy", "snakemake"}


def test_the_tf32_state_is_that_of_the_gpu_runs(tmp_path):
    from nnreport.reporting.provenance import tf32_states

    runs = pd.DataFrame({"device_type": ["cpu", "cuda", "cuda"], "tf32": [False, True, True]})
    assert tf32_states(runs) == [True]
    assert tf32_states(runs.assign(tf32=[False, False, True])) == [False, True]
    assert tf32_states(runs.assign(device_type="cpu")) == []  # TF32 only exists on a GPU
    assert tf32_states(pd.DataFrame({"threads": [1]})) == []  # runs from before the switch


def test_where_a_run_trained_reaches_the_reports_provenance_through_runs_parquet(tmp_path):
    # run.json's device_type and tf32 travel in the metrics' metadata to runs.parquet, which
    # the report reads: before, summarise_run dropped them and the TF32 and GPU sentences
    # never saw a GPU run
    from nnreport.evaluation.statistics import summarise_run
    from nnreport.training.metrics import read_metrics, write_metrics

    rows = [{"epoch": 1, "split": s, "loss": 0.5, "accuracy": 0.8, "lr": 1e-3, "seconds": 1.0}
            for s in ("fit", "train", "val")]
    summaries = []
    for seed, device, tf32 in ((0, "cuda", True), (1, "cpu", False)):
        run = {"variant": "base", "seed": seed, "experiment": "base", "train_seconds": 1.0,
               "started_at": 1.0, "finished_at": 2.0, "device_name": device, "threads": 1,
               "device_type": device, "tf32": tf32}
        write_metrics(tmp_path / f"{seed}.parquet", rows, run)
        summaries.append(summarise_run(*read_metrics(tmp_path / f"{seed}.parquet")))
    runs = pd.DataFrame(summaries)
    p = provenance({"a": 1}, runs, tmp_path)
    assert p["gpu"] is True and p["tf32"] == [True]
    assert provenance({"a": 1}, runs.iloc[1:], tmp_path)["gpu"] is False
