"""A user's own images: a folder of class sub-folders (ImageFolder's root/<class>/<image>) or
one .npz file; each checked cheaply first (a Summary, no pixel decoded), then loaded."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from nnreport.base.io import sha256
from nnreport.data.dataset import Dataset, make_splits
from nnreport.data.idx import DataError

log = logging.getLogger(__name__)

EXTENSIONS = (".png", ".jpg", ".jpeg")  # compared lower-cased
FORMATS = ("PNG", "JPEG", "MPO")  # what Pillow calls them (MPO: a camera's multi-picture JPEG)
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
WIDE_GREY = {"I", "I;16", "I;16L", "I;16B", "I;16N"}  # 16-bit grey: its high byte is kept
LAYOUT = "root/<class>/<image>.png"


@dataclass(frozen=True)
class Summary:
    """What a user's dataset holds, read cheaply, and every problem found on the way."""

    shape: tuple[int, int, int]  # (C, H, W) of one image
    classes: tuple[str, ...]
    sizes: tuple[int, int]  # images in the train part, in the given test part (0: none)
    problems: tuple[str, ...]  # each a message naming the path and the fix; () when usable
    digest: str = ""  # SHA-256 of the images' bytes and where each lies (its class, its part)


def _raise(problems: tuple[str, ...]) -> None:
    if problems:
        more = f"\n(and {len(problems) - 5} more problems)" if len(problems) > 5 else ""
        raise DataError("\n".join(problems[:5]) + more)


# how each format gives a test part, for `holdout_test: true` without one
TEST_FIX = {"image_folder": "set dataset.test_root to a folder with the same class sub-folders",
            "npz": "save x_test and y_test in it"}


def _check(source: str, summary: Summary, holdout_test: bool, fix: str,
           content: str | None) -> None:
    """Raise DataError for every problem of the summary's files, for a test part asked for and
    not given, and for images changed since the run was planned (`content`: their digest then)."""
    problem = holdout_problem(source, summary, holdout_test, fix)
    _raise(summary.problems + ((problem,) if problem else ()))
    if content and content != summary.digest:
        raise DataError(f"{source}: its images changed after this run was planned; run the "
                        f"same command again to pack them as they are now")


def holdout_problem(path: str, summary: Summary, holdout_test: bool, fix: str) -> str | None:
    """Return why `holdout_test: true` finds no test part in `path`, with `fix`; None if fine."""
    if holdout_test and summary.sizes[1] == 0:
        return (f"{path}: dataset.holdout_test is true but no test part is given; {fix}, "
                f"or set holdout_test: false to draw the test set from the images")
    return None


# --- image folders ----------------------------------------------------------------------

def _class_files(root: Path, problems: list[str]) -> dict[str, list[Path]]:
    """Return each class folder's image files, sorted, adding what is wrong to `problems`."""
    if not root.is_dir():
        problems.append(f"{root}: not a folder; point the dataset at a folder of class "
                        f"sub-folders ({LAYOUT})")
        return {}
    files: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in EXTENSIONS:
            problems.append(f"{entry}: an image outside any class folder; move it into its "
                            f"class's sub-folder ({LAYOUT})")
        if not entry.is_dir():
            continue
        files[entry.name] = []
        for path in sorted(entry.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_dir():
                problems.append(f"{path}: a folder inside a class folder; put the images "
                                f"directly in {entry} ({LAYOUT})")
            elif path.suffix.lower() not in EXTENSIONS:
                problems.append(f"{path}: not a PNG or JPEG image; remove it or convert it")
            else:
                files[entry.name].append(path)
        if not files[entry.name]:
            problems.append(f"{entry}: empty class folder (no .png/.jpg/.jpeg image in it); "
                            f"put its images there or remove the folder")
    return files


def _unreadable(path: Path, e: Exception) -> str:
    why = "Pillow cannot identify it" if isinstance(e, UnidentifiedImageError) else str(e)
    return f"{path}: not a decodable image ({why}); remove it or replace it with a valid PNG/JPEG"


def _header(path: Path, digest: hashlib._Hash) -> tuple[tuple[int, int], str] | str:
    """Return an image file's ((W, H), mode) from its header, or the problem reading it; its
    bytes go into `digest` on the way."""
    try:
        raw = path.read_bytes()
        digest.update(f"{len(raw)}:".encode())
        digest.update(raw)
        with Image.open(io.BytesIO(raw)) as im:
            if im.format not in FORMATS:
                return (f"{path}: a {im.format} image, not PNG or JPEG; convert it to PNG "
                        f"or JPEG")
            return im.size, im.mode
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        return _unreadable(path, e)


def _scan_folder(root: str, test_root: str | None) -> tuple[Summary, list[Path], list[int]]:
    """Return the folder's Summary and its image files with their labels, train part first."""
    problems: list[str] = []
    train = _class_files(Path(root), problems)
    classes = sorted(train)
    if Path(root).is_dir() and len(classes) < 2:
        problems.append(f"{root}: {len(classes)} class folder(s) ({', '.join(classes)}); "
                        f"needs at least 2, one sub-folder per class ({LAYOUT})")
    test = _class_files(Path(test_root), problems) if test_root else {}
    if test_root and Path(test_root).is_dir() and sorted(test) != classes:
        only_test, only_train = sorted(set(test) - set(train)), sorted(set(train) - set(test))
        problems.append(f"{test_root}: its class folders differ from {root}'s (only in the "
                        f"test part: {only_test}; only in the train part: {only_train}); give "
                        f"both the same class sub-folders")
    index = {c: i for i, c in enumerate(classes)}
    files = [(p, index.get(c, -1)) for part in (train, test) for c in sorted(part)
             for p in part[c]]
    by_size: dict[tuple[int, int], Path] = {}
    colour = False
    digest = hashlib.sha256()
    for path, label in files:
        digest.update(f"{label}/{path.name}/".encode())
        header = _header(path, digest)
        if isinstance(header, str):
            problems.append(header)
            continue
        by_size.setdefault(header[0], path)
        colour = colour or header[1] not in GREY_MODES
    if len(by_size) > 1:
        each = ", ".join(f"{p} is {w}x{h}" for (w, h), p in list(by_size.items())[:3])
        problems.append(f"{root}: images of different sizes ({each}); resize them all to one "
                        f"size, e.g. with Pillow's Image.resize")
    w, h = next(iter(by_size), (0, 0))
    sizes = (sum(map(len, train.values())), sum(map(len, test.values())))
    digest.update(f"parts:{sizes}".encode())  # where the train part ends and the test part begins
    summary = Summary((3 if colour else 1, h, w), tuple(classes), sizes, tuple(problems),
                      digest.hexdigest())
    return summary, [p for p, _ in files], [label for _, label in files]


def image_folder_summary(root: str, test_root: str | None = None) -> Summary:
    """Return what an image folder (and its test folder) holds: each file read once (for the
    digest), only its header decoded."""
    return _scan_folder(root, test_root)[0]


def pixels(im: Image.Image, channels: int) -> np.ndarray:
    """Return an image's pixels (C, H, W) uint8: grey for C = 1, RGB for C = 3."""
    if im.mode in WIDE_GREY:
        grey = (np.asarray(im).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8)  # (H, W)
        return np.repeat(grey[None], channels, axis=0)
    if channels == 1:
        return np.asarray(im.convert("L"))[None]  # (1, H, W)
    return np.asarray(im.convert("RGB")).transpose(2, 0, 1)  # (3, H, W), from (H, W, 3)


def prepare_image_folder(root: str, n_train: int | None, n_val: int, split_seed: int,
                         holdout_test: bool = False, n_test: int = 0,
                         test_root: str | None = None, content: str | None = None,
                         **ignored: object) -> Dataset:
    """Return a folder's images (N, C, H, W), labelled by sub-folder, with a seeded split
    (`content`: the digest its run was planned with; other images are refused)."""
    summary, files, labels = _scan_folder(root, test_root)
    _check(root, summary, holdout_test, TEST_FIX["image_folder"], content)
    images = np.empty((len(files), *summary.shape), np.uint8)  # (N, C, H, W), filled in place
    for i, path in enumerate(files):
        try:
            with Image.open(path) as im:
                images[i] = pixels(im, summary.shape[0])
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
            raise DataError(_unreadable(path, e)) from e
    train_idx, val_idx, test_idx = make_splits(*summary.sizes, n_train, n_val, split_seed,
                                               holdout_test, n_test)
    log.info("image folder %s: %d images of %s, %d classes", root, len(files), summary.shape,
             len(summary.classes))
    return Dataset(images, np.array(labels, np.int64), train_idx, val_idx,
                   list(summary.classes), root, test_idx)


# --- one .npz file ----------------------------------------------------------------------

def _headers(path: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Return the (shape, dtype) of each array of an .npz, from the .npy headers alone."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".npy"):
                with zf.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(f)
                out[name[: -len(".npy")]] = (shape, dtype)
    return out


def _image_problems(path: str, name: str, shape: tuple[int, ...], dtype: np.dtype) -> list[str]:
    if dtype != np.uint8:
        fix = (f"if its values are floats in [0, 1], convert with ({name} * 255).round()"
               f".astype(np.uint8)" if dtype.kind == "f" else
               f"store it as uint8: {name}.astype(np.uint8) once its values lie in 0..255")
        return [f"{path}: array {name} is {dtype}, not uint8; {fix}"]
    if len(shape) == 4 and shape[1] not in (1, 3) and shape[-1] in (1, 3):
        return [f"{path}: array {name} has shape {shape}, channels last; store it (N, C, H, W): "
                f"{name}.transpose(0, 3, 1, 2)"]
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[1] not in (1, 3)) or not shape[0]:
        return [f"{path}: array {name} has shape {shape}; expected (N, H, W) or (N, C, H, W) "
                f"with C 1 or 3 and N > 0"]
    return []


def _failed(problems: list[str]) -> Summary:
    return Summary((0, 0, 0), (), (0, 0), tuple(problems))


def _labels(path: str, z: np.lib.npyio.NpzFile, name: str, header: tuple, n: int,
            problems: list[str]) -> np.ndarray:
    """Return the labels array `name` as int64, or none, adding what is wrong to `problems`."""
    shape, dtype = header
    if len(shape) != 1 or dtype.kind not in "iu":
        problems.append(f"{path}: array {name} is {dtype} of shape {shape}; expected integer "
                        f"labels of shape (N,), one per image")
        return np.zeros(0, np.int64)
    if shape[0] != n:
        problems.append(f"{path}: x{name[1:]} has {n} images but {name} has {shape[0]} labels; "
                        f"give one label per image")
        return np.zeros(0, np.int64)
    return z[name].astype(np.int64)


def _class_names(path: str, z: np.lib.npyio.NpzFile, header: tuple | None, labels: np.ndarray,
                 problems: list[str]) -> tuple[str, ...]:
    """Return the class names (the array classes, else "0".."K-1"), checking the labels."""
    if header is None:
        classes = tuple(str(k) for k in range(int(labels.max()) + 1 if len(labels) else 0))
    elif header[1].kind == "O":
        problems.append(f"{path}: array classes is stored as objects (loading it needs pickle, "
                        f"refused); save it as np.array(names, dtype=str)")
        return ()
    elif header[1].kind not in "US" or len(header[0]) != 1:
        problems.append(f"{path}: array classes is {header[1]} of shape {header[0]}; save the "
                        f"names as np.array(names, dtype=str), one per class")
        return ()
    else:
        classes = tuple(str(c) for c in z["classes"])
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        k = len(classes)
        problems.append(f"{path}: labels range {labels.min()}..{labels.max()} but there "
                        f"{'is 1 class' if k == 1 else f'are {k} classes'}; labels must lie in "
                        f"0..{k - 1}")
    return classes


def _scan_npz(path: str) -> tuple[Summary, list[str]]:
    """Return the file's Summary and the names of its image arrays (x, then x_test if any)."""
    save = "save it with np.savez(path, x=x, y=y)"
    if not Path(path).is_file():
        return _failed([f"{path}: no such file; {save}"]), []
    try:
        headers = _headers(path)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as e:
        return _failed([f"{path}: not a readable .npz ({e}); {save}"]), []
    problems = [f"{path}: no array {name} (arrays: {', '.join(sorted(headers)) or 'none'}); "
                f"{save}" for name in ("x", "y") if name not in headers]
    if ("x_test" in headers) != ("y_test" in headers):
        problems.append(f"{path}: x_test and y_test come together; save both or neither")
    if problems:
        return _failed(problems), []
    parts = ["x", "x_test"] if "x_test" in headers else ["x"]
    for name in parts:
        problems += _image_problems(path, name, *headers[name])
    if problems:
        return _failed(problems), parts
    shapes = [headers[name][0] for name in parts]
    image = [tuple(s[1:]) if len(s) == 4 else (1, *s[1:]) for s in shapes]  # (C, H, W)
    if len(image) == 2 and image[0] != image[1]:
        problems.append(f"{path}: x_test images are {shapes[1][1:]}, x's are {shapes[0][1:]}; "
                        f"give both the same image shape")
    with np.load(path, allow_pickle=False) as z:
        ys = [_labels(path, z, "y" + name[1:], headers["y" + name[1:]], shape[0], problems)
              for name, shape in zip(parts, shapes, strict=True)]
        classes = _class_names(path, z, headers.get("classes"), np.concatenate(ys), problems)
    c, h, w = image[0]
    sizes = (shapes[0][0], shapes[1][0] if len(shapes) > 1 else 0)
    return Summary((c, h, w), classes, sizes, tuple(problems), sha256(path)), parts


def npz_summary(path: str) -> Summary:
    """Return what an .npz file holds, from the arrays' headers and its labels."""
    return _scan_npz(path)[0]


def prepare_npz(path: str, n_train: int | None, n_val: int, split_seed: int,
                holdout_test: bool = False, n_test: int = 0, content: str | None = None,
                **ignored: object) -> Dataset:
    """Return an .npz file's images (N, C, H, W) and labels y, with a seeded split
    (`content`: the digest its run was planned with; another file is refused)."""
    summary, parts = _scan_npz(path)
    _check(path, summary, holdout_test, TEST_FIX["npz"], content)
    n = sum(summary.sizes)
    images = np.empty((n, *summary.shape), np.uint8)  # (N, C, H, W), filled part by part
    labels = np.empty(n, np.int64)
    with np.load(path, allow_pickle=False) as z:
        start = 0
        for name, size in zip(parts, summary.sizes, strict=False):
            images[start : start + size] = z[name].reshape(size, *summary.shape)
            labels[start : start + size] = z["y" + name[1:]]
            start += size
    train_idx, val_idx, test_idx = make_splits(*summary.sizes, n_train, n_val, split_seed,
                                               holdout_test, n_test)
    log.info("npz %s: %d images of %s, %d classes", path, n, summary.shape,
             len(summary.classes))
    return Dataset(images, labels, train_idx, val_idx, list(summary.classes), path, test_idx)
