"""Convolutional studies through the real workflow, on FashionMNIST: a CNN's Table I study."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import (
    ROOT,
    build_study,
    job_counts,
    make_workdir,
    needs_fashion_mnist,
    pdf_text,
    snakemake,
    study_config,
    train_jobs,
)

TINY_CNN = study_config("tiny_cnn")


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """The tiny CNN study built once through the real workflow."""
    tmp = tmp_path_factory.mktemp("cnn")
    return tmp, build_study(tmp, TINY_CNN)


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
    # Fig. 2: each difference from the base
    assert "red convolucional" in text and "Figura 3. Matriz de confusión" in text
    assert "El modelo es un MLP" not in text


@needs_fashion_mnist
def test_a_cnn_run_learns_and_records_its_accuracy(cnn_run):
    tmp, _ = cnn_run
    metrics = pd.read_parquet(tmp / "results" / "tiny_cnn" / "runs" / "base" / "seed0"
                              / "metrics.parquet")
    val = metrics[metrics["split"] == "val"]
    assert list(val["epoch"]) == [1, 2] and val["accuracy"].iloc[-1] > 0.5  # 10 classes: 0.1


TINY_AE = study_config("tiny_autoencoder")


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory):
    """The tiny autoencoder study (with classifiers on its encoder) built once."""
    tmp = tmp_path_factory.mktemp("autoencoder")
    return tmp, build_study(tmp, TINY_AE)


def test_the_example_autoencoder_study_plans_its_runs_the_base_first(tmp_path):
    make_workdir(tmp_path, yaml.safe_load((ROOT / "configs" / "autoencoder.yaml").read_text()))
    out = snakemake(tmp_path, "-n", "report/autoencoder.pdf")
    counts = job_counts(out)
    # base, four code sizes, one noise level; the classifier frozen and fine-tuned
    assert counts["train"] == 8
    assert counts["reconstructions"] == 1 and counts["latent_space"] == 1
    # the classifiers wait for the base autoencoder: it starts first
    priority = {j["wildcards"].split(",")[0].split("=")[1]: float(j["priority"])
                for j in train_jobs(out)}
    assert max(priority, key=priority.get) == "base"
    assert priority["base"] > priority["bottleneck~64"] > priority["bottleneck~4"]


@needs_fashion_mnist
def test_an_autoencoder_study_reports_mse_reconstructions_and_its_classifiers(autoencoder_run):
    tmp, _ = autoencoder_run
    text = pdf_text(tmp / "report" / "tiny_autoencoder.pdf")
    assert "??" not in text and "[?]" not in text
    assert "Tabla I. Lista de experimentos" in text and "Tabla II. Error de reconstrucción" in text
    assert "Tabla III. Clasificadores entrenados sobre el codificador" in text
    for label in ("código = 4", "ruido = 0.3", "codificador fijo = sí", "codificador fijo = no"):
        assert label in text, label
    assert "ECM de reconstrucción" in text  # the curves' axis
    assert "reconstrucción" in text and "entrada con ruido" in text  # Fig. 2's rows
    assert "componente principal 1" in text and "Matriz de confusión del mejor clasificador" in text
    assert "prueba t apareada" in text  # one seed: the paired interval over the images
    assert "class ConvAutoencoder(nn.Module)" in text and "class EncoderClassifier" in text
    results = (tmp / "report" / "build" / "tiny_autoencoder" / "tables" / "results.tex")
    assert "ECM final" in results.read_text() and "Exactitud" not in results.read_text()


@needs_fashion_mnist
def test_an_autoencoder_records_mse_and_its_classifier_reruns_when_it_changes(autoencoder_run):
    tmp, config = autoencoder_run
    runs = tmp / "results" / "tiny_autoencoder" / "runs"
    metrics = pd.read_parquet(runs / "base" / "seed0" / "metrics.parquet")
    assert "accuracy" not in metrics.columns and (metrics["loss"] > 0).all()
    assert "accuracy" in pd.read_parquet(runs / "clasificador" / "seed0" / "metrics.parquet")
    other = yaml.safe_load(config.read_text())
    other["base"]["bottleneck"] = 12
    config.with_name("other.yaml").write_text(yaml.safe_dump(other, allow_unicode=True,
                                                             sort_keys=False))
    counts = job_counts(snakemake(tmp, "-n", "report/tiny_autoencoder.pdf",
                                  config=config.with_name("other.yaml")))
    # the base, the noise run (it has the base's code size; bottleneck~4 has its own), and
    # both classifiers on the base's encoder
    assert counts["train"] == 4
