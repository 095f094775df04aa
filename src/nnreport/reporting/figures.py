"""Figures of the report: one function per figure, each writing one PDF."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from nnreport.base.errors import ExpectedError
from nnreport.base.io import atomic_path  # noqa: E402
from nnreport.base.texescape import figure_text  # noqa: E402
from nnreport.evaluation.statistics import over_seeds  # noqa: E402
from nnreport.reporting.labels import class_names  # noqa: E402
from nnreport.reporting.words import word  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

COLUMN_WIDTH = 3.4  # inches: one column of revtex's two-column layout
STYLE: dict[RcKeyType, Any] = {
    "font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "pdf.fonttype": 42,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.5,
}
SPLIT_STYLE = {"train": "--", "val": "-"}


class FigureError(ExpectedError, ValueError):
    """A figure breaks a rule of the report (an axis without a label)."""


def unlabelled_axes(fig: plt.Figure) -> list[str]:
    """Return a description of every plotted axis without a label.

    An axis shared with a labelled one (stacked panels, panels side by side) counts as
    labelled.
    """
    missing = []
    plotted = [ax for ax in fig.axes
               if ax.axison and ax.has_data() and ax.get_label() != "<colorbar>"]
    for i, ax in enumerate(plotted, start=1):
        if not any(other.get_ylabel() for other in ax.get_shared_y_axes().get_siblings(ax)):
            missing.append(f"panel {i}: y axis")
        shared = ax.get_shared_x_axes().get_siblings(ax)
        if not any(other.get_xlabel() for other in shared):
            missing.append(f"panel {i}: x axis")
    return missing


def overlapping_tick_labels(fig: plt.Figure, only: Any = None) -> list[str]:
    """The tick labels of `fig` (of its axes `only`) that touch a neighbour on the same axis,
    closer than half a label's height ("0.000" and "0.025" run together), as `axis title: 'a'
    and 'b'`; rotated labels are not compared (their boxes overlap where their letters do
    not)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    found = []
    for ax in [only] if only is not None else fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            along = 0 if axis is ax.xaxis else 1  # neighbours left to right, or bottom up
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * (high - low)
            labels = [t for t in axis.get_majorticklabels()  # those drawn: inside the view
                      if low - slack <= t.get_position()[along] <= high + slack
                      and t.get_visible() and t.get_text() and t.get_rotation() == 0]
            boxes = sorted(((t.get_window_extent(renderer), t.get_text()) for t in labels),
                           key=lambda b: b[0].get_points()[0][along])
            for (box_a, a), (box_b, b) in zip(boxes, boxes[1:], strict=False):
                room = 0.5 * min(box_a.height, box_b.height)
                if box_a.padded(room / 2).overlaps(box_b.padded(room / 2)):
                    found.append(f"{ax.get_title() or ax.get_xlabel()}: '{a}' and '{b}'")
    return found


def _save(fig: plt.Figure, path: str | Path) -> None:
    missing = unlabelled_axes(fig)
    if missing:
        plt.close(fig)
        raise FigureError(f"{path}: axes without a label ({', '.join(missing)}); every plotted "
                          "axis needs its quantity and unit")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(fig)


def _mean_std(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, mean, std) of `column` over seeds, epoch by epoch."""
    stats = over_seeds(df, "epoch", [column]).sort_index()
    return (stats.index.to_numpy(), stats[f"{column}_mean"].to_numpy(),
            stats[f"{column}_std"].to_numpy())


def _panels(curves: list[tuple[str, pd.DataFrame]]) -> list[tuple[str, float, str]]:
    """The (column, scale, axis label) of each panel: the loss, and the accuracy when every run
    has one; runs without one (autoencoders) minimise the MSE of their reconstructions."""
    if not all("accuracy" in df.columns and df["accuracy"].notna().any() for _, df in curves):
        return [("loss", 1.0, word("axes.loss_mse"))]
    return [("loss", 1.0, word("axes.loss_cross_entropy")),
            ("accuracy", 100.0, word("axes.accuracy_percent"))]


def _draw_curves(axes, panels: list[tuple[str, float, str]],
                 curves: list[tuple[str, pd.DataFrame]]) -> list[Line2D]:
    """Draw every run's training (dashed) and validation (solid) curves, mean over seeds with a
    ±1 std band, one panel per metric; return the runs' legend handles (the base in black)."""
    colors = ["black"] + [f"C{i}" for i in range(len(curves))]
    for (_, df), color in zip(curves, colors, strict=False):
        for split, ls in SPLIT_STYLE.items():
            part = df[df["split"] == split]
            for ax, (col, scale, _) in zip(axes, panels, strict=True):
                ep, mean, std = _mean_std(part, col)
                ax.plot(ep, mean * scale, ls=ls, color=color, lw=1.1)
                if std.any():
                    ax.fill_between(ep, (mean - std) * scale, (mean + std) * scale,
                                    color=color, alpha=0.15, lw=0)
    for ax, (_, _, label) in zip(axes, panels, strict=True):
        ax.set_ylabel(label)
    return [Line2D([], [], color=c, lw=1.5, label=figure_text(lab))
            for (lab, _), c in zip(curves, colors, strict=False)]


def _epoch_axes(axes) -> None:
    """Label each panel's x axis with the epoch, in whole epochs."""
    for ax in axes:
        ax.set_xlabel(word("axes.epoch"))
        ax.xaxis.get_major_locator().set_params(integer=True)


def _split_handles(val_split: str) -> list[Line2D]:
    """Legend handles of the line styles: training dashed, validation (or dev) solid."""
    names = {"train": word("splits.train"), "val": word(f"splits.{val_split}")}
    return [Line2D([], [], color="gray", ls=ls, lw=1.1, label=names[s])
            for s, ls in SPLIT_STYLE.items()]


def learning_curves(curves: list[tuple[str, pd.DataFrame]], path: str | Path,
                    val_split: str = "val") -> None:
    """Draw loss and accuracy against epoch for several runs, side by side, the legend above.

    `curves` holds (label, metrics) pairs, the base first; metrics has one row per
    seed, epoch and split. Training is dashed, validation solid; seeds give a mean
    line and a ±1 std band. `val_split` names the validation split in the legend (`dev` when
    a test set is held out). Metrics without accuracy (a task that has none) get the loss
    panel only. Page-wide and short, so that a one-column report sets it at its text width
    without a page to itself.
    """
    panels = _panels(curves)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_WIDTH * len(panels), 2.4),
                                 squeeze=False, layout="constrained")
        axes = axes[0]
        handles = _draw_curves(axes, panels, curves) + _split_handles(val_split)
        _epoch_axes(axes)
        longest = max(len(lab) for lab, _ in curves)
        fig.legend(handles=handles, loc="outside upper center", frameon=False,
                   ncol=2 if longest > 40 else 3 if longest > 20 else 5, handlelength=2.2,
                   columnspacing=1.5)
        _save(fig, path)


PAGE_WIDTH = 7.0  # inches: the text width of revtex's two-column page (a figure* float)


AXES_PER_ROW = 4  # a row of the page-wide figure: two experiments of loss and accuracy


def _rows(experiments: list[tuple[str, list[tuple[str, pd.DataFrame]]]]) -> list[list[int]]:
    """The experiments of each row of the grid, in order: as many as fit AXES_PER_ROW axes
    (two experiments with loss and accuracy; four with the loss alone, an autoencoder's)."""
    rows: list[list[int]] = []
    used = AXES_PER_ROW
    for i, (_, curves) in enumerate(experiments):
        n = len(_panels(curves))
        if used + n > AXES_PER_ROW:
            rows.append([])
            used = 0
        rows[-1].append(i)
        used += n
    return rows


def learning_curves_grid(experiments: list[tuple[str, list[tuple[str, pd.DataFrame]]]],
                         path: str | Path, val_split: str = "val") -> None:
    """Draw every experiment's learning curves in one page-wide figure of panels, as many
    experiments per row as fit four axes: for each, its legend titled `title` (`(a) $n_1$`)
    with the runs' short labels (the values: `128 (base)`), and its loss and accuracy side by
    side against epoch, drawn as `learning_curves` draws one experiment.

    `experiments` holds (title, curves) pairs in order; the line styles' legend is drawn once,
    at the top.
    """
    rows = _rows(experiments)
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(PAGE_WIDTH, 2.15 * len(rows) + 0.3), layout="constrained")
        row_figs = fig.subfigures(len(rows), 1, squeeze=False, hspace=0.02)[:, 0]
        for row_fig, row in zip(row_figs, rows, strict=True):
            widths = [len(_panels(experiments[i][1])) for i in row]
            free = AXES_PER_ROW - sum(widths)  # a last row that is not full keeps the widths
            cells = row_fig.subfigures(1, len(row) + (free > 0), squeeze=False, wspace=0.04,
                                       width_ratios=widths + ([free] if free else []))[0]
            for cell, i in zip(cells, row, strict=False):
                title, curves = experiments[i]
                panels = _panels(curves)
                axes = cell.subplots(1, len(panels), squeeze=False)[0]
                handles = _draw_curves(axes, panels, curves)
                _epoch_axes(axes)
                # as many legend columns as the cell is wide (about 0.85 in an entry)
                width = PAGE_WIDTH * len(panels) / AXES_PER_ROW
                legend = cell.legend(handles=handles, loc="outside upper left",
                                     ncol=min(len(handles), max(1, int(width / 0.85))),
                                     frameon=False, handlelength=1.6, columnspacing=1.2,
                                     title=figure_text(title), alignment="left")
                legend.get_title().set_fontweight("bold")
        fig.legend(handles=_split_handles(val_split), loc="outside upper right", ncol=2,
                   frameon=False, handlelength=2.2)
        _save(fig, path)


def confusion_matrix(norm: np.ndarray, classes: list[str], path: str | Path) -> None:
    """Draw a confusion matrix given in % of each true class (rows sum to 100).

    Up to 15 classes, every cell of at least 0.5 % prints its value, in type as large as the
    axes' (the values make a colour bar redundant, and the matrix fills the column); with more
    (EMNIST's 47), no values, smaller ticks and a colour bar.
    """
    k = len(classes)
    many = k > 15
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, ax = plt.subplots(figsize=(2 * COLUMN_WIDTH, 6.0) if many else (COLUMN_WIDTH, 3.5))
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=100)
        if many:
            ax.tick_params(labelsize=5)
        for i in range(0 if many else k):
            for j in range(k):
                if norm[i, j] >= 0.5:
                    ax.text(j, i, f"{norm[i, j]:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 55 else "black")
        ax.set_xticks(range(k), classes, rotation=0 if many else 45, ha="center" if many else
                      "right", rotation_mode="anchor")
        ax.set_yticks(range(k), classes)
        ax.set_xlabel(word("axes.predicted_class"))
        ax.set_ylabel(word("axes.true_class"))
        if many:
            cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
            cbar.set_label(word("axes.true_class_fraction"))
        fig.tight_layout()
        _save(fig, path)


def draw_image(ax, image: np.ndarray, top: float = 255) -> None:
    """Draw one image (C, H, W) with values in [0, top]: a grey one dark on white (as ink on
    paper), a colour one in its own colours."""
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=top, interpolation="nearest")
    else:
        rgb = np.clip(np.moveaxis(image, 0, -1) / top, 0.0, 1.0)  # (H, W, 3) in [0, 1]
        ax.imshow(rgb, interpolation="nearest")


def sample_images(images: np.ndarray, labels: np.ndarray, classes: list[str], path: str | Path,
                  per_class: int = 8, seed: int = 0) -> None:
    """Draw a grid of example images (N, C, H, W) uint8: one row per class, named on the
    left."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(k, per_class, figsize=(COLUMN_WIDTH, 0.42 * k + 0.1),
                                 gridspec_kw={"wspace": 0.05, "hspace": 0.08})
        for c in range(k):
            idx = np.flatnonzero(labels == c)
            chosen = rng.choice(idx, size=min(per_class, len(idx)), replace=False)
            for j, ax in enumerate(axes[c]):
                if j < len(chosen):
                    draw_image(ax, images[chosen[j]])
                ax.axis("off")
            axes[c, 0].text(-0.15, 0.5, classes[c], transform=axes[c, 0].transAxes,
                            ha="right", va="center", fontsize=7)
        _save(fig, path)


def noise_robustness(noise: pd.DataFrame, labels: dict[str, str], path: str | Path) -> None:
    """Draw test accuracy against the noise's standard deviation, one curve per model."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.6))
        for i, (model, label) in enumerate(labels.items()):
            stats = over_seeds(noise[noise["model"] == model], "sigma", ["accuracy"]).sort_index()
            mean, std = stats["accuracy_mean"], stats["accuracy_std"]
            ax.errorbar(mean.index, 100 * mean, yerr=100 * std, marker="o", ms=3, lw=1.1,
                        capsize=2, color=f"C{i}", label=figure_text(label))
        ax.set_xlabel(word("axes.noise_sigma"))
        ax.set_ylabel(word("axes.test_accuracy_percent"))
        ax.legend(frameon=False)
        fig.tight_layout()
        _save(fig, path)


def _effect_limits(intervals: list[tuple[float, float]]) -> tuple[tuple[float, float], set[int]]:
    """The x limits of a forest plot's panel and the effects drawn at its edge: an effect
    reaching more than four times as far from zero as the typical one (SGD at Adam's learning
    rate, say) would squeeze every other interval into a line, so the limits cover the others
    and it is drawn as an arrow at the edge, with its value."""
    reach = [max(abs(lo), abs(hi)) for lo, hi in intervals]
    typical = float(np.median(reach)) if reach else 0.0
    far = {i for i, r in enumerate(reach) if len(reach) >= 3 and typical > 0 and r > 4 * typical}
    kept = [iv for i, iv in enumerate(intervals) if i not in far] or intervals
    low, high = min(0.0, *(lo for lo, _ in kept)), max(0.0, *(hi for _, hi in kept))
    pad = 0.08 * (high - low or 1.0)
    return (low - pad, high + pad), far


def effects(accuracy: dict, loss: dict, labels: dict[str, str], path: str | Path) -> None:
    """Draw a forest plot: each variant's difference from the base in final validation accuracy
    (points) and loss, with its corrected interval (`accuracy`, `loss`: variant -> Comparison),
    a line at zero, the variants top to bottom in `labels`' order (Table I's); a filled marker
    for an effect the correction resolves, a hollow one otherwise; an effect far beyond the
    others is an arrow at the panel's edge with its value (see `_effect_limits`)."""
    names = [n for n in labels if n in accuracy]
    panels = [(accuracy, 100, "effects.accuracy", "effects.delta_accuracy")]
    if any(n in loss for n in names):  # one seed: the loss has no interval, no panel
        panels.append((loss, 1, "effects.loss", "effects.delta_loss"))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(panels), sharey=True, squeeze=False,
                                 figsize=(COLUMN_WIDTH, 0.9 + 0.2 * max(1, len(names))))
        axes = axes[0]
        y = np.arange(len(names))[::-1]
        if not names:  # every variation diverged, or none was run
            axes[0].text(0.5, 0.5, word("effects.none"), ha="center", va="center",
                         transform=axes[0].transAxes)
        for ax, (found, scale, title, label) in zip(axes, panels if names else [], strict=False):
            ax.axvline(0, color="0.5", lw=0.8)
            shown = [found[n] for n in names]
            (left, right), far = _effect_limits([(scale * c.low, scale * c.high) for c in shown])
            for i, (k, c) in enumerate(zip(y, shown, strict=True)):
                fill = "C0" if c.resolved else "white"
                if i in far:  # beyond the panel: an arrow at its edge, with the value
                    x, side = (left, "<") if c.difference < 0 else (right, ">")
                    ax.plot(x, k, marker=side, ms=5, color="C0", mfc=fill, clip_on=False)
                    ax.annotate(f"{scale * c.difference:+.{2 if scale == 100 else 3}f}",
                                (x, k), xytext=(7 if side == "<" else -7, 0),
                                textcoords="offset points", va="center", fontsize=6,
                                ha="left" if side == "<" else "right")
                    continue
                ax.errorbar(scale * c.difference, k, xerr=[[scale * (c.difference - c.low)],
                                                           [scale * (c.high - c.difference)]],
                            fmt="o", ms=3.5, capsize=2, lw=1, color="C0", mfc=fill)
            ax.set_xlim(left, right)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace("-", "−")))
            ax.set_title(word(title))
            ax.set_xlabel(word(label))
            ax.grid(axis="x", lw=0.3, alpha=0.5)
        axes[0].set_yticks(y, [figure_text(labels[n]) for n in names])
        axes[0].set_ylabel(word("effects.run"))
        axes[0].set_ylim(-0.6, len(names) - 0.4)
        fig.tight_layout()
        for ax in axes:  # a narrow panel: as many ticks as fit with room between their labels
            for bins in (4, 3, 2, 1):
                ax.xaxis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))
                if not overlapping_tick_labels(fig, ax):
                    break
        _save(fig, path)


def confusion_outputs(predictions: pd.DataFrame, data_path: str | Path, figure: str | Path,
                      summary: str | Path, info: dict) -> None:
    """Draw the confusion matrix of `predictions` (true, pred) and write its summary JSON.

    The class names come from the packed dataset; `info` names the run it belongs to.
    """
    from nnreport.base.io import write_json
    from nnreport.evaluation.confusion import confusion, confusion_summary

    with np.load(data_path) as z:
        classes = class_names([str(c) for c in z["classes"]])
    matrix = confusion(predictions["true"].to_numpy(), predictions["pred"].to_numpy(),
                       len(classes))
    confusion_matrix(matrix, classes, figure)
    write_json(summary, {**info, "classes": classes, "matrix": matrix.round(4).tolist(),
                         **confusion_summary(matrix, classes)})
