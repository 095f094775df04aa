"""A workflow killed for real (SIGKILL) leaves nothing that looks finished, a rerun retrains
the killed run only, and a second invocation on a running folder is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import yaml

from conftest import ROOT, SNAKEMAKE, job_counts, make_workdir, needs_fashion_mnist, snakemake


def wait_for(predicate, timeout: float) -> bool:
    """Poll `predicate` every 0.2 s until it holds or `timeout` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@needs_fashion_mnist
def test_a_killed_training_job_is_retrained_alone(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    config["epochs"] = 400  # long enough to be killed in the middle of the second run
    config["experiments"] = [config["experiments"][0], config["experiments"][2]]  # base, sgd
    path = make_workdir(tmp_path, config)
    runs = tmp_path / "results" / "tiny" / "runs"
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
           "report/tiny.pdf", "--configfile", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        def second_run_training() -> bool:
            logs = sorted((tmp_path / "logs" / "tiny" / "train").glob("*/seed0.log"))
            done = list(runs.glob("*/seed0/run.json"))
            return len(done) == 1 and any("epoch  10/" in p.read_text() for p in logs
                                          if p.parent.name != done[0].parent.parent.name)

        assert wait_for(second_run_training, timeout=300), "the second run never started"
        # a second invocation on the same folder is refused while the first one runs
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
        assert proc.poll() is None  # the first one goes on untouched
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = {p.parent.parent.name for p in runs.glob("*/seed0/run.json")}
    killed = ({"base", "optimizer~sgd"} - finished).pop()
    # nothing of the killed run looks finished: no output, no temporary file left behind
    assert not list((runs / killed / "seed0").glob("*"))
    assert not list(tmp_path.rglob("*.tmp"))
    snakemake(tmp_path, "--unlock", config=path)  # SIGKILL leaves Snakemake's lock behind
    out = snakemake(tmp_path, "-n", "report/tiny.pdf", config=path)
    assert job_counts(out)["train"] == 1
    assert f"variant={killed}," in out
