"""CIFAR-10's pickle batches, image folders and .npz files, written tiny in their real formats."""

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnreport.data.cifar import CIFAR10_MD5, cifar10_root_problem, prepare_cifar10
from nnreport.data.dataset import make_splits
from nnreport.data.idx import DataError
from nnreport.data.own import (
    Summary,
    image_folder_summary,
    npz_summary,
    prepare_image_folder,
    prepare_npz,
)

SPLIT = {"n_train": None, "n_val": 2, "split_seed": 0}


# --- CIFAR-10 ---------------------------------------------------------------------------

def write_cifar(folder, per_batch=2, n_test=3):
    """Write the seven CIFAR-10 files as the official archive pickles them; return their MD5s
    and the images (N, 3, 32, 32) and labels in file order."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    xs, ys = [], []
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        n = n_test if name == "test_batch" else per_batch
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        y = [(i + k) % 10 for k in range(n)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": y, b"data": x,
                         b"filenames": [b"a.png"] * n}, f)
        xs.append(x.reshape(n, 3, 32, 32))
        ys += y
    with open(folder / "batches.meta", "wb") as f:
        names = b"airplane automobile bird cat deer dog frog horse ship truck".split()
        pickle.dump({b"label_names": names, b"num_vis": 3072}, f)
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    return md5, np.concatenate(xs), np.array(ys)


def test_cifar_batches_are_read_in_chw_order_train_batches_first(tmp_path):
    md5, x, y = write_cifar(tmp_path / "cifar-10-batches-py")
    assert cifar10_root_problem(str(tmp_path)) is None
    data = prepare_cifar10(str(tmp_path), None, md5=md5, holdout_test=True, **SPLIT)
    assert data.images.shape == (13, 3, 32, 32) and data.images.dtype == np.uint8
    assert data.images.flags.c_contiguous
    assert np.array_equal(data.images, x)  # row = red plane, green, blue: (3, 32, 32)
    assert data.labels.dtype == np.int64 and data.labels.tolist() == y.tolist()
    assert data.classes[:3] == ["airplane", "automobile", "bird"] and len(data.classes) == 10
    assert data.source == str(tmp_path / "cifar-10-batches-py")
    assert data.test_idx.tolist() == [10, 11, 12]  # test_batch's images come last
    assert len(data.train_idx) == 8 and len(data.val_idx) == 2


def test_cifar_official_digests_are_torchvisions():
    from torchvision.datasets import CIFAR10

    official = dict(CIFAR10.train_list + CIFAR10.test_list)
    assert official | {CIFAR10.meta["filename"]: CIFAR10.meta["md5"]} == CIFAR10_MD5


def test_cifar_bad_md5_is_refused_before_unpickling(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    md5, _, _ = write_cifar(folder)
    (folder / "data_batch_3").write_bytes(b"not a pickle at all")
    digest = hashlib.md5(b"not a pickle at all").hexdigest()
    with pytest.raises(DataError) as e:
        prepare_cifar10(str(folder), None, md5=md5, **SPLIT)
    assert str(e.value).startswith(f"{folder / 'data_batch_3'}: MD5 is {digest}, expected "
                                   f"{md5['data_batch_3']}; the file is corrupt")
    assert "cifar-10-python.tar.gz" in str(e.value)
    with pytest.raises(DataError, match=r"batches.meta: MD5 is [0-9a-f]{32}, expected "
                                        r"5ff9c542aee3614f3951f8cda6e48888"):
        prepare_cifar10(str(folder), None, **SPLIT)  # md5=None: the official digests


def test_cifar_root_without_the_files_names_what_is_missing(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "test_batch").unlink()
    problem = cifar10_root_problem(str(tmp_path))
    assert problem.startswith(f"{folder} lacks test_batch (looked in {tmp_path} and {folder})")
    assert "extract it" in problem and "dataset: root" in problem
    with pytest.raises(DataError) as e:
        prepare_cifar10(str(tmp_path), None, **SPLIT)
    assert str(e.value) == f"dataset.root is {str(tmp_path)!r}; {problem}"
    missing = tmp_path / "nowhere"
    assert cifar10_root_problem(str(missing)).startswith(f"{missing} is not a folder")
    with pytest.raises(DataError) as e:
        prepare_cifar10(None, None, **SPLIT)
    assert str(e.value).startswith("CIFAR-10 not found. Looked for data_batch_1, ")
    assert "no download_dir to download into. Provide the files: download " in str(e.value)


def test_cifar_batch_with_wrong_row_length_names_the_file(tmp_path):
    md5, _, _ = write_cifar(tmp_path)
    with open(tmp_path / "data_batch_2", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, f)
    md5["data_batch_2"] = hashlib.md5((tmp_path / "data_batch_2").read_bytes()).hexdigest()
    with pytest.raises(DataError, match=r"data_batch_2: data is uint8 of shape \(2, 1024\); a "
                                        r"CIFAR-10 batch holds uint8 rows of 3072 values"):
        prepare_cifar10(str(tmp_path), None, md5=md5, **SPLIT)


# --- image folders ----------------------------------------------------------------------

def save(path, array):
    """Write `array` ((H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA) as an image; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def grey(value, shape=(4, 5)):
    return np.full(shape, value, np.uint8)


def test_grey_pngs_read_back_exactly_with_sorted_classes(tmp_path):
    a = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    save(tmp_path / "rosa" / "b.png", a)
    save(tmp_path / "rosa" / "a.png", grey(7))
    save(tmp_path / "clavel" / "z.PNG", grey(200))
    (tmp_path / "rosa" / ".DS_Store").write_bytes(b"\0")  # hidden files are passed over
    summary = image_folder_summary(str(tmp_path))
    assert summary.problems == ()
    assert summary.shape == (1, 4, 5) and summary.classes == ("clavel", "rosa")
    assert summary.sizes == (3, 0)
    data = prepare_image_folder(str(tmp_path), **SPLIT)
    assert data.images.shape == (3, 1, 4, 5) and data.images.dtype == np.uint8
    assert data.classes == ["clavel", "rosa"] and data.labels.tolist() == [0, 1, 1]
    assert np.array_equal(data.images[0, 0], grey(200))
    assert np.array_equal(data.images[1, 0], grey(7))  # a.png before b.png
    assert np.array_equal(data.images[2, 0], a)
    assert data.source == str(tmp_path)


def test_a_folders_digest_follows_its_images_not_where_the_folder_lies(tmp_path):
    def folder(where, value=7, cls="rosa"):
        save(where / "clavel" / "z.png", grey(200))
        save(where / cls / "a.png", grey(value))
        save(where / "rosa" / "b.png", grey(9))
        return image_folder_summary(str(where)).digest

    first = folder(tmp_path / "a")
    assert len(first) == 64 and folder(tmp_path / "copy") == first  # copied elsewhere: same
    assert folder(tmp_path / "pixel", value=8) != first  # one pixel changed
    assert folder(tmp_path / "moved", cls="clavel") != first  # a.png in another class


def test_one_rgb_image_makes_the_whole_folder_rgb_in_chw_order(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 20, 30
    rgb[1, 2] = (255, 0, 128)
    save(tmp_path / "a" / "colour.png", rgb)
    rgba = np.dstack([rgb, np.full((4, 5), 50, np.uint8)])
    save(tmp_path / "a" / "alpha.png", rgba)
    save(tmp_path / "b" / "grey.png", grey(90))
    summary = image_folder_summary(str(tmp_path))
    assert summary.shape == (3, 4, 5) and summary.problems == ()
    data = prepare_image_folder(str(tmp_path), **SPLIT)
    assert data.shape == summary.shape and tuple(data.classes) == summary.classes
    alpha, colour, grey_ = data.images
    assert np.array_equal(colour, rgb.transpose(2, 0, 1))  # (3, H, W)
    assert colour[:, 1, 2].tolist() == [255, 0, 128]
    assert np.array_equal(alpha, colour)  # the alpha channel is dropped
    assert (grey_ == 90).all()  # grey replicated into the three channels


def test_jpeg_and_16_bit_png_are_read(tmp_path):
    save(tmp_path / "a" / "photo.JPEG", grey(128, (8, 8)))
    wide = np.full((8, 8), 0x1234, np.uint16)
    save(tmp_path / "b" / "wide.png", wide)
    data = prepare_image_folder(str(tmp_path), **SPLIT)
    assert data.images.shape == (2, 1, 8, 8)
    assert np.abs(data.images[0].astype(int) - 128).max() <= 2  # JPEG is lossy
    assert (data.images[1] == 0x12).all()  # a 16-bit grey keeps its high byte


@pytest.mark.parametrize("case", ["empty", "text", "broken", "one_class", "nested", "sizes"])
def test_a_bad_folder_is_refused_with_the_same_message_by_summary_and_prepare(tmp_path, case):
    a, b = tmp_path / "a" / "x.png", tmp_path / "b" / "y.png"
    save(a, grey(1))
    if case != "one_class":
        save(b, grey(2, (6, 5) if case == "sizes" else (4, 5)))
    path, text = {
        "empty": (tmp_path / "c", "empty class folder (no .png/.jpg/.jpeg image in it); put "
                                  "its images there or remove the folder"),
        "text": (tmp_path / "a" / "notes.txt", "not a PNG or JPEG image; remove it or convert it"),
        "broken": (tmp_path / "b" / "bad.jpg", "not a decodable image ("),
        "one_class": (tmp_path, "1 class folder(s) (a); needs at least 2"),
        "nested": (tmp_path / "a" / "more", "a folder inside a class folder"),
        "sizes": (tmp_path, f"images of different sizes ({a} is 5x4, {b} is 5x6); resize them "
                            f"all to one size"),
    }[case]
    if case in ("empty", "nested"):
        path.mkdir()
    if case in ("text", "broken"):
        path.write_text("hola")
    [problem] = image_folder_summary(str(tmp_path)).problems
    assert problem.startswith(f"{path}: {text}")
    with pytest.raises(DataError) as e:
        prepare_image_folder(str(tmp_path), **SPLIT)
    assert str(e.value) == problem


def test_a_truncated_png_passes_the_header_check_but_prepare_names_it(tmp_path):
    rng = np.random.default_rng(0)
    save(tmp_path / "a" / "x.png", rng.integers(0, 256, (64, 64), dtype=np.uint8))
    cut = save(tmp_path / "b" / "cut.png", rng.integers(0, 256, (64, 64), dtype=np.uint8))
    cut.write_bytes(cut.read_bytes()[:2000])
    assert image_folder_summary(str(tmp_path)).problems == ()  # headers only: not seen
    with pytest.raises(DataError) as e:
        prepare_image_folder(str(tmp_path), **SPLIT)
    assert str(e.value).startswith(f"{cut}: not a decodable image (")
    assert str(e.value).endswith("remove it or replace it with a valid PNG/JPEG")


def test_a_test_root_is_the_given_test_part_placed_last(tmp_path):
    for k, name in enumerate(["a", "a", "b", "b", "b"]):
        save(tmp_path / "train" / name / f"{k}.png", grey(k))
    save(tmp_path / "test" / "b" / "t.png", grey(100))
    save(tmp_path / "test" / "a" / "t.png", grey(101))
    root, test_root = str(tmp_path / "train"), str(tmp_path / "test")
    summary = image_folder_summary(root, test_root)
    assert summary.sizes == (5, 2) and summary.problems == ()
    data = prepare_image_folder(root, n_train=None, n_val=1, split_seed=3, holdout_test=True,
                                test_root=test_root)
    assert data.test_idx.tolist() == [5, 6]
    assert data.labels.tolist() == [0, 0, 1, 1, 1, 0, 1]
    assert data.images[5:, 0, 0, 0].tolist() == [101, 100]
    expected = make_splits(5, 2, None, 1, 3, True)
    assert all(np.array_equal(a, b) for a, b in
               zip(expected, (data.train_idx, data.val_idx, data.test_idx), strict=True))
    pooled = prepare_image_folder(root, n_train=4, n_val=1, split_seed=3, n_test=2,
                                  test_root=test_root)
    assert sorted([*pooled.train_idx, *pooled.val_idx, *pooled.test_idx]) == list(range(7))


def test_holdout_without_a_test_part_and_other_test_classes_are_refused(tmp_path):
    save(tmp_path / "train" / "a" / "x.png", grey(1))
    save(tmp_path / "train" / "b" / "x.png", grey(1))
    root = str(tmp_path / "train")
    with pytest.raises(DataError) as e:
        prepare_image_folder(root, **SPLIT, holdout_test=True)
    assert str(e.value) == (f"{root}: dataset.holdout_test is true but no test part is given; "
                            f"set dataset.test_root to a folder with the same class sub-folders"
                            f", or set holdout_test: false to draw the test set from the images")
    save(tmp_path / "test" / "a" / "x.png", grey(1))
    save(tmp_path / "test" / "c" / "x.png", grey(1))
    test_root = str(tmp_path / "test")
    [problem] = image_folder_summary(root, test_root).problems
    assert problem == (f"{test_root}: its class folders differ from {root}'s (only in the test "
                       f"part: ['c']; only in the train part: ['b']); give both the same class "
                       f"sub-folders")
    with pytest.raises(DataError, match="only in the test part"):
        prepare_image_folder(root, **SPLIT, test_root=test_root)


# --- .npz files -------------------------------------------------------------------------

def test_npz_with_3d_x_is_grey_and_4d_x_keeps_its_channels(tmp_path):
    x3 = np.arange(4 * 2 * 3, dtype=np.uint8).reshape(4, 2, 3)
    grey_npz = str(tmp_path / "grey.npz")
    np.savez(grey_npz, x=x3, y=np.array([1, 0, 1, 2]))
    digest = hashlib.sha256(Path(grey_npz).read_bytes()).hexdigest()  # the packed data's key
    assert npz_summary(grey_npz) == Summary((1, 2, 3), ("0", "1", "2"), (4, 0), (), digest)
    data = prepare_npz(grey_npz, **SPLIT)
    assert data.images.shape == (4, 1, 2, 3) and np.array_equal(data.images[:, 0], x3)
    assert data.labels.tolist() == [1, 0, 1, 2] and data.classes == ["0", "1", "2"]
    x4 = np.arange(5 * 3 * 2 * 2, dtype=np.uint8).reshape(5, 3, 2, 2)
    xt = np.full((2, 3, 2, 2), 9, np.uint8)
    path = tmp_path / "rgb.npz"
    np.savez(path, x=x4, y=np.array([0, 1, 0, 1, 0]), x_test=xt, y_test=np.array([1, 1]),
             classes=np.array(["gato", "perro"]))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert npz_summary(str(path)) == Summary((3, 2, 2), ("gato", "perro"), (5, 2), (), digest)
    data = prepare_npz(str(path), **SPLIT, holdout_test=True)
    assert data.images.flags.c_contiguous and data.source == str(path)
    assert np.array_equal(data.images, np.concatenate([x4, xt]))
    assert data.labels.tolist() == [0, 1, 0, 1, 0, 1, 1] and data.test_idx.tolist() == [5, 6]


@pytest.mark.parametrize(("arrays", "message"), [
    ({"x": np.zeros((2, 3, 3), np.uint8)},
     "no array y (arrays: x); save it with np.savez(path, x=x, y=y)"),
    ({"x": np.zeros((2, 3, 3)), "y": [0, 1]},
     "array x is float64, not uint8; if its values are floats in [0, 1], convert with "
     "(x * 255).round().astype(np.uint8)"),
    ({"x": np.zeros((2, 9), np.uint8), "y": [0, 1]},
     "array x has shape (2, 9); expected (N, H, W) or (N, C, H, W) with C 1 or 3"),
    ({"x": np.zeros((2, 4, 4, 3), np.uint8), "y": [0, 1]},
     "array x has shape (2, 4, 4, 3), channels last; store it (N, C, H, W): "
     "x.transpose(0, 3, 1, 2)"),
    ({"x": np.zeros((3, 3, 3), np.uint8), "y": [0, 1]},
     "x has 3 images but y has 2 labels; give one label per image"),
    ({"x": np.zeros((2, 3, 3), np.uint8), "y": [0, 2], "classes": np.array(["a", "b"])},
     "labels range 0..2 but there are 2 classes; labels must lie in 0..1"),
    ({"x": np.zeros((2, 3, 3), np.uint8), "y": [0, -1]},
     "labels range -1..0 but there is 1 class; labels must lie in 0..0"),
    ({"x": np.zeros((2, 3, 3), np.uint8), "y": [0, 1],
      "classes": np.array(["a", "b"], dtype=object)},
     "array classes is stored as objects (loading it needs pickle, refused); save it as "
     "np.array(names, dtype=str)"),
    ({"x": np.zeros((2, 3, 3), np.uint8), "y": [0, 1],
      "x_test": np.zeros((1, 3, 4), np.uint8), "y_test": [0]},
     "x_test images are (3, 4), x's are (3, 3); give both the same image shape"),
])
def test_a_bad_npz_is_refused_naming_the_file_and_array(tmp_path, arrays, message):
    path = tmp_path / "mine.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    [problem] = npz_summary(str(path)).problems
    assert problem.startswith(f"{path}: {message}")
    with pytest.raises(DataError) as e:
        prepare_npz(str(path), **SPLIT)
    assert str(e.value) == problem


def test_npz_holdout_without_x_test_and_a_missing_file_are_refused(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, x=np.zeros((6, 2, 2), np.uint8), y=np.array([0, 1] * 3))
    with pytest.raises(DataError) as e:
        prepare_npz(str(path), **SPLIT, holdout_test=True)
    assert str(e.value).startswith(f"{path}: dataset.holdout_test is true but no test part is "
                                   f"given; save x_test and y_test in it, or set holdout_test")
    missing = str(tmp_path / "none.npz")
    assert npz_summary(missing).problems == (f"{missing}: no such file; save it with "
                                             f"np.savez(path, x=x, y=y)",)
