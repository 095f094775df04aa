"""The autoencoder's reconstructions, codes and figures, from autoencoders trained for real."""

import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import DEBIAN_FASHION, pdf_text
from nnreport.base.integrity import DamagedFileError
from nnreport.data.dataset import Dataset
from nnreport.data.mnist import SOURCES, load_pair
from nnreport.evaluation.prediction import add_noise
from nnreport.evaluation.reconstruction import (
    AutoencoderError,
    codes,
    fixed_images,
    inputs,
    load_autoencoder,
    noisy,
    pca_2d,
    read_autoencoder,
    reconstruct,
    validation_sample,
)
from nnreport.models.conv import ConvAutoencoder
from nnreport.reporting.autoencoder_figures import (
    latent_space,
    latent_space_from_files,
    reconstructions,
    reconstructions_from_files,
)
from nnreport.reporting.figures import FigureError
from nnreport.reporting.labels import class_names
from nnreport.reporting.words import word
from nnreport.training.runner import run_job

N_TRAIN, N_VAL = 500, 300
HPARAMS = {"model": "conv_autoencoder", "channels": 4, "kernel": 3, "blocks": 2,
           "bottleneck": 6, "optimizer": "adam", "lr": 1e-2, "batch_size": 32}


def _images() -> tuple[np.ndarray, np.ndarray]:
    """FashionMNIST's first test images when Debian's files are installed; else images of ten
    classes of bright bars, each class's bar in its own place, with noise."""
    if (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").exists():
        x, y = load_pair(DEBIAN_FASHION, SOURCES["fashion_mnist"], "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte")
        return x[: N_TRAIN + N_VAL], y[: N_TRAIN + N_VAL].astype(np.int64)
    rng = np.random.default_rng(0)
    y = np.arange(N_TRAIN + N_VAL) % 10
    x = rng.integers(0, 60, (len(y), 28, 28))
    for i, c in enumerate(y):
        x[i, 2 + 2 * c : 6 + 2 * c, 4:24] = 200 + rng.integers(0, 55)
    return x.astype(np.uint8), y.astype(np.int64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny dataset and three model.pt trained on it for one epoch: an autoencoder, a
    denoising one (sigma 0.3) and an MLP."""
    folder = tmp_path_factory.mktemp("autoencoders")
    x, y = _images()
    data = Dataset(x, y, np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_VAL),
                   list(SOURCES["fashion_mnist"].classes), "test")
    data.save(folder / "data.npz")
    files = {}
    for name, hparams in (("base", HPARAMS), ("denoising", {**HPARAMS, "sigma": 0.3}),
                          ("mlp", {"model": "mlp", "hidden": [16], "optimizer": "adam",
                                   "lr": 1e-2, "batch_size": 32})):
        run = {"variant": name, "seed": 0, "epochs": 1, "device": "cpu", "hparams": hparams}
        out = {k: str(folder / f"{name}.{k}") for k in ("model", "predictions", "metrics", "run")}
        run_job(run, str(folder / "data.npz"), out)
        files[name] = out
    return folder, data, files


def test_an_autoencoder_reconstructs_the_images_it_was_validated_on(trained):
    _, data, files = trained
    model, norm = read_autoencoder(files["base"]["model"])
    assert isinstance(model, ConvAutoencoder) and not model.training
    assert (norm["mean"], norm["std"]) == ([0.0], [1.0])  # one grey channel
    images = data.images[data.val_idx]
    x = inputs(images, norm)
    assert x.shape == (N_VAL, 1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    out = reconstruct(model, x)
    assert out.shape == (N_VAL, 1, 28, 28) and out.min() >= 0 and out.max() <= 1
    # each image's MSE is what training recorded for it: the inputs are the training's
    mse = ((out - images / 255.0) ** 2).reshape(N_VAL, -1).mean(1)
    recorded = pd.read_parquet(files["base"]["predictions"])["mse"].to_numpy()
    np.testing.assert_allclose(mse, recorded, rtol=1e-4)
    # and one epoch learnt something: a fresh autoencoder of the same shape does worse
    torch.manual_seed(1)
    fresh = ConvAutoencoder(channels=4, kernel=3, blocks=2, bottleneck=6).eval()
    assert mse.mean() < 0.8 * ((reconstruct(fresh, x) - images / 255.0) ** 2).mean()


def test_codes_have_one_value_per_bottleneck_unit(trained):
    _, data, files = trained
    model = load_autoencoder(files["base"]["model"])
    z = codes(model, inputs(data.images[data.val_idx[:50]], {"mean": 0.0, "std": 1.0}))
    assert z.shape == (50, HPARAMS["bottleneck"]) and np.isfinite(z).all()
    assert z.std(axis=0).max() > 0  # codes differ between images


def test_noise_is_the_same_for_the_same_seed_and_the_noise_of_the_robustness_curve():
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    a, b = noisy(images, 0.3, seed=7), noisy(images, 0.3, seed=7)
    assert a.dtype == np.float32 and a.shape == images.shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, noisy(images, 0.3, seed=8))
    assert a.min() >= 0 and a.max() <= 1 and np.abs(a - images / 255).max() > 0.1
    np.testing.assert_allclose(a, add_noise(images, 0.3, 7) / 255, atol=1e-6)
    np.testing.assert_allclose(noisy(images, 0.0, seed=7), images / 255, atol=1e-6)
    with pytest.raises(AutoencoderError, match=r"sigma: -0.1; the noise's standard deviation"):
        noisy(images, -0.1, seed=0)


def test_noisy_images_become_the_same_inputs_as_their_pixels():
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    norm = {"mean": 0.2, "std": 0.5}
    torch.testing.assert_close(inputs(images, norm), inputs(images / np.float32(255), norm))
    with pytest.raises(AutoencoderError, match=r"float images range over \[0, 255\]"):
        inputs(images.astype(np.float32), norm)
    with pytest.raises(AutoencoderError, match=r"shape \(3, 784\); expected \(N, channels, height"):
        inputs(images.reshape(3, -1), norm)


def test_two_principal_components_are_the_covariances_leading_eigenvectors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 5.0  # correlated, off-centre
    projected, explained = pca_2d(x)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(x, rowvar=False))
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]  # largest first
    assert projected.shape == (400, 2) and explained.shape == (2,)
    np.testing.assert_allclose(projected.var(axis=0, ddof=1), eigenvalues[:2], rtol=1e-8)
    np.testing.assert_allclose(explained, eigenvalues[:2] / eigenvalues.sum(), rtol=1e-8)
    assert explained[0] >= explained[1] > 0 and explained.sum() <= 1
    np.testing.assert_allclose(np.abs(projected),
                               np.abs((x - x.mean(0)) @ eigenvectors[:, :2]), atol=1e-8)
    assert abs(np.corrcoef(projected.T)[0, 1]) < 1e-8
    # the signs do not depend on the order of the codes
    order = rng.permutation(400)
    np.testing.assert_allclose(pca_2d(x[order])[0], projected[order], atol=1e-8)


def test_pca_of_too_few_values_says_what_it_needs():
    with pytest.raises(AutoencoderError, match=r"codes of shape \(10, 1\).*bottleneck >= 2"):
        pca_2d(np.zeros((10, 1)))
    _, explained = pca_2d(np.ones((10, 3)))  # no variance at all: no share, no NaN
    np.testing.assert_array_equal(explained, [0.0, 0.0])


def test_fixed_images_take_one_validation_image_of_each_class_reproducibly(trained):
    _, data, _ = trained
    chosen = fixed_images(data, 12, seed=3)
    assert len(set(chosen)) == 12 and set(chosen) <= set(data.val_idx)
    assert data.labels[chosen[:10]].tolist() == list(range(10))
    np.testing.assert_array_equal(chosen, fixed_images(data, 12, seed=3))
    assert not np.array_equal(chosen, fixed_images(data, 12, seed=4))
    few = fixed_images(data, 3, seed=0)
    assert len(set(data.labels[few])) == 3
    with pytest.raises(AutoencoderError, match=r"n_images: 301; choose between 1 and the 300"):
        fixed_images(data, 301, seed=0)


def test_the_latent_sample_caps_the_validation_images_by_seed(trained):
    _, data, _ = trained
    sample = validation_sample(data, 100, seed=0)
    assert len(sample) == 100 and (np.diff(sample) > 0).all()
    assert set(sample) <= set(data.val_idx)
    np.testing.assert_array_equal(sample, validation_sample(data, 100, seed=0))
    np.testing.assert_array_equal(validation_sample(data, 5000, seed=0), data.val_idx)


def test_the_reconstruction_figure_names_each_row_in_order(trained, tmp_path):
    folder, _, files = trained
    pdf = tmp_path / "reconstructions.pdf"
    reconstructions_from_files(folder / "data.npz",
                               [files["base"]["model"], files["denoising"]["model"]],
                               ["base", r"$\sigma$ = 0.3"], 10, 0, pdf)
    text = pdf_text(pdf)
    order = [word("autoencoder_figures.original"), "base", word("autoencoder_figures.noisy"),
             "σ = 0.3"]
    positions = [text.find(t) for t in order]
    assert -1 not in positions and positions == sorted(positions), text
    assert text.count(word("autoencoder_figures.reconstruction")) == 2
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    width = float(info.stdout.split("Page size:")[1].split()[0])  # points
    assert 6.5 * 72 < width <= 7.2 * 72  # page-wide: a figure* sets it at its natural size


def test_the_latent_space_figure_names_the_classes_and_the_variance_shares(trained, tmp_path):
    folder, data, files = trained
    pdf = tmp_path / "latent.pdf"
    latent_space_from_files(folder / "data.npz", files["base"]["model"], pdf, max_points=200)
    text = pdf_text(pdf)
    model, norm = read_autoencoder(files["base"]["model"])
    idx = validation_sample(data, 200, seed=0)
    _, explained = pca_2d(codes(model, inputs(data.images[idx], norm)))
    for k, fraction in enumerate(explained, start=1):  # whole percent from 10 %, else tenths
        share = f"{100 * fraction:.0f}" if fraction >= 0.1 else f"{100 * fraction:.1f}"
        assert word("axes.principal_component", k=k, share=share) in text, text
    names = class_names(data.classes)
    assert names != data.classes and all(name in text for name in names), text


def test_a_model_that_is_not_an_autoencoder_is_named(trained, tmp_path):
    _, _, files = trained
    with pytest.raises(AutoencoderError, match=r"mlp\.model: holds a 'mlp' model, not a "
                                               r"conv_autoencoder"):
        load_autoencoder(files["mlp"]["model"])
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pt: no such model file"):
        load_autoencoder(tmp_path / "nowhere.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a model")
    with pytest.raises(DamagedFileError, match=r"broken\.pt: damaged"):
        load_autoencoder(tmp_path / "broken.pt")


def test_figures_refuse_rows_that_do_not_match(tmp_path):
    originals = np.zeros((4, 28, 28))
    with pytest.raises(FigureError, match=r"row '.*\n\$n\$ = 8': images of shape \(3, 1, 28, 28\)"):
        reconstructions(originals, [("$n$ = 8", np.zeros((3, 28, 28)))], tmp_path / "r.pdf")
    with pytest.raises(FigureError, match=r"noisy inputs of \['other'\], which are not among"):
        reconstructions(originals, [("base", originals)], tmp_path / "r.pdf",
                        noisy=[("other", originals)])
    with pytest.raises(FigureError, match=r"2 model files but 1 labels"):
        reconstructions_from_files(tmp_path / "data.npz", ["a.pt", "b.pt"], ["a"], 4, 0,
                                   tmp_path / "r.pdf")
    with pytest.raises(FigureError, match=r"labels range over \[0, 3\], but there are 3 class"):
        latent_space(np.zeros((4, 2)), np.arange(4), ["a", "b", "c"], np.array([0.5, 0.2]),
                     tmp_path / "l.pdf")
    assert not list(tmp_path.iterdir())  # nothing half-written
