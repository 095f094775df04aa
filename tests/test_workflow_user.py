"""A student's own class through the real workflow: the tiny study of examples/mi_cnn.py, plus
a second file of theirs that one experiment swaps in, built to its PDF; editing one file
retrains exactly the runs that use it."""

from __future__ import annotations

import json
import shutil

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
from nnreport.config.grid import run_configs
from nnreport.studies.resources import MEMORY_SAFETY, memory_mb, model_mb

OTRA = '''\
from torch import nn


class OtraCNN(nn.Module):
    """Una sola convolución de 5 x 5."""

    def __init__(self, canales=8, densas=32, p=0.25, n_classes=10):
        super().__init__()
        self.red = nn.Sequential(nn.Conv2d(1, canales, 5, padding=2), nn.ReLU(),
                                 nn.MaxPool2d(4), nn.Flatten(), nn.Dropout(p),
                                 nn.Linear(canales * 7 * 7, densas), nn.ReLU(),
                                 nn.Linear(densas, n_classes))

    def forward(self, x):
        return self.red(x)
'''
CONFIG = study_config("tiny_mi_cnn")
CONFIG["experiments"] = [*CONFIG["experiments"], {
    "id": "modelo", "objective": "Otra red.", "vary": {"model": ["otra.py:OtraCNN"]}}]


@pytest.fixture(scope="module")
def user_study(tmp_path_factory):
    """The tiny study of the student's classes, built once."""
    tmp = tmp_path_factory.mktemp("user")
    shutil.copytree(ROOT / "examples", tmp / "examples")
    (tmp / "otra.py").write_text(OTRA)
    return tmp, build_study(tmp, CONFIG)


@needs_fashion_mnist
def test_the_report_shows_the_students_class_their_code_and_their_knobs(user_study):
    tmp, _ = user_study
    text = pdf_text(tmp / "report" / "tiny_mi_cnn.pdf")
    assert "??" not in text and "[?]" not in text
    assert "class MiCNN(nn.Module):" in text  # the appendix quotes their file as written
    assert "return self.clasificador(self.bloques(x))" in text
    assert "Código 1. Clase MiCNN (archivo examples/mi_cnn.py)" in text
    assert "Código 2. Clase OtraCNN (archivo otra.py)" in text
    # Table I: the label the config gives canales, and densas by its name in code font
    table = text[text.index("Tabla I."):text.index("Tabla II.")]
    assert "Filtros" in table and "densas" in table
    assert "El modelo es la clase MiCNN, escrita por los autores en el archivo examples/mi_cnn.py" \
        in text
    assert "2 capas convolucionales" in text and "Filtros = 6" in text
    # the discussion says what a change of their argument cost, not what our knob does
    # (read in the rendered LaTeX: a float may split the sentence in the PDF)
    tex = " ".join((tmp / "report" / "build" / "tiny_mi_cnn" / "informe.tex").read_text().split())
    assert "Con $\\mathtt{densas}$~=~16 la red tiene" in tex
    assert "784" not in text and "MLP" not in text
    assert "Convolución 1→6, 3 × 3" in text  # Table III, read from the module


@needs_fashion_mnist
def test_editing_one_file_retrains_exactly_its_runs(user_study):
    tmp, config = user_study
    plan = snakemake(tmp, "-n", "report/tiny_mi_cnn.pdf", config=config)
    assert "Nothing to be done" in plan and not train_jobs(plan)
    otra = tmp / "otra.py"
    otra.write_text(OTRA.replace("Una sola convolución", "Una convolución"))
    retrained = {j["wildcards"] for j in train_jobs(
        snakemake(tmp, "-n", "report/tiny_mi_cnn.pdf", config=config))}
    assert retrained == {"variant=model~otra.otracnn, seed=0"}
    otra.write_text(OTRA)  # back as it was: nothing to retrain
    plan = snakemake(tmp, "-n", "report/tiny_mi_cnn.pdf", config=config)
    assert not train_jobs(plan)
    mine = tmp / "examples" / "mi_cnn.py"
    source = mine.read_text()
    mine.write_text(source + "\n# una línea más\n")
    retrained = {j["wildcards"] for j in train_jobs(
        snakemake(tmp, "-n", "report/tiny_mi_cnn.pdf", config=config))}
    assert retrained == {"variant=base, seed=0", "variant=canales~4, seed=0",
                         "variant=densas~16, seed=0"}
    mine.write_text(source)


@needs_fashion_mnist
def test_a_students_runs_declare_their_models_memory_and_more_than_they_used(
        user_study, monkeypatch):
    tmp, path = user_study
    monkeypatch.chdir(tmp)  # where the check remembered what it measured
    config = yaml.safe_load(path.read_text())
    for (variant, seed), run in run_configs(config).items():
        assert model_mb(config, run["hparams"]) > 0, variant  # measured by the check
        info = json.loads((tmp / "results" / "tiny_mi_cnn" / "runs" / variant / f"seed{seed}"
                           / "run.json").read_text())
        declared = memory_mb(config, run["backend"], 1, run["hparams"])  # the job's mem_mb
        assert 0 < info["peak_memory_mb"] < declared / MEMORY_SAFETY, (variant, declared)


@pytest.fixture(scope="module")
def scratch_study(tmp_path_factory):
    """The tiny study of the student's from-scratch NumPy class, built once."""
    tmp = tmp_path_factory.mktemp("scratch")
    shutil.copytree(ROOT / "examples", tmp / "examples")
    return tmp, build_study(tmp, study_config("tiny_mi_mlp"))


@needs_fashion_mnist
def test_a_from_scratch_class_trains_and_the_report_states_its_gradient_check(scratch_study):
    tmp, _ = scratch_study
    run = json.loads((tmp / "results" / "tiny_mi_mlp" / "runs" / "base" / "seed0" / "run.json")
                     .read_text())
    assert run["backend"] == "numpy" and run["gradients"] == "scratch"
    assert run["gradient_check"]["error"] < 1e-6 and run["val_accuracy"] > 0.6  # 10 classes
    assert run["dtype"] == "float32"
    text = pdf_text(tmp / "report" / "tiny_mi_mlp.pdf")
    assert "??" not in text
    assert "la clase MiMLP, escrita por los autores desde cero en NumPy" in text
    # the appendix quotes the class and the classes of their file it uses, backward included
    assert "Código 1. Clase MiMLP, precedida de Parametro, Lineal y ReLU" in pdf_text(
        tmp / "report" / "tiny_mi_mlp.pdf", raw=True)
    assert "def backward(self, g):" in text and "self.W.grad += self.x.T @ g" in text
    assert "diferencias finitas centradas" in text and "el mayor error relativo fue" in text
    assert "Multiplicaciones de matrices en float32, la precisión de los arreglos del modelo" \
        in text
    assert "Tabla III. Parámetros del modelo" in text
    assert "capas[0].W 784 × 100 78 400" in pdf_text(tmp / "report" / "tiny_mi_mlp.pdf", raw=True)


@pytest.mark.parametrize("name, runs", [("mi_cnn", 7), ("mi_mlp_numpy", 7)])
def test_the_example_studies_of_a_students_class_plan_their_runs(name, runs, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    config = make_workdir(tmp_path, study_config(name))
    counts = job_counts(snakemake(tmp_path, "-n", f"report/{name}.pdf", config=config))
    assert counts["train"] == runs


@pytest.fixture(scope="module")
def models_study(tmp_path_factory):
    """A tiny model study whose M0 is the student's from-scratch class, beside our M1."""
    tmp = tmp_path_factory.mktemp("user_models")
    shutil.copytree(ROOT / "examples", tmp / "examples")
    config = study_config("tiny_models", study="tiny_user_models")
    config["report"] = {**config["report"], "pdf": "report/tiny_user_models.pdf"}
    config["models"] = config["models"][:2]
    config["models"][0]["hparams"] = {"model": "examples/mi_mlp_numpy.py:MiMLP", "n1": 32,
                                      "n2": 16, "optimizer": "sgd", "lr": 0.01,
                                      "batch_size": 256}
    return tmp, build_study(tmp, config)


@needs_fashion_mnist
def test_a_model_study_trains_the_students_class_as_one_of_its_models(models_study):
    tmp, _ = models_study
    evaluation = json.loads((tmp / "results" / "tiny_user_models" / "final" / "M0"
                             / "evaluation.json").read_text())
    assert evaluation["test_accuracy"] > 0.3  # scored on the test images, as ours are
    text = pdf_text(tmp / "report" / "tiny_user_models.pdf")
    assert "??" not in text
    assert "M0: la clase MiMLP de examples/mi_mlp_numpy.py, escrita desde cero" in text
    assert "M1: capas ocultas" in text  # ours, as before
    assert "class MiMLP:" in text and "class MLP(Module):" in text  # theirs and ours
    assert "El método backward de la clase MiMLP (M0), escrito a mano, se comparó" in text
    assert "Todos los modelos son MLP" not in text
