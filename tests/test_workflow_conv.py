"""Convolutional studies through the real workflow, on FashionMNIST: a CNN's Table I study."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import ROOT, job_counts, make_workdir, needs_fashion_mnist, pdf_text, snakemake

TINY_CNN = yaml.safe_load((ROOT / "configs" / "tiny_cnn.yaml").read_text())


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """The tiny CNN study built once through the real workflow."""
    tmp = tmp_path_factory.mktemp("cnn")
    config = make_workdir(tmp, TINY_CNN)
    snakemake(tmp, "--cores", "2", "report/tiny_cnn.pdf", config=config)
    return tmp, config


def test_the_example_cnn_study_plans_its_runs(tmp_path):
    make_workdir(tmp_path, yaml.safe_load((ROOT / "configs" / "cnn.yaml").read_text()))
    counts = job_counts(snakemake(tmp_path, "-n", "report/cnn.pdf"))
    assert counts["train"] == 7  # base, 2 channels, 1 kernel, 1 blocks, 2 p; one seed


@needs_fashion_mnist
def test_a_cnn_study_reports_table_one_every_run_and_its_layers(cnn_run):
    tmp, _ = cnn_run
    text = pdf_text(tmp / "report" / "tiny_cnn.pdf")
    assert "??" not in text and "[?]" not in text
    assert "Tabla I. Lista de experimentos" in text and "Tabla II. Resultados" in text
    for label in ("base", "filtros = 4", "filtros = 16", "núcleo = 5"):
        assert label in text, label
    # the knobs no experiment varies leave Table I for its caption
    assert "Los demás hiperparámetros son los mismos en todos: bloques = 2" in text
    assert "Convolución 1→8, 3 × 3" in text and "Max-pooling 2 × 2" in text  # Table III
    assert "class CNN(nn.Module)" in text and "def conv_blocks(" in text  # the code that ran
    assert "red convolucional" in text and "Figura 2. Matriz de confusión" in text
    assert "El modelo es un MLP" not in text


@needs_fashion_mnist
def test_a_cnn_run_learns_and_records_its_accuracy(cnn_run):
    tmp, _ = cnn_run
    metrics = pd.read_parquet(tmp / "results" / "tiny_cnn" / "runs" / "base" / "seed0"
                              / "metrics.parquet")
    val = metrics[metrics["split"] == "val"]
    assert list(val["epoch"]) == [1, 2] and val["accuracy"].iloc[-1] > 0.5  # 10 classes: 0.1
