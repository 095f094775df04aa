"""The autoencoder's figures: its reconstructions of a few images, and its codes' first two
principal components; each function writes one PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from nnreport.data.dataset import Dataset  # noqa: E402
from nnreport.evaluation import reconstruction as rec  # noqa: E402
from nnreport.reporting.figures import (  # noqa: E402
    COLUMN_WIDTH,
    PAGE_WIDTH,
    STYLE,
    FigureError,
    _save,
    draw_image,
)
from nnreport.reporting.labels import class_names  # noqa: E402
from nnreport.reporting.words import word  # noqa: E402

LABEL_POINTS = 8  # the row labels, as large as the other figures' axis labels
GAP = 0.06  # between images, as a fraction of an image's side
MARGIN = 0.03  # inches around the grid


def _text_width(fig: plt.Figure, texts: list[str], size: float) -> float:
    """The width in inches of the widest of `texts` set at `size` points on `fig`."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    widths = []
    for text in texts:
        artist = fig.text(0, 0, text, fontsize=size)
        widths.append(artist.get_window_extent(renderer=renderer).width / fig.dpi)
        artist.remove()
    return max(widths)


def _with_channels(images: np.ndarray) -> np.ndarray:
    """Return images (n, C, H, W): grey ones given (n, H, W) get their one channel."""
    return images[:, None] if images.ndim == 3 else images


def _image_rows(originals: np.ndarray, rows: list[tuple[str, np.ndarray]],
                noisy: list[tuple[str, np.ndarray]] | None) -> list[tuple[str, np.ndarray]]:
    """The figure's rows, top to bottom, each (label, images): the originals, then each
    variant's reconstructions, a denoising variant's noisy inputs just above them."""
    if originals.ndim not in (3, 4) or len(originals) == 0:
        raise FigureError(f"originals of shape {originals.shape}; expected (n, height, width) "
                          "or (n, channels, height, width) with n >= 1")
    labels = [label for label, _ in rows]
    if len(set(labels)) != len(labels):
        raise FigureError(f"variant labels {labels} repeat one; each row needs its own")
    noisy_of = dict(noisy or [])
    unknown = sorted(set(noisy_of) - set(labels))
    if unknown:
        raise FigureError(f"noisy inputs of {unknown}, which are not among the variants "
                          f"{labels}; name each by its variant's label")
    originals = _with_channels(originals)
    rows = [(label, _with_channels(images)) for label, images in rows]
    noisy_of = {label: _with_channels(images) for label, images in noisy_of.items()}
    out = [(word("autoencoder_figures.original"), originals)]
    for label, images in rows:
        if label in noisy_of:
            out.append((word("autoencoder_figures.noisy"), noisy_of[label]))
        out.append((f"{word('autoencoder_figures.reconstruction')}\n{label}", images))
    for label, images in out:
        if images.shape != originals.shape:
            raise FigureError(f"row '{label}': images of shape {images.shape}, but the "
                              f"originals' is {originals.shape}; every row shows the same "
                              "images")
    return out


def reconstructions(originals: np.ndarray, rows: list[tuple[str, np.ndarray]],
                    path: str | Path, noisy: list[tuple[str, np.ndarray]] | None = None) -> None:
    """Draw the original images (n, [C,] H, W; floats in [0, 1]) in the top row, then each variant's
    reconstructions of the same images, one row per (label, images) of `rows`, named on the left.

    `noisy` holds (variant label, noisy inputs) of the denoising variants: those inputs are
    drawn just above that variant's reconstructions. Page-wide, the images as large as the
    labels leave room for.
    """
    table = _image_rows(originals, rows, noisy)
    n, k = len(originals), len(table)
    with plt.rc_context({**STYLE, "axes.grid": False, "savefig.dpi": 300}):
        fig = plt.figure(figsize=(PAGE_WIDTH, 1.0))
        left = _text_width(fig, [label for label, _ in table], LABEL_POINTS) + 0.08
        side = (PAGE_WIDTH - left - MARGIN) / (n + (n - 1) * GAP)  # inches per image
        height = k * side + (k - 1) * GAP * side + 2 * MARGIN
        fig.set_size_inches(PAGE_WIDTH, height)
        axes = fig.subplots(k, n, squeeze=False, gridspec_kw={
            "left": left / PAGE_WIDTH, "right": 1 - MARGIN / PAGE_WIDTH, "wspace": GAP,
            "bottom": MARGIN / height, "top": 1 - MARGIN / height, "hspace": GAP})
        for row, (label, images) in zip(axes, table, strict=True):
            for ax, image in zip(row, images, strict=True):
                draw_image(ax, image, top=1.0)
                ax.axis("off")
            row[0].text(-0.08, 0.5, label, transform=row[0].transAxes, ha="right",
                        va="center", fontsize=LABEL_POINTS, linespacing=1.3)
        _save(fig, path)


def _class_colors(k: int) -> list:
    """A distinct colour per class: tab10 up to 10 classes, tab20 up to 20, else a rainbow."""
    if k <= 10:
        return [f"C{i}" for i in range(k)]
    cmap = plt.get_cmap("tab20" if k <= 20 else "turbo")
    return [cmap(i if k <= 20 else i / (k - 1)) for i in range(k)]


def _share(fraction: float) -> str:
    """A share of the variance in percent: `42`, or `4.5` below 10 %."""
    percent = 100 * float(fraction)
    return f"{percent:.0f}" if percent >= 10 else f"{percent:.1f}"


def latent_space(projected: np.ndarray, labels: np.ndarray, class_names: list[str],
                 explained: np.ndarray, path: str | Path) -> None:
    """Draw the codes' projection on their first two principal components (N, 2), one colour
    per class (`labels` (N,) index `class_names`), each axis labelled with the share of the
    variance it explains (`explained` (2,)); the classes' legend below. One column wide."""
    if projected.ndim != 2 or projected.shape[1] != 2 or len(projected) != len(labels):
        raise FigureError(f"projected of shape {projected.shape} and labels of shape "
                          f"{labels.shape}; expected (N, 2) and (N,)")
    if np.shape(explained) != (2,):
        raise FigureError(f"explained of shape {np.shape(explained)}; expected (2,), the share "
                          "of the variance of each component")
    k = len(class_names)
    if len(labels) and not 0 <= labels.min() <= labels.max() < k:
        raise FigureError(f"labels range over [{labels.min()}, {labels.max()}], but there are "
                          f"{k} class names")
    colors = _class_colors(k)
    with plt.rc_context({**STYLE, "savefig.dpi": 300}):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 3.3 + 0.14 * -(-k // 3)),
                               layout="constrained")
        for c in range(k):
            points = projected[labels == c]
            ax.scatter(points[:, 0], points[:, 1], s=2, color=colors[c], alpha=0.6, lw=0,
                       rasterized=True)  # thousands of points: a raster, the text stays text
        ax.set_xlabel(word("axes.principal_component", k=1, share=_share(explained[0])))
        ax.set_ylabel(word("axes.principal_component", k=2, share=_share(explained[1])))
        handles = [Line2D([], [], ls="", marker="o", ms=4, color=colors[c], label=name)
                   for c, name in enumerate(class_names)]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False,
                   handletextpad=0.2, columnspacing=1.0)
        _save(fig, path)


def reconstructions_from_files(data_path: str | Path, model_paths: list[str],
                               labels: list[str], n_images: int, seed: int,
                               path: str | Path) -> None:
    """Draw `reconstructions` of `n_images` validation images (chosen by `seed`) by the
    autoencoder of each model.pt, labelled by `labels` in the same order; a denoising one
    (sigma > 0) reconstructs the images with its own noise added (drawn with `seed`)."""
    if len(model_paths) != len(labels):
        raise FigureError(f"{len(model_paths)} model files but {len(labels)} labels "
                          f"({labels}); give one label per model, in the same order")
    data = Dataset.load(data_path)
    images = data.images[rec.fixed_images(data, n_images, seed)]  # (n, C, H, W) uint8
    rows, noisy_rows = [], []
    for label, model_path in zip(labels, model_paths, strict=True):
        model, norm = rec.read_autoencoder(model_path)
        seen: np.ndarray = images
        if model.sigma > 0:
            seen = rec.noisy(images, model.sigma, seed)
            noisy_rows.append((label, seen))
        rows.append((label, rec.reconstruct(model, rec.inputs(seen, norm))))
    reconstructions(images / np.float32(255.0), rows, path, noisy_rows or None)


def latent_space_from_files(data_path: str | Path, model_path: str | Path, path: str | Path,
                            max_points: int = 5000, seed: int = 0) -> None:
    """Draw `latent_space` of the autoencoder of a model.pt: the codes of every validation
    image, or of `max_points` of them drawn by `seed`."""
    data = Dataset.load(data_path)
    idx = rec.validation_sample(data, max_points, seed)
    model, norm = rec.read_autoencoder(model_path)
    projected, explained = rec.pca_2d(rec.codes(model, rec.inputs(data.images[idx], norm)))
    latent_space(projected, data.labels[idx], class_names(data.classes), explained, path)
