"""The model-family registry, the typed training result and what model.pt records."""

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT
from nnreport.data.dataset import Dataset
from nnreport.data.preprocess import normalise
from nnreport.evaluation.prediction import load_predictor
from nnreport.models.mlp import MLP
from nnreport.models.registry import CLASSIFICATION, FAMILIES, build_model, family
from nnreport.reporting.context import gradient_steps
from nnreport.training.metrics import read_metrics
from nnreport.training.runner import run_job


def test_each_family_declares_its_task_and_the_mlp_is_a_classifier():
    assert family("mlp").task is CLASSIFICATION
    assert CLASSIFICATION.loss == "cross_entropy" and CLASSIFICATION.metrics == ("accuracy",)
    assert set(family("mlp").backends) == {"torch", "numpy"}
    for name, fam in FAMILIES.items():
        assert fam.name == name and fam.task.loss


def test_an_unknown_family_names_the_known_ones():
    with pytest.raises(ValueError, match=r"model: 'resnet' is unknown; use one of \['cnn', "
                                         r"'conv_autoencoder', 'encoder_classifier', 'mlp'\]"):
        family("resnet")
    with pytest.raises(ValueError, match="resnet"):
        build_model({"model": "resnet"}, 784, 10)


def test_build_model_passes_only_the_knobs_the_family_takes():
    model = build_model({"model": "mlp", "n1": 12, "n2": 6, "p": 0.1, "optimizer": "adam",
                         "lr": 1e-3, "batch_size": 8}, n_in=20, n_classes=3)
    assert isinstance(model, MLP)
    assert model(torch.zeros(2, 20)).shape == (2, 3)


def _tiny_dataset(path, n=60, n_in_side=4, classes=3):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % classes
    images = (rng.random((n, n_in_side, n_in_side)) * 60 + labels[:, None, None] * 60)
    data = Dataset(images.astype(np.uint8), labels.astype(np.int64), np.arange(40),
                   np.arange(40, 60), [f"c{i}" for i in range(classes)], "test")
    data.save(path)
    return data


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_a_job_writes_what_its_typed_result_holds(tmp_path, backend):
    data = _tiny_dataset(tmp_path / "data.npz")
    run = {"variant": "base", "seed": 0, "epochs": 2, "device": "cpu", "backend": backend,
           "hparams": {"model": "mlp", "hidden": [8, 4], "optimizer": "adam", "lr": 1e-2,
                       "batch_size": 16}}
    out = {k: str(tmp_path / f"{k}.x") for k in ("model", "predictions", "metrics", "run")}
    info = run_job(run, str(tmp_path / "data.npz"), out)
    assert info["status"] == "completed" and info["best_epoch"] in (1, 2)
    # what computed the gradients, for the report's appendix
    assert info["gradients"] == {"torch": "backprop", "numpy": "scratch"}[backend]
    assert info["parameters"] == 16 * 8 + 8 + 8 * 4 + 4 + 4 * 3 + 3
    metrics, meta = read_metrics(out["metrics"])
    assert len(metrics) == 2 * 3 and meta["val_accuracy"] == info["val_accuracy"]
    state = torch.load(out["model"], weights_only=False)
    if backend == "torch":  # the shapes are recorded, not guessed from the weights
        assert (state["model"], state["n_in"], state["n_classes"]) == ("mlp", 16, 3)
    predict = load_predictor(out["model"])
    logits = predict(normalise(data.images[40:], state["normalisation"]))
    assert logits.shape == (20, 3)
    assert (logits.argmax(1) == pd.read_parquet(out["predictions"])["pred"]).all()


def test_the_appendix_names_what_computed_each_runs_gradients():
    runs = [{"variant": "base", "gradients": "backprop"},
            {"variant": "bn", "gradients": "autograd"},
            {"variant": "base", "gradients": "backprop"}, {"variant": "old"}]
    steps = gradient_steps(runs, {"base": "base", "bn": "BatchNorm = sí", "old": "x"})
    assert (steps["backprop"], steps["autograd"], steps["scratch"]) == (
        ["base"], ["BatchNorm = sí"], [])
    assert steps["test"] == r"tests/test\_backprop.py"
    assert (ROOT / "tests" / "test_backprop.py").is_file()
    assert (ROOT / "src" / "nnreport" / "training" / "backprop.py").is_file()


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_the_same_seed_and_config_give_identical_metrics_on_the_cpu(tmp_path, backend):
    _tiny_dataset(tmp_path / "data.npz")
    run = {"variant": "base", "seed": 3, "epochs": 3, "device": "cpu", "backend": backend,
           "hparams": {"model": "mlp", "hidden": [8, 4], "p": 0.2, "optimizer": "adam",
                       "lr": 1e-2, "batch_size": 16}}
    frames = []
    for k in range(2):
        out = {n: str(tmp_path / f"{n}{k}.x") for n in ("model", "predictions", "metrics", "run")}
        run_job(run, str(tmp_path / "data.npz"), out)
        frames.append(read_metrics(out["metrics"])[0].drop(columns="seconds"))
    pd.testing.assert_frame_equal(frames[0], frames[1])  # bit for bit, not approximately
