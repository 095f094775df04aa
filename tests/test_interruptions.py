"""A workflow killed for real (SIGKILL) leaves nothing that looks finished, a rerun retrains
the killed run only, and a second invocation on a running folder is refused, after --unlock
too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from conftest import (
    ROOT,
    SNAKEMAKE,
    copy_study,
    job_counts,
    make_workdir,
    needs_fashion_mnist,
    processes_working_in,
    snakemake,
)
from nnreport.base.integrity import (
    HEARTBEAT,
    MISSED_BEATS,
    mark_running,
    running_message,
    running_workflow,
    unmark_running,
)


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
    config["epochs"] = 50
    # the base trains in seconds; batch size 1 makes the other run far too long to finish
    config["experiments"] = [config["experiments"][0],
                             {"id": "batch", "objective": "Lento.", "vary": {"batch_size": [1]}}]
    path = make_workdir(tmp_path, config)
    runs = tmp_path / "results" / "tiny" / "runs"
    snakemake(tmp_path, "--cores", "1", "results/tiny/runs/base/seed0/run.json", config=path)
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
           "report/tiny.pdf", "--configfile", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    slow_log = tmp_path / "logs" / "tiny" / "train" / "batch_size~1" / "seed0.log"
    try:
        assert wait_for(lambda: slow_log.exists() and "epoch   1/" in slow_log.read_text(),
                        timeout=300), "the slow run never started"
        # a second invocation on the same folder is refused while the first one runs, even
        # after --unlock removed Snakemake's lock (which says only that a workflow ran)
        running = f"another workflow is running in this folder: pid {proc.pid}, started "
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0 and running in second.stdout + second.stderr
        unlock = snakemake(tmp_path, "--unlock", config=path)
        assert f"pid {proc.pid} (`snakemake " in unlock and "still runs in this folder" in unlock
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        out = second.stdout + second.stderr
        assert second.returncode != 0 and running in out and "Nothing was run." in out
        assert "damaged" not in out and "Traceback" not in out
        assert proc.poll() is None  # the first one goes on untouched
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # nothing of the killed run looks finished: no output, no temporary file left behind
    assert {p.parent.parent.name for p in runs.glob("*/seed0/run.json")} == {"base"}
    assert not list((runs / "batch_size~1" / "seed0").glob("*"))
    assert not list(tmp_path.rglob("*.tmp"))
    snakemake(tmp_path, "--unlock", config=path)  # SIGKILL leaves Snakemake's lock behind
    out = snakemake(tmp_path, "-n", "report/tiny.pdf", config=path)  # and the dead one's pid
    assert job_counts(out)["train"] == 1 and "another workflow" not in out
    assert "variant=batch_size~1," in out


def test_a_workflow_counts_as_running_while_its_snakemake_lives_on_this_machine(tmp_path):
    record = tmp_path / "running.json"
    mark_running(record)
    mine = json.loads(record.read_text())
    assert mine["pid"] == os.getpid() and mine["host"] == socket.gethostname()
    assert running_workflow(record) is None  # this process itself
    unmark_running(record)  # at its exit
    assert not record.exists()
    sleeper = "import time; time.sleep(60)"
    alive = subprocess.Popen([sys.executable, "-c", sleeper, "snakemake"])  # "snakemake" in argv
    other = subprocess.Popen([sys.executable, "-c", sleeper])  # a pid a new process took
    try:
        for proc, running in ((alive, True), (other, False)):
            record.write_text(json.dumps({"pid": proc.pid, "host": socket.gethostname()}))
            found = running_workflow(record)
            assert (found is not None) is running, (proc.args, found,
                                                    Path(f"/proc/{proc.pid}/cmdline").read_bytes())
        record.write_text(json.dumps({"pid": alive.pid, "host": "otro-nodo"}))
        assert running_workflow(record) is None  # its pid says nothing here, nor a heartbeat
        # on another machine sharing the folder, its heartbeat says whether it runs
        for age, running in ((5, True), (MISSED_BEATS * HEARTBEAT + 1, False)):
            record.write_text(json.dumps({"pid": 4242, "host": "otro-nodo",
                                          "beat": time.time() - age, "every": HEARTBEAT}))
            assert (running_workflow(record) is not None) is running, age
        record.write_text(json.dumps({"pid": 4242, "host": "otro-nodo", "beat": time.time()}))
        assert "pid 4242 on otro-nodo, started" in running_message(running_workflow(record))
        assert "kill 4242 on otro-nodo" in running_message(running_workflow(record))
    finally:
        alive.kill(), other.kill()
        alive.wait(), other.wait()
    record.write_text(json.dumps({"pid": alive.pid, "host": socket.gethostname()}))
    assert running_workflow(record) is None  # it died (kill -9 leaves the record behind)
    for damaged in ("", "{", '{"pid": "x"}', "[]",
                    '{"pid": 4242, "host": "otro-nodo", "beat": "x"}',
                    '{"pid": 4242, "host": "otro-nodo", "beat": 1e12, "every": "x"}'):
        record.write_text(damaged)
        assert running_workflow(record) is None
    mark_running(record)  # another's record written meanwhile is left alone at its exit
    record.write_text(json.dumps({"pid": alive.pid}))
    unmark_running(record)
    assert record.exists()
    # this workflow's heartbeat: rewritten while it runs, stopped with its record
    mark_running(record, every=0.1)
    first = json.loads(record.read_text())["beat"]
    assert wait_for(lambda: json.loads(record.read_text())["beat"] > first, timeout=5)
    unmark_running(record)
    time.sleep(0.3)
    assert not record.exists()  # no beat wrote it again
    mark_running(record, every=0.1)  # another's record ends this one's heartbeat
    record.write_text(json.dumps({"pid": alive.pid}))
    time.sleep(0.3)
    assert json.loads(record.read_text()) == {"pid": alive.pid}
    unmark_running(record)


def _latexmk_running_in(folder) -> bool:
    """Whether a latexmk (or pdflatex) process works in `folder` right now."""
    return bool({"latexmk", "pdflatex", "bibtex"} & set(processes_working_in(folder)))


@needs_fashion_mnist
def test_a_latex_step_killed_midway_leaves_the_previous_pdf_aside_and_the_readme_recovers(
        tiny_study, tmp_path):
    workdir, path = copy_study(tiny_study, tmp_path)
    pdf = workdir / "report" / "tiny.pdf"
    before = pdf.read_bytes()
    # the author edits the last section: a loop of a few seconds after the first pages went
    # out, so that each LaTeX pass runs a while with the new, incomplete informe.pdf on disk
    with open(workdir / "report" / "sections" / "agradecimientos.tex", "a") as prose:
        prose.write("\n\\newcount\\busy\\loop\\advance\\busy by1 "
                    "\\ifnum\\busy<20000000\\repeat\n")
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "1",
           "report/tiny.pdf", "--configfile", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    build = (workdir / "report" / "build" / "tiny").resolve()
    try:
        # killed while LaTeX writes the new PDF: an output Snakemake marks incomplete
        assert wait_for(lambda: _latexmk_running_in(build) and (build / "informe.pdf").exists(),
                        timeout=300), "LaTeX never ran"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # no report claims to be current; the previous one stays readable beside it
    previous = pdf.with_name("tiny.previous.pdf")
    assert not pdf.exists() and previous.read_bytes() == before
    # the README's recovery: --unlock, then the same command (the default profile reruns the
    # killed job's incomplete output instead of stopping with IncompleteFilesException)
    snakemake(workdir, "--unlock", config=path)
    out = snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=path)
    assert "localrule report:" in out and "Incomplete" not in out
    assert pdf.read_bytes().startswith(b"%PDF") and not previous.exists()
