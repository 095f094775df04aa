"""Studies on other datasets through the real workflow (issue 23): MNIST's idx files, CIFAR-10's
pickle batches (a CNN on 3 x 32 x 32) and a folder of PNGs, each written tiny by the test in the
dataset's real format. The report is the dataset's: none of FashionMNIST's words, sizes or
inputs is left in its LaTeX."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import build_study, job_counts, pdf_text, snakemake, study_config, write_idx

CLASSES = 10


def patterns(n: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` uint8 images of `shape` ((H, W) or (C, H, W)) whose class (0..9) is where a bright
    square lies, over noise: something one epoch learns, in any of the formats."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % CLASSES
    rng.shuffle(labels)
    images = rng.integers(0, 60, (n, *shape), dtype=np.uint8)
    h, w = shape[-2:]
    for i, k in enumerate(labels):
        r, c = (k // 5) * h // 2 + 2, (k % 5) * w // 5 + 1
        images[i, ..., r : r + h // 4, c : c + w // 6] = 255
    return images, labels.astype(np.uint8)


def tex_of(workdir: Path, study: str) -> str:
    """Every LaTeX file the build wrote for `study`: the report, its tables and parts."""
    build = workdir / "report" / "build" / study
    return "\n".join(p.read_text() for p in sorted(build.rglob("*.tex")))


def assert_not_fashion_mnist(tex: str, inputs_too: bool) -> None:
    for words in ("FashionMNIST", "Fashion-MNIST", "Zalando", "xiao2017"):
        assert words not in tex
    if inputs_too:
        assert "784" not in tex and "28\\times 28" not in tex and "28 \\times 28" not in tex


def report_text(pdf: Path) -> str:
    """The PDF's text, "28 × 28" and "28×28" alike written "28×28" (pdftotext spaces it by
    where the line falls)."""
    return pdf_text(pdf).replace(" × ", "×")


def _config(base: str, dataset: dict, **changes) -> dict:
    config = study_config(base, epochs=1, max_train=None, max_val=None, **changes)
    config["dataset"] = dataset
    config["experiments"] = config["experiments"][:2]
    return config


@pytest.fixture(scope="module")
def mnist_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mnist")
    root = tmp / "mnist_files"
    root.mkdir()
    for prefix, n, seed in (("train", 1000, 0), ("t10k", 200, 1)):
        x, y = patterns(n, (28, 28), seed)
        write_idx(root / f"{prefix}-images-idx3-ubyte", x)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", y)
    config = _config("tiny", {"name": "mnist", "root": str(root), "n_val": 200})
    build_study(tmp, config)
    return tmp


def test_an_mnist_study_is_reported_as_mnist(mnist_study):
    tex = tex_of(mnist_study, "tiny")
    assert_not_fashion_mnist(tex, inputs_too=False)  # MNIST's images are 28 x 28 too
    assert "MNIST~\\cite{lecun1998}" in tex and "dígitos escritos a mano" in tex
    text = report_text(mnist_study / "report" / "tiny.pdf")
    assert ("1 200 imágenes de 28×28 píxeles en escala de grises de dígitos escritos a mano, "
            "etiquetadas en 10 categorías") in text, text[:3000]


def write_cifar(folder: Path, per_batch: int, n_test: int) -> dict[str, str]:
    """The seven CIFAR-10 files, pickled as the official archive does; returns their MD5s."""
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        n = n_test if name == "test_batch" else per_batch
        x, y = patterns(n, (3, 32, 32), i)
        x[:, 1:] //= 3  # a red square over darker green and blue: the samples are in colour
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": y.tolist(),
                         b"data": x.reshape(n, -1), b"filenames": [b"x.png"] * n}, f)
    with open(folder / "batches.meta", "wb") as f:
        labels = b"airplane automobile bird cat deer dog frog horse ship truck".split()
        pickle.dump({b"label_names": labels, b"num_vis": 3072}, f)
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def cifar_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cifar")
    folder = tmp / "cifar-10-batches-py"
    md5 = write_cifar(folder, per_batch=160, n_test=200)  # 1,000 images
    config = _config("tiny_cnn", {"name": "cifar10", "root": str(tmp), "n_val": 200,
                                  "md5": md5})
    build_study(tmp, config)
    return tmp


def test_a_cifar10_study_trains_a_cnn_on_three_channels_and_says_so(cifar_study):
    tex = tex_of(cifar_study, "tiny_cnn")
    assert_not_fashion_mnist(tex, inputs_too=True)
    assert "CIFAR-10~\\cite{krizhevsky2009}" in tex and "$32\\times 32$" in tex
    text = report_text(cifar_study / "report" / "tiny_cnn.pdf")
    assert "de 32×32 píxeles en color" in text and "3 matrices de 32×32" in text
    assert "canal por canal" in text and "camión" in text  # class names in Spanish
    assert "se verificó con la suma MD5 que da la configuración, no con la publicada" in text


def test_the_cifar10_samples_figure_is_in_colour(cifar_study, tmp_path):
    figure = cifar_study / "report" / "build" / "tiny_cnn" / "figures" / "samples.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(figure), str(tmp_path / "s")],
                   check=True)
    [png] = tmp_path.glob("s*.png")
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert (rgb[..., 0] - rgb[..., 1] > 100).sum() > 50  # red squares, not grey ones


@pytest.fixture(scope="module")
def folder_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("folder")
    root = tmp / "hojas"
    x, y = patterns(300, (16, 20), 0)
    names = ["olmo", "roble", "sauce_llorón"]
    for i, (image, label) in enumerate(zip(x, y % 3, strict=True)):
        path = root / names[label] / f"{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
    dataset = {"format": "image_folder", "root": str(root), "n_val": 60,
               "title": "Hojas de Córdoba", "description": "hojas de árboles de la ciudad"}
    config = _config("tiny", dataset)
    config["base"]["batch_size"] = 32
    build_study(tmp, config)
    return tmp


def test_an_image_folder_study_is_reported_with_its_own_title_classes_and_words(folder_study):
    tex = tex_of(folder_study, "tiny")
    assert_not_fashion_mnist(tex, inputs_too=True)
    assert "\\cite{" not in tex.split("Hojas de Córdoba", 1)[1].split("\n", 1)[0]
    text = report_text(folder_study / "report" / "tiny.pdf")
    assert ("Hojas de Córdoba consiste en 300 imágenes de 16×20 píxeles en escala de grises "
            "de hojas de árboles de la ciudad, etiquetadas en 3 categorías: olmo, roble y "
            "sauce_llorón.") in text, text[:3000]
    assert "aplanada en un vector de 320 componentes" in text
    assert "por publicar el conjunto" not in text  # their own images: no one to thank
    assert "De las 300 imágenes de Hojas de Córdoba se eligieron al azar" in text
    assert "Elegimos al azar, con semilla fija, 240 imágenes para entrenamiento" in text
    assert (folder_study / "data" / "tiny" / "image_folder.npz").is_file()


def test_one_changed_image_repacks_and_retrains_a_new_title_does_not(folder_study):
    config = folder_study / "config.yaml"
    image = folder_study / "hojas" / "olmo" / "000.png"
    raw = image.read_bytes()
    image.touch()  # a newer time, the same bytes: nothing to do
    assert "Nothing to be done" in snakemake(folder_study, "-n", "report/tiny.pdf",
                                             config=config)
    try:
        Image.fromarray(np.zeros((16, 20), np.uint8)).save(image)
        jobs = job_counts(snakemake(folder_study, "-n", "report/tiny.pdf", config=config))
        assert jobs["prepare_data"] == 1 and jobs["train"] == 3
    finally:
        image.write_bytes(raw)
    text = config.read_text()
    config.write_text(text.replace("Hojas de Córdoba", "Hojas de Unquillo"))
    try:
        jobs = job_counts(snakemake(folder_study, "-n", "report/tiny.pdf", config=config))
        assert "prepare_data" not in jobs and "train" not in jobs and jobs["report"] == 1
    finally:
        config.write_text(text)
