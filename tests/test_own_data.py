"""The user's own images and CIFAR-10 declared in a config (issue 23): what the registry says of
them, and every bad declaration or bad file refused before any job, naming the key and file."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import yaml
from PIL import Image
from test_validation import only_problem, problems

from conftest import ROOT, SNAKEMAKE, make_workdir
from nnreport.config.layout import dataset_name
from nnreport.data.idx import DataError
from nnreport.data.registry import BUILT_IN, content_digest, describe, prepare


def _tiny(dataset: dict) -> dict:
    config = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    config["dataset"] = dataset
    config["max_train"] = config["max_val"] = None
    config["base"]["batch_size"] = 4
    return config


def png(path, value, shape=(6, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)
    return path


def folder(root, per_class=6, classes=("gato", "perro")):
    for c, name in enumerate(classes):
        for i in range(per_class):
            png(root / name / f"{i}.png", 40 * c + i)
    return root


def test_an_image_folder_is_described_from_its_headers_and_filed_by_its_format(tmp_path):
    root = folder(tmp_path / "mascotas")
    dataset = {"format": "image_folder", "root": str(root), "n_val": 4, "split_seed": 0}
    info = describe(dataset)
    assert (info.key, info.title, info.shape, info.n_classes, info.sizes, info.own) == (
        "image_folder", "mascotas", (1, 6, 6), 2, (12, 0), True)
    assert describe({**dataset, "title": "Mascotas"}).title == "Mascotas"
    assert dataset_name(dataset) == "image_folder"
    digest = content_digest(dataset)
    assert digest and prepare({**dataset, "n_train": None, "content": digest}).images.shape == (
        12, 1, 6, 6)
    png(root / "gato" / "0.png", 255)  # changed after the run was planned
    assert content_digest(dataset) != digest
    with pytest.raises(DataError, match="its images changed after this run was planned"):
        prepare({**dataset, "n_train": None, "content": digest})


def test_cifar10_is_a_built_in_of_three_channels():
    info = describe({"name": "cifar10"})
    assert (info.title, info.shape, info.n_classes, info.sizes, info.cite) == (
        "CIFAR-10", (3, 32, 32), 10, (50000, 10000), "krizhevsky2009")


@pytest.mark.parametrize(("dataset", "line"), [
    ({"n_val": 10}, "dataset names no dataset; give name: one of cifar10, emnist, "
                    "fashion_mnist, kmnist, mnist, or your own images with format: "
                    "image_folder (with root: the folder) or format: npz (with path: the file)"),
    ({"name": "mnist", "format": "npz", "path": "x.npz"},
     "dataset gives both name: mnist and format: npz; keep name for the built-in dataset, or "
     "format for your own images"),
    ({"format": "image_folder"},
     "dataset.format is image_folder but dataset.root is not set; set it to your folder of "
     "class sub-folders"),
    ({"format": "npz", "path": "x.npz", "test_root": "t"},
     "dataset.test_root is read only with format: image_folder, not with format: npz; remove "
     "it"),
    ({"name": "fashion_mnist", "description": "ropa"},
     "dataset.description is read only with your own images (format), not with name: "
     "fashion_mnist; remove it"),
    ({"name": "cifar10", "md5": {"test_batch": "0" * 32}},
     "dataset.md5 gives no digest for data_batch_1, data_batch_2, data_batch_3, data_batch_4, "
     "data_batch_5, batches.meta; give all seven files' (md5sum prints them), or remove md5 to "
     "check against the published ones"),
])
def test_a_dataset_declared_by_neither_or_both_or_half_is_refused(dataset, line):
    assert only_problem(_tiny(dataset)) == f"config.yaml: {line}"


def _bad(tmp_path, case):
    """A dataset declaration with one problem, and the start of the line refusing it."""
    root = folder(tmp_path / "imgs")
    own = {"format": "image_folder", "root": str(root), "n_val": 4}
    if case == "sizes":
        png(root / "perro" / "9.png", 0, shape=(8, 6))
        return own, (f"dataset.root: {root}: images of different sizes ({root}/gato/0.png is "
                     f"6x6, {root}/perro/9.png is 6x8); resize them all to one size, e.g. "
                     f"with Pillow's Image.resize")
    if case == "empty":
        (root / "loro").mkdir()
        return own, (f"dataset.root: {root}/loro: empty class folder (no .png/.jpg/.jpeg image "
                     f"in it); put its images there or remove the folder")
    if case == "not_an_image":
        (root / "gato" / "7.png").write_text("hola")
        return own, (f"dataset.root: {root}/gato/7.png: not a decodable image (Pillow cannot "
                     f"identify it); remove it or replace it with a valid PNG/JPEG")
    if case == "too_few":
        return {**own, "n_train": 10}, ("dataset.n_train is 10; with n_val: 4 that is 14 "
                                        "images, more than imgs's 12 images; use at "
                                        "most 8 or lower n_val")
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros((12, 6, 6), np.uint8), y=np.arange(12) % 3,
             classes=np.array(["a", "b"]))
    return {"format": "npz", "path": str(path), "n_val": 4}, (
        f"dataset.path: {path}: labels range 0..2 but there are 2 classes; labels must lie in "
        f"0..1")


CASES = ["sizes", "empty", "not_an_image", "too_few", "labels"]


@pytest.mark.parametrize("case", CASES)
def test_bad_own_data_is_refused_naming_the_file_and_the_fix(tmp_path, case):
    dataset, line = _bad(tmp_path, case)
    assert problems(_tiny(dataset)) == [f"config.yaml: {line}"]


def test_bad_own_data_stops_snakemake_before_any_job(tmp_path):
    """Each refusal, through the real Snakemake: its line, no traceback, nothing run."""
    for case in CASES:
        work = tmp_path / case
        work.mkdir()
        dataset, line = _bad(work, case)
        make_workdir(work, _tiny(dataset))
        proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(work),
                               "--cores", "1", "report/tiny.pdf"],
                              capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1 and f"config.yaml: {line}" in proc.stderr.splitlines(), out
        assert "Traceback" not in out
        assert not any((work / d).exists() for d in ("results", "data", "logs")), case


def test_an_unknown_name_is_refused_with_every_built_in_and_the_own_formats():
    assert only_problem(_tiny({"name": "cifar100"})) == (
        "config.yaml: dataset.name is 'cifar100', not a built-in dataset; use one of cifar10, "
        "emnist, fashion_mnist, kmnist, mnist, or give your own images with format: "
        "image_folder (with root: the folder) or format: npz (with path: the file)")


def test_the_schema_lists_no_dataset_the_registry_does_not_hold():
    """Adding a built-in is its module and its registry entry: the schema names none."""
    schema = (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert "enum: [fashion_mnist" not in schema
    assert sorted(BUILT_IN) == ["cifar10", "emnist", "fashion_mnist", "kmnist", "mnist"]
