"""EMNIST's loader on idx files written in EMNIST's real layout (gzip/ folder, transposed)."""

import numpy as np
import pytest

from conftest import write_idx
from nnreport.data import registry
from nnreport.data.dataset import Dataset
from nnreport.data.emnist import file_names, upright
from nnreport.data.idx import DataError

# An asymmetric glyph: an "L" (vertical bar on the left, foot at the bottom right).
L_GLYPH = np.zeros((28, 28), np.uint8)
L_GLYPH[4:24, 6:9] = 255
L_GLYPH[21:24, 6:20] = 255


def prepare(name, **settings):
    """The registry's loader of the dataset `dataset: {name: <name>, **settings}` declares."""
    return registry.prepare({"name": name, **settings})


def write_emnist(folder, n_train=40, n_test=10, n_classes=47, split="bymerge", mapping=True):
    """Write a small EMNIST split the way NIST ships it: gzip/emnist-<split>-*.gz, transposed."""
    gz = folder / "gzip"
    gz.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = file_names(split)
    for part, n in (("train", n_train), ("test", n_test)):
        upright_images = rng.integers(0, 50, (n, 28, 28)).astype(np.uint8)
        upright_images[0] = L_GLYPH
        labels = (np.arange(n) % n_classes).astype(np.uint8)
        write_idx(gz / names[f"{part}_images"], upright_images.transpose(0, 2, 1), compress=True)
        write_idx(gz / names[f"{part}_labels"], labels, compress=True)
    if mapping:
        chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"
        (gz / names["mapping"]).write_text(
            "\n".join(f"{i} {ord(c)}" for i, c in enumerate(chars[:n_classes])) + "\n")
    return folder


def test_images_come_out_upright_and_the_mapping_names_the_classes(tmp_path):
    ds = prepare("emnist", root=str(write_emnist(tmp_path)), download_dir=None, n_train=None,
                 n_val=8, split_seed=0, holdout_test=True, split="bymerge")
    assert np.array_equal(ds.images[0, 0], L_GLYPH)  # first training image, upright
    assert np.array_equal(ds.images[40, 0], L_GLYPH)  # first test image, upright
    # upright: the bar is on the left, the foot at the bottom
    assert ds.images[0, 0][10, 7] == 255 and ds.images[0, 0][10, 20] == 0
    assert ds.images[0, 0][22, 15] == 255 and ds.images[0, 0][5, 15] == 0
    assert len(ds.classes) == 47 and ds.classes[:3] == ["0", "1", "2"]
    assert ds.classes[36] == "a" and ds.classes[-1] == "t"


def test_split_is_train_dev_from_the_training_file_and_test_held_out(tmp_path):
    ds = prepare("emnist", root=str(write_emnist(tmp_path)), download_dir=None, n_train=None,
                 n_val=8, split_seed=0, holdout_test=True, split="bymerge")
    assert len(ds.train_idx) == 32 and len(ds.val_idx) == 8
    assert ds.train_idx.max() < 40 and ds.val_idx.max() < 40
    assert not set(ds.train_idx) & set(ds.val_idx)
    assert ds.test_idx.tolist() == list(range(40, 50))
    ds.save(tmp_path / "e.npz")
    assert np.array_equal(Dataset.load(tmp_path / "e.npz").test_idx, ds.test_idx)


def test_without_mapping_file_torchvision_names_the_classes(tmp_path):
    ds = prepare("emnist", root=str(write_emnist(tmp_path, mapping=False)), download_dir=None,
                 n_train=None, n_val=8, split_seed=0, holdout_test=True, split="bymerge")
    assert ds.classes[10] == "A" and len(ds.classes) == 47


def test_upright_transposes_each_image():
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    assert np.array_equal(upright(x)[1], x[1].T)


def test_missing_emnist_says_where_it_looked(tmp_path):
    with pytest.raises(DataError) as err:
        prepare("emnist", root=str(tmp_path), download_dir=None, n_train=None, n_val=8,
                split_seed=0, split="bymerge")
    msg = str(err.value)
    assert msg.startswith(f"dataset.root is '{tmp_path}'; none of {tmp_path}, "
                          f"{tmp_path / 'gzip'}, {tmp_path / 'EMNIST' / 'raw'} holds "
                          "emnist-bymerge-train-images-idx3-ubyte, ")
    assert msg.endswith(f"unzip NIST's gzip.zip into {tmp_path} (its gzip/ folder), or set root: "
                        "null to use torchvision's download into download_dir")


def test_a_named_root_is_not_replaced_by_a_downloaded_copy(tmp_path):
    downloaded = write_emnist(tmp_path / "raw" / "EMNIST") / "gzip"
    downloaded.rename(tmp_path / "raw" / "EMNIST" / "raw")  # where torchvision puts it
    with pytest.raises(DataError, match=r"^dataset\.root is '.*mine'; .*mine is not a folder"):
        prepare("emnist", root=str(tmp_path / "mine"), download_dir=str(tmp_path / "raw"),
                n_train=None, n_val=8, split_seed=0, split="bymerge")
    ds = prepare("emnist", root=None, download_dir=str(tmp_path / "raw"), n_train=None,
                 n_val=8, split_seed=0, split="bymerge")  # without a root, that copy is used
    assert len(ds.labels) == 50


def test_unknown_split_lists_the_known_ones(tmp_path):
    with pytest.raises(DataError, match="'bymarge' is not an EMNIST split; use one of"):
        prepare("emnist", root=str(tmp_path), download_dir=None, n_train=None, n_val=8,
                split_seed=0, split="bymarge")
