"""What a dataset's images and labels look like before it is packed: the shape (C, H, W) of an
image and the number of classes, so that a model can be checked before any job."""

from __future__ import annotations

# EMNIST's splits: classes per split (letters: labels 1-26, so 27 outputs, as torchvision has)
EMNIST_CLASSES = {"byclass": 62, "bymerge": 47, "balanced": 47, "letters": 27, "digits": 10,
                  "mnist": 10}


def image_shape(dataset: dict) -> tuple[int, int, int]:
    """Return the (channels, height, width) of one image of the dataset a config declares."""
    return (1, 28, 28)  # FashionMNIST and EMNIST: one grey channel of 28 x 28 pixels


def class_count(dataset: dict) -> int:
    """Return the number of classes of the dataset a config declares."""
    if dataset.get("name") == "emnist":
        return EMNIST_CLASSES.get(dataset.get("split") or "bymerge", 47)
    return 10
