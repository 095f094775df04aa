"""A full disk is named by the writers (issue 24): the file, its folder and how far it got,
with nothing half-written left and nothing finished changed. On a real small tmpfs (root only):
each writer, then the whole workflow with results/ on one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import (
    copy_study,
    job_counts,
    needs_fashion_mnist,
    run_snakemake,
    snakemake,
)
from nnreport.base.io import OutputError, atomic_path, write_json

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@contextlib.contextmanager
def tmpfs(folder, size: str):
    """`folder` (made empty) as a tmpfs of `size` while the block runs (skip where no mount)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        # lazily: a failed torch.save keeps its file open until it is collected
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "disk", "2m") as folder:
        yield folder


@pytest.mark.parametrize("kind", ["torch", "parquet", "npz"])
def test_a_write_that_fills_the_disk_names_it_and_leaves_nothing(small_disk, kind):
    finished = small_disk / "run.json"
    write_json(finished, {"done": True})
    before = finished.read_bytes()
    path = small_disk / {"torch": "model.pt", "parquet": "predictions.parquet",
                         "npz": "data.npz"}[kind]
    big = np.random.default_rng(0).random(1_000_000)  # 8 MB: four times the disk
    with pytest.raises(OutputError) as caught, atomic_path(path) as tmp:
        if kind == "torch":
            torch.save({"w": torch.from_numpy(big)}, tmp)
        elif kind == "parquet":
            pd.DataFrame({"x": big}).to_parquet(tmp)
        else:
            with open(tmp, "wb") as f:
                np.savez(f, x=big)
    message = str(caught.value)
    assert message.startswith(f"cannot write {path}: No space left on device; the disk of "
                              f"{small_disk} filled after "), message
    assert " MB of this file; free more room than that there" in message
    assert "Nothing already finished was changed" in message
    assert sorted(p.name for p in small_disk.iterdir()) == [".run.json.sha256", "run.json"]
    assert finished.read_bytes() == before


def test_latex_on_a_full_disk_is_told_as_a_full_disk(small_disk):
    from nnreport.reporting.build import LatexError, compile_pdf

    tex = small_disk / "informe.tex"
    tex.write_text("\\documentclass{article}\\begin{document}Hola\\end{document}\n")
    free = os.statvfs(small_disk)  # fill the disk but for a page: LaTeX's files will not fit
    (small_disk / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 4096))
    with pytest.raises(LatexError, match=f"the disk of {small_disk} is full; free some space"):
        compile_pdf(tex)


@needs_fashion_mnist
def test_a_workflow_whose_results_disk_fills_names_it_and_the_rerun_recovers(tiny_study,
                                                                           tmp_path):
    """The real workflow with results/ on a small disk: a run deleted by hand is retrained
    while the disk has no room for its model; the failure says so in a line, no traceback,
    nothing half-written, every finished run untouched; with room made, the same command
    retrains that run alone and builds the report."""
    workdir, path = copy_study(tiny_study, tmp_path)
    results = workdir / "results"
    shutil.move(results, tmp_path / "built")
    with tmpfs(results, "4m"):
        shutil.copytree(tmp_path / "built", results, dirs_exist_ok=True)
        runs = results / "tiny" / "runs"
        [gone, *kept] = sorted(p for p in runs.iterdir() if p.name != "base")
        kept_files = {p: p.read_bytes() for p in runs.rglob("*")
                      if p.is_file() and gone not in p.parents}
        shutil.rmtree(gone)
        free = os.statvfs(results)  # room for the small files, not for a model of 0.4 MB
        (results / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 64 * 1024))
        proc = run_snakemake(workdir, "--cores", "2", "report/tiny.pdf", config=path)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "No space left on device; the disk of" in " ".join(out.split()), out[-3000:]
        assert "Traceback" not in out and "common.smk" not in out
        assert not list(results.rglob("*.tmp")) and not list(gone.rglob("*.pt"))
        assert {p: p.read_bytes() for p in kept_files} == kept_files
        (results / "filler").unlink()
        out = snakemake(workdir, "--cores", "2", "report/tiny.pdf", config=path)
        assert job_counts(out)["train"] == 1 and (gone / "seed0" / "model.pt").is_file()
        assert (workdir / "report" / "tiny.pdf").read_bytes().startswith(b"%PDF")
