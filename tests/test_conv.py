"""The convolutional families: CNN, convolutional autoencoder (MSE) and a classifier on a
trained encoder, built through the registry and trained by the real training job."""

import numpy as np
import pandas as pd
import pytest
import torch

from nnreport.data.dataset import Dataset
from nnreport.data.preprocess import normalise
from nnreport.evaluation.prediction import load_predictor
from nnreport.models.conv import CNN, ConvAutoencoder
from nnreport.models.registry import (
    RECONSTRUCTION,
    build_model,
    describe,
    family,
    knobs,
    parameter_count,
)
from nnreport.training.loop import ReconstructionStep
from nnreport.training.metrics import read_metrics
from nnreport.training.runner import run_job

SIDE = 16  # 16x16 images: two blocks pool them to 4x4


def _dataset(path, n=96, classes=3) -> Dataset:
    """Images whose class is a bright square in one of three places, on noise."""
    rng = np.random.default_rng(0)
    labels = np.arange(n) % classes
    images = rng.integers(0, 60, (n, SIDE, SIDE))
    for i, c in enumerate(labels):
        images[i, 5 * c : 5 * c + 5, 5 * c : 5 * c + 5] = 220
    data = Dataset(images.astype(np.uint8), labels.astype(np.int64), np.arange(64),
                   np.arange(64, n), [f"c{i}" for i in range(classes)], "test")
    data.save(path)
    return data


def _job(tmp_path, name, hparams, epochs=3, encoder=None):
    run = {"variant": name, "seed": 0, "epochs": epochs, "device": "cpu",
           "hparams": {"optimizer": "adam", "lr": 1e-2, "batch_size": 16, **hparams}}
    out = {k: str(tmp_path / f"{name}.{k}") for k in ("model", "predictions", "metrics", "run")}
    return run_job(run, str(tmp_path / "data.npz"), out, encoder=encoder), out


def test_a_cnn_has_the_layers_and_parameters_its_knobs_say():
    model = build_model({"model": "cnn", "channels": 4, "kernel": 3, "blocks": 2, "dense": 8,
                         "p": 0.1}, n_in=SIDE * SIDE, n_classes=3)
    assert isinstance(model, CNN)
    # conv 1->4 (3x3), conv 4->8, then 8 maps of 4x4 -> 8 -> 3
    expected = (9 * 4 + 4) + (4 * 9 * 8 + 8) + (8 * 4 * 4 * 8 + 8) + (8 * 3 + 3)
    assert parameter_count(model) == expected
    layers = describe(model, (1, SIDE, SIDE))
    assert sum(layer["params"] for layer in layers) == expected
    assert [layer["shape"] for layer in layers if layer["layer"] == "MaxPool2d"] == [
        (4, 8, 8), (8, 4, 4)]
    # flat rows (what the prediction code hands over) and images give the same logits
    x = torch.rand(5, 1, SIDE, SIDE)
    model.eval()
    assert torch.equal(model(x), model(x.view(5, -1)))


@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_an_autoencoder_reconstructs_the_input_shape_in_zero_one(blocks):
    model = ConvAutoencoder(channels=2, blocks=blocks, bottleneck=5, input_shape=(1, 28, 28))
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert model.encode(x).shape == (3, 5)
    assert model(x.view(3, -1)).shape == (3, 784)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kernel": 4}, "kernel: 4 is even"),
    ({"blocks": 5}, "blocks: 5 halves a 16x16 image to nothing; use at most 4"),
    ({"channels": 0}, "channels: 0"),
])
def test_impossible_convolution_knobs_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CNN(input_shape=(1, SIDE, SIDE), **kwargs)


def test_colour_and_oblong_images_pass_through_and_a_missing_encoder_is_refused():
    with torch.no_grad():
        assert CNN(channels=2, input_shape=(3, 32, 24))(torch.rand(2, 3, 32, 24)).shape == (2, 10)
        auto = ConvAutoencoder(channels=2, blocks=3, bottleneck=4, input_shape=(3, 30, 20))
        assert auto(torch.rand(2, 3, 30, 20)).shape == (2, 3, 30, 20)
    with pytest.raises(ValueError, match="blocks: 3 halves a 6x30 image to nothing; use at most 2"):
        CNN(blocks=3, input_shape=(1, 6, 30))
    with pytest.raises(ValueError, match="needs the trained encoder"):
        build_model({"model": "encoder_classifier"}, n_in=784, n_classes=10)


def test_each_family_names_the_knobs_it_reads():
    assert {"channels", "kernel", "blocks", "p", "dense", "lr"} <= knobs("cnn")
    assert {"bottleneck", "sigma"} <= knobs("conv_autoencoder") and "n1" not in knobs("cnn")
    assert {"encoder", "freeze", "dense"} <= knobs("encoder_classifier")
    assert "channels" not in knobs("encoder_classifier")  # the encoder's own, not its knob
    assert family("conv_autoencoder").task is RECONSTRUCTION


def test_an_autoencoder_run_records_mse_and_no_accuracy(tmp_path):
    _dataset(tmp_path / "data.npz")
    info, out = _job(tmp_path, "ae", {"model": "conv_autoencoder", "channels": 4,
                                      "bottleneck": 6}, epochs=4)
    assert info["val_accuracy"] is None and info["status"] == "completed"
    metrics, _ = read_metrics(out["metrics"])
    assert "accuracy" not in metrics.columns  # absent, not zero
    val = metrics[metrics["split"] == "val"]["loss"].to_numpy()
    assert val[-1] < val[0]  # it learns
    per_image = pd.read_parquet(out["predictions"])
    assert list(per_image.columns) == ["true", "mse"] and len(per_image) == 32
    assert per_image["mse"].mean() == pytest.approx(info["val_loss"], rel=1e-5)
    state = torch.load(out["model"], weights_only=False)
    assert state["normalisation"]["mean"] == [0] and state["normalisation"]["std"] == [1]  # [0, 1]


def test_a_denoising_step_sees_noisy_inputs_but_scores_the_clean_ones():
    torch.manual_seed(0)
    model = ConvAutoencoder(channels=2, bottleneck=4, input_shape=(1, SIDE, SIDE))
    x = torch.rand(8, 1, SIDE, SIDE)
    clean, _ = ReconstructionStep(model, 0.0, torch.Generator().manual_seed(1))(x, None)
    with torch.no_grad():
        expected = 8 * float(torch.nn.functional.mse_loss(model(x), x))
    assert float(clean) == pytest.approx(expected)
    noisy = [float(ReconstructionStep(model, 0.5, torch.Generator().manual_seed(1))(x, None)[0])
             for _ in range(2)]
    assert noisy[0] == noisy[1] != pytest.approx(float(clean))  # seeded, and not the clean loss


@pytest.mark.parametrize("freeze", [True, False])
def test_a_classifier_on_an_encoder_starts_from_it_and_freezes_it_when_told(tmp_path, freeze):
    data = _dataset(tmp_path / "data.npz")
    _, auto = _job(tmp_path, "ae", {"model": "conv_autoencoder", "channels": 4,
                                    "bottleneck": 6}, epochs=2)
    info, out = _job(tmp_path, "clf", {"model": "encoder_classifier", "encoder": "ae",
                                       "freeze": freeze, "dense": 8}, encoder=auto["model"])
    trained = torch.load(auto["model"], weights_only=False)["state_dict"]
    state = torch.load(out["model"], weights_only=False)
    encoder = {k[len("encoder."):]: v for k, v in state["state_dict"].items()
               if k.startswith("encoder.")}
    same = all(torch.equal(v, trained[f"encoder.{k}"]) for k, v in encoder.items())
    assert same is freeze
    head = 6 * 8 + 8 + 8 * 3 + 3
    n_encoder = sum(v.numel() for v in encoder.values())
    assert info["parameters"] == (head if freeze else head + n_encoder)
    assert 0 <= info["val_accuracy"] <= 1
    # model.pt rebuilds the classifier on its own: the predictions come back
    predict = load_predictor(out["model"])
    logits = predict(normalise(data.images[64:], state["normalisation"]))
    assert (logits.argmax(1) == pd.read_parquet(out["predictions"])["pred"]).all()
    assert state["model"] == "encoder_classifier"


def test_a_convolutional_model_pt_predicts_many_images_in_small_batches_alike(tmp_path):
    # evaluations score thousands of images at once: a CNN's predictor goes 256 at a time (the
    # 32-filter CNN's activations for 8192 images took 2.1 GB), with the same outputs
    _dataset(tmp_path / "data.npz")
    _, out = _job(tmp_path, "cnn", {"model": "cnn", "channels": 4, "dense": 8}, epochs=1)
    predict = load_predictor(out["model"])
    x = np.random.default_rng(1).normal(size=(600, SIDE * SIDE)).astype(np.float32)
    whole = predict(x)  # 256 + 256 + 88
    assert whole.shape == (600, 3)
    parts = np.concatenate([predict(x[i : i + 200]) for i in range(0, 600, 200)])
    np.testing.assert_allclose(whole, parts, rtol=1e-5, atol=1e-6)


def test_the_light_list_of_knobs_matches_each_family_constructor():
    from nnreport.base.families import MODEL_KEYS, family_knobs
    from nnreport.models.registry import FAMILIES
    assert set(MODEL_KEYS) == set(FAMILIES)
    for name in FAMILIES:
        assert knobs(name) == set(family_knobs(name)), name


needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU here: the convolutional families' CUDA path runs where one is")


@needs_cuda
@pytest.mark.parametrize("name", ["cnn", "conv_autoencoder", "encoder_classifier"])
def test_each_convolutional_family_trains_on_cuda(tmp_path, name):
    _dataset(tmp_path / "data.npz")
    hparams = {"cnn": {"model": "cnn", "channels": 4, "dense": 8},
               "conv_autoencoder": {"model": "conv_autoencoder", "channels": 4, "bottleneck": 6},
               "encoder_classifier": {"model": "encoder_classifier", "encoder": "ae",
                                      "freeze": False, "dense": 8}}[name]
    encoder = None
    if name == "encoder_classifier":
        encoder = _job(tmp_path, "ae", hparams={"model": "conv_autoencoder", "channels": 4,
                                                "bottleneck": 6})[1]["model"]
    run = {"variant": name, "seed": 0, "epochs": 4, "device": "cuda",
           "hparams": {"optimizer": "adam", "lr": 1e-2, "batch_size": 16, **hparams}}
    out = {k: str(tmp_path / f"{name}.{k}") for k in ("model", "predictions", "metrics", "run")}
    info = run_job(run, str(tmp_path / "data.npz"), out, encoder=encoder)
    assert info["device_type"] == "cuda" and info["status"] == "completed"
    val = read_metrics(out["metrics"])[0].query("split == 'val'")["loss"].to_numpy()
    assert np.isfinite(val).all() and val[-1] < val[0]
