"""A full disk is named by the writers (issue 24): the file, its folder and how far it got,
with nothing half-written left and nothing finished changed. On a real 2 MB tmpfs (root only)."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from nnreport.base.io import OutputError, atomic_path, write_json

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        # lazily: a failed torch.save keeps its file open until it is collected
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


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
