import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from conftest import ROOT, needs_fashion_mnist, write_idx
from nnreport.checks.data import training_images
from nnreport.data import mnist, registry
from nnreport.data.dataset import Dataset, make_splits, split
from nnreport.data.idx import DataError, parse_idx, read_bytes
from nnreport.data.preprocess import split_indices


def prepare_fashion_mnist(root, download_dir, n_train, n_val, split_seed, **settings):
    """FashionMNIST's loader (the MNIST-format one), as the registry calls it."""
    return mnist.prepare_idx("fashion_mnist", root, download_dir, n_train, n_val, split_seed,
                             **settings)


def use_debian_folder(monkeypatch, folder):
    """Make `folder` stand for Debian's dataset-fashion-mnist folder."""
    source = mnist.SOURCES["fashion_mnist"]
    monkeypatch.setitem(mnist.SOURCES, "fashion_mnist", dataclasses.replace(source, debian=folder))


def test_idx_round_trip_plain_and_gzip(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    for compress in (False, True):
        path = write_idx(tmp_path / f"x{compress}", images, compress=compress)
        assert np.array_equal(parse_idx(read_bytes(path)), images)


def test_truncated_idx_names_the_file(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: idx header announces shape "
                                        r"\(4, 28, 28\).*truncated"):
        parse_idx(path.read_bytes(), str(path))


def test_bad_header_is_not_an_idx_file():
    with pytest.raises(DataError, match="not an idx file"):
        parse_idx(b"PK\x03\x04 a zip file", "x.idx")


def _write_fake_fashion(folder, n=20):
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 255, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))


def test_md5_mismatch_is_a_clear_error(tmp_path):
    _write_fake_fashion(tmp_path)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: MD5 of the decompressed data "
                                        r"is [0-9a-f]{32}, expected f4a8712d"):
        prepare_fashion_mnist(str(tmp_path), None, 10, 10, 0)


def test_missing_dataset_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
    use_debian_folder(monkeypatch, tmp_path / "debian")
    with pytest.raises(DataError) as err:
        prepare_fashion_mnist(None, None, 10, 10, 0)
    msg = str(err.value)
    assert str(tmp_path / "debian") in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "dataset: root" in msg


def test_a_named_root_without_the_files_is_an_error_not_another_copy(tmp_path, monkeypatch):
    (tmp_path / "debian").mkdir()
    _write_fake_fashion(tmp_path / "debian")  # a copy that must not stand in for the root
    use_debian_folder(monkeypatch, tmp_path / "debian")
    mine = tmp_path / "mine"
    with pytest.raises(DataError) as err:
        prepare_fashion_mnist(str(mine), None, 10, 10, 0)
    assert str(err.value) == (
        f"dataset.root is '{mine}'; {mine} is not a folder (looked for train-images-idx3-ubyte, "
        f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain "
        f"or .gz, in {mine}, {mine}/FashionMNIST/raw); put the four files in {mine}, or set "
        f"root: null to use Debian's {tmp_path / 'debian'} or torchvision's download")
    mine.mkdir()
    assert mnist.idx_root_problem("fashion_mnist", mine).startswith(
        f"none of {mine}, {mine}/FashionMNIST/raw holds train-images-idx3-ubyte, ")
    _write_fake_fashion(mine)
    (mine / "t10k-labels-idx1-ubyte").unlink()
    assert mnist.idx_root_problem("fashion_mnist", mine).startswith(
        f"{mine} lacks t10k-labels-idx1-ubyte (each plain or .gz; looked in {mine}, ")


def test_a_named_root_is_searched_with_torchvisions_layout_below_it(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    _write_fake_fashion(raw)
    assert mnist.locate("fashion_mnist", str(tmp_path), None) == raw
    assert mnist.idx_root_problem("fashion_mnist", tmp_path) is None


def test_split_is_disjoint_seeded_and_sized():
    a_train, a_val, a_test = split(100, 60, 30, seed=3)
    b_train, b_val, _ = split(100, 60, 30, seed=3)
    assert len(a_train) == 60 and len(a_val) == 30 and len(a_test) == 0
    assert not set(a_train) & set(a_val)
    assert np.array_equal(a_train, b_train) and np.array_equal(a_val, b_val)
    assert not np.array_equal(a_train, split(100, 60, 30, seed=4)[0])
    with pytest.raises(DataError, match="exceeds the 100 images"):
        split(100, 80, 30, seed=0)


def test_a_test_split_is_disjoint_and_leaves_train_and_validation_as_they_were():
    train, val, test = split(100, 60, 30, seed=3, n_test=10)
    assert len(test) == 10 and not set(test) & (set(train) | set(val))
    before = split(100, 60, 30, seed=3)
    assert np.array_equal(train, before[0]) and np.array_equal(val, before[1])
    with pytest.raises(DataError, match=r"n_train \+ n_val \+ n_test = 101 exceeds"):
        split(100, 60, 30, seed=0, n_test=11)
    # n_train null: every image the validation and test sets leave
    train, val, test = make_splits(70, 30, None, 20, 0, False, n_test=10)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert len(set(train) | set(val) | set(test)) == 100
    with pytest.raises(DataError, match="holdout_test: true makes the test file the test set"):
        make_splits(70, 30, None, 20, 0, True, n_test=10)


@needs_fashion_mnist
def test_real_fashion_mnist_pools_seventy_thousand_images(tmp_path):
    ds = prepare_fashion_mnist(None, None, 60000, 10000, 0)
    assert ds.images.shape == (70000, 1, 28, 28) and ds.images.dtype == np.uint8
    assert np.bincount(ds.labels).tolist() == [7000] * 10
    assert len(ds.train_idx) == 60000 and len(ds.val_idx) == 10000
    assert ds.classes[0] == "T-shirt/top" and ds.classes[-1] == "Ankle boot"
    ds.save(tmp_path / "f.npz")
    back = Dataset.load(tmp_path / "f.npz")
    assert np.array_equal(back.val_idx, ds.val_idx) and back.classes == ds.classes


@pytest.mark.parametrize(("dataset", "max_train"), [
    ({"n_train": 60000, "n_val": 10000}, None), ({"n_train": None, "n_val": 5000}, None),
    ({"n_val": 10000, "holdout_test": True}, None), ({"n_train": 500, "n_val": 100}, 2000),
    ({"n_train": None}, 2000), ({"n_train": None, "n_val": 5000, "n_test": 3000}, None),
])
def test_validation_counts_the_training_images_the_split_and_max_train_give(dataset, max_train):
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    config = {"dataset": {"name": "fashion_mnist", **dataset}, "max_train": max_train}
    d = {"n_train": None, "n_val": 10000, "holdout_test": False, "n_test": 0, **dataset}
    train_idx, val_idx, _ = make_splits(*mnist.SIZES, d["n_train"], d["n_val"], 0,
                                        d["holdout_test"], d["n_test"])
    run = {"max_train": max_train, "max_val": None}
    trained, _ = split_indices(SimpleNamespace(train_idx=train_idx, val_idx=val_idx), run)
    assert training_images(config, schema)[0] == len(trained)


def test_a_missing_idx_file_is_named_plain_and_gzipped(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="neither train-labels-idx1-ubyte nor "
                                        r"train-labels-idx1-ubyte\.gz is there"):
        mnist.load_pair(tmp_path, mnist.SOURCES["mnist"], "train-images-idx3-ubyte",
                        "train-labels-idx1-ubyte")


def _write_mnist_format(folder, n=30, compress=False):
    rng = np.random.default_rng(1)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 255, (n, 28, 28)),
                  compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, compress=compress)


@pytest.mark.parametrize("name", ["mnist", "kmnist"])
def test_mnist_and_kmnist_read_idx_files_as_one_grey_channel(tmp_path, name):
    _write_mnist_format(tmp_path)
    ds = registry.prepare({"name": name, "root": str(tmp_path), "download_dir": None,
                           "n_train": 40, "n_val": 10, "split_seed": 0})
    assert ds.images.shape == (60, 1, 28, 28) and ds.images.dtype == np.uint8
    assert ds.classes == list(mnist.SOURCES[name].classes) and len(ds.classes) == 10
    assert len(ds.train_idx) == 40 and len(ds.val_idx) == 10
    info = registry.describe({"name": name})
    assert (info.shape, info.n_classes, info.sizes) == ((1, 28, 28), 10, (60_000, 10_000))


def test_a_compressed_file_that_is_not_the_published_one_is_refused(tmp_path):
    _write_mnist_format(tmp_path, compress=True)  # .gz files, not MNIST's own: MD5 differs
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: MD5 of the compressed "
                                        r"file is [0-9a-f]{32}, expected f68b3c2d"):
        registry.prepare({"name": "mnist", "root": str(tmp_path), "download_dir": None,
                          "n_train": 40, "n_val": 10, "split_seed": 0})


def test_labels_beyond_the_datasets_classes_are_refused(tmp_path):
    _write_mnist_format(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(30, 12))
    with pytest.raises(DataError, match="labels go from 0 to 12, but MNIST has 10 classes"):
        registry.prepare({"name": "mnist", "root": str(tmp_path), "download_dir": None,
                          "n_train": 40, "n_val": 10, "split_seed": 0})


def test_the_registry_names_each_dataset_and_refuses_an_unknown_one():
    assert registry.describe({"name": "emnist", "split": "letters"}).title == "EMNIST Letters"
    assert registry.describe({"name": "emnist"}).n_classes == 47
    assert registry.describe({"name": "fashion_mnist"}).cite == "xiao2017"
    with pytest.raises(DataError, match="dataset.name is 'cifar', not a built-in dataset; use "
                                        "one of cifar10, emnist"):
        registry.describe({"name": "cifar"})
