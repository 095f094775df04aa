"""The model study (M0-M3, robustness to noise) through the real workflow, on FashionMNIST."""

from __future__ import annotations

import json
import re

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
)

TINY_MODELS = study_config("tiny_models")


@pytest.fixture(scope="module")
def models_run(tmp_path_factory):
    """The tiny model study built once through the real workflow."""
    tmp = tmp_path_factory.mktemp("models")
    return tmp, build_study(tmp, TINY_MODELS)


def test_emnist_study_dry_run_plans_m0_to_m3(tmp_path):
    make_workdir(tmp_path, yaml.safe_load((ROOT / "configs" / "emnist.yaml").read_text()))
    counts = job_counts(snakemake(tmp_path, "-n", "report/emnist.pdf"))
    # M0, M1's 3 x 2 grid, M2, and M3's base plus 3 activations, BatchNorm and Dropout
    assert counts["train"] == 1 + 6 + 1 + 6
    assert counts["select_model"] == 4 and counts["evaluate_model"] == 4


@needs_fashion_mnist
def test_model_study_report_shows_the_four_models_and_robustness(models_run):
    tmp, _ = models_run
    text = pdf_text(tmp / "report" / "tiny_models.pdf")
    assert "??" not in text and "[?]" not in text
    raw = pdf_text(tmp / "report" / "tiny_models.pdf", raw=True)  # headings read whole
    for section in ("1 Introducción", "2 Exploración y preprocesamiento de datos", "3 Modelos",
                    "4 Resultados", "5 Robustez frente al ruido", "6 Conclusiones",
                    "A Búsquedas de hiperparámetros", "B Código de los modelos"):
        assert section in raw, section
    for model in ("M0", "M1", "M2", "M3"):
        assert f"{model} obtiene" in text, model
    assert "Exactitud en test de cada modelo final cuando se agrega a las imágenes ruido" in text
    assert "Exactitud y pérdida (entropía cruzada) de cada modelo final" in text
    assert "Código 2: Clase MLP (NumPy/CuPy)" in text
    # one seed: every test accuracy with its Wilson interval, no claim on robustness
    # (read in the rendered LaTeX: a float may split a sentence across pages in the PDF)
    tex = " ".join((tmp / "report" / "build" / "tiny_models" / "informe.tex").read_text().split())
    assert len(re.findall(r"M\d obtiene \$[\d.]+\$\\,\\% en test \(intervalo de Wilson "
                          r"\$\[[\d.]+, [\d.]+\]\$", tex)) == 4
    assert "no afirmamos que las diferencias de robustez entre modelos superen el ruido" in text
    # M2 against M1: the difference with its uncertainty, and why they may differ
    assert "M2 reentrena en PyTorch los hiperparámetros que M1 eligió en NumPy" in text
    # paired over the shared images and corrected with Holm, not Wilson intervals' overlap
    assert "y cada diferencia, el intervalo t pareado de las diferencias imagen por imagen" in text
    assert "Las 3 comparaciones con el mejor modelo en dev forman una familia corregida" in text
    assert re.search(r"respecto de M1 \(intervalo \[[−+][\d.]+, [−+][\d.]+\](, una diferencia "
                     r"que la evidencia establece|: los datos son compatibles)", text)
    assert "se superponen" not in text and "significativa" not in text
    assert "la implementación desde cero inicializa con He" in text
    assert "Determinismo: en la CPU, la misma configuración y la misma semilla" in text
    # what a GPU leaves undetermined is said only when a run trained on one
    runs = pd.read_parquet(tmp / "results" / "tiny_models" / "runs.parquet")
    on_gpu = bool((runs["device_type"] == "cuda").any())
    assert ("cuBLAS" in text) == on_gpu
    assert ("todas las corridas de este informe se entrenaron en la CPU" in text) != on_gpu
    # the references in Spanish too (natbib's style, with its words translated)
    references = text.split("Referencias", 1)[1].split("Búsquedas de hiperparámetros", 1)[0]
    assert "Diederik P. Kingma y Jimmy Ba." in references and " and " not in references
    assert "En Advances in Neural Information Processing Systems 32, páginas 8024" in references


@needs_fashion_mnist
def test_m2_retrains_m1s_choice_in_pytorch(models_run):
    tmp, _ = models_run
    results = tmp / "results" / "tiny_models"
    choice = json.loads((results / "selection" / "M1.json").read_text())
    m2 = json.loads((results / "runs" / "M2" / "seed0" / "run.json").read_text())
    assert m2["backend"] == "torch" and m2["source_variant"] == choice["variant"]
    assert m2["hparams"]["hidden"] == choice["hparams"]["hidden"]
    assert m2["hparams"]["lr_schedule"] == choice["hparams"]["lr_schedule"]
    m0 = json.loads((results / "runs" / "M0" / "seed0" / "run.json").read_text())
    assert m0["backend"] == "numpy"
    noise = pd.read_parquet(results / "final" / "M0" / "noise.parquet")
    assert noise["sigma"].tolist() == TINY_MODELS["noise"]["sigmas"]


@needs_fashion_mnist
def test_changing_m1s_search_retrains_m2(models_run):
    tmp, config = models_run
    changed = yaml.safe_load(config.read_text())
    changed["models"][1]["search"]["lr_schedule"] = ["linear", "constant"]
    other = tmp / "changed.yaml"
    other.write_text(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False))
    out = snakemake(tmp, "-n", "report/tiny_models.pdf", config=other)
    trained = set(re.findall(r"wildcards: variant=([\w-]+), seed=0", out))
    # M1's changed candidates train, and so do M2 and M3, which start from M1's choice
    assert {"M1-2", "M1-4", "M2", "M3-1"} <= trained
    assert "M0" not in trained and "M1-1" not in trained  # unchanged runs stay
    assert job_counts(out)["select_model"] >= 1
