"""The real Snakemake on a tiny config, all the way to a PDF, plus dry runs of the default."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, needs_fashion_mnist

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())


def snakemake(workdir: Path, *args: str, config: Path | None = None) -> str:
    """Run the real Snakemake on the repository's Snakefile in `workdir`; return its output."""
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), *args]
    if config:
        cmd += ["--configfile", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table that Snakemake prints."""
    table = output.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m[1] != "total"}


def make_workdir(tmp: Path, config: dict) -> Path:
    """A working folder with the author's prose, the bibliography and `config`."""
    shutil.copytree(ROOT / "report" / "sections", tmp / "report" / "sections")
    shutil.copy(ROOT / "report" / "refs.bib", tmp / "report" / "refs.bib")
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def test_default_config_dry_run_lists_exactly_twelve_training_jobs(tmp_path):
    make_workdir(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    out = snakemake(tmp_path, "-n", "report/informe.pdf")
    counts = job_counts(out)
    assert counts["train"] == 12
    assert counts["learning_curves"] == 6 and counts["report"] == 1


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny study built once through the real workflow."""
    tmp = tmp_path_factory.mktemp("tiny")
    config = make_workdir(tmp, TINY)
    out = snakemake(tmp, "--cores", "2", "report/tiny.pdf", config=config)
    return tmp, config, out


@needs_fashion_mnist
def test_tiny_pipeline_builds_a_pdf_with_table_one_and_every_run(tiny_run):
    tmp, _, _ = tiny_run
    pdf = tmp / "report" / "tiny.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Tabla I." in text and "Tabla II." in text and "Figura 1." in text
    assert "??" not in text and "[?]" not in text
    flat = " ".join(text.split())
    for label in ("base", "n1 = 16", "n1 = 64", "optimizador = SGD"):
        assert label in flat, label
    for section in ("INTRODUCCIÓN", "TEORÍA", "DATOS", "MODELOS", "RESULTADOS", "DISCUSIÓN",
                    "CONCLUSIONES", "AGRADECIMIENTOS", "Apéndice A: Modelos",
                    "Apéndice B: Datos"):
        assert section in text, section
    assert "class MLP(nn.Module)" in text


@needs_fashion_mnist
def test_tiny_pipeline_writes_long_format_metrics(tiny_run):
    tmp, _, _ = tiny_run
    df = pd.read_parquet(tmp / "results" / "tiny" / "runs" / "n1~64" / "seed0" / "metrics.parquet")
    assert len(df) == TINY["epochs"] * 2
    assert set(df.columns) >= {"variant", "seed", "epoch", "split", "loss", "accuracy", "lr",
                               "seconds"}
    summary = pd.read_parquet(tmp / "results" / "tiny" / "summary.parquet")
    assert summary["variant"].tolist() == ["base", "n1~16", "n1~64", "optimizer~sgd"]


@needs_fashion_mnist
def test_changing_one_value_reruns_that_run_and_its_dependents_only(tiny_run):
    tmp, config, _ = tiny_run
    assert "Nothing to be done" in snakemake(tmp, "-n", "report/tiny.pdf", config=config)
    changed = yaml.safe_load(config.read_text())
    changed["experiments"][1]["vary"]["n1"] = [16, 48]
    other = tmp / "changed.yaml"
    other.write_text(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False))
    counts = job_counts(snakemake(tmp, "-n", "report/tiny.pdf", config=other))
    assert counts.pop("train") == 1
    assert counts.pop("learning_curves") == 1
    assert "prepare_data" not in counts
    assert set(counts) <= {"aggregate", "confusion_matrix", "table_experiments", "table_results",
                           "report", "all"}
