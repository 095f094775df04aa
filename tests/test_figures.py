import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nnreport.reporting.figures import (  # noqa: E402
    FigureError,
    _save,
    confusion_matrix,
    learning_curves,
    learning_curves_grid,
    sample_images,
    unlabelled_axes,
)


def _metrics(seed, scale=1.0):
    return pd.DataFrame([{"seed": seed, "epoch": e, "split": s, "loss": scale / e,
                          "accuracy": 1 - scale / (e + 1)}
                         for e in range(1, 6) for s in ("train", "val")])


def test_learning_curves_write_a_pdf(tmp_path):
    curves = [("base", pd.concat([_metrics(0), _metrics(1, 1.1)])), ("$n_1$ = 64", _metrics(0))]
    learning_curves(curves, tmp_path / "lc.pdf")
    assert (tmp_path / "lc.pdf").read_bytes().startswith(b"%PDF")


def test_every_experiments_learning_curves_fit_one_page_wide_figure(tmp_path, monkeypatch):
    import matplotlib.figure

    saved = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda fig, *a, **k: saved.append(fig) or open(a[0], "wb").close())
    experiments = [(f"({letter}) exp", [("1 (base)", _metrics(0)), ("2", _metrics(0, 1.2))])
                   for letter in "abc"]
    learning_curves_grid(experiments, tmp_path / "lc.pdf")
    [fig] = saved
    # two experiments a row, each a loss and an accuracy panel; the last row's second cell empty
    assert fig.get_size_inches()[0] == pytest.approx(7.0)
    plotted = [ax for ax in fig.get_axes() if ax.has_data()]
    assert len(plotted) == 6 and all(ax.get_xlabel() and ax.get_ylabel() for ax in plotted)
    cells = [cell for row in fig.subfigs for cell in row.subfigs]
    titles = [cell.legends[0].get_title().get_text() for cell in cells if cell.legends]
    assert titles == ["(a) exp", "(b) exp", "(c) exp"]
    assert [len(row.subfigs) for row in fig.subfigs] == [2, 2]  # the second row's right: empty


def test_experiments_with_the_loss_alone_share_a_row_of_the_grid(tmp_path, monkeypatch):
    import matplotlib.figure

    saved = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda fig, *a, **k: saved.append(fig) or open(a[0], "wb").close())
    mse = _metrics(0).drop(columns="accuracy")  # an autoencoder's: no accuracy
    experiments = [("(a) ae", [("16 (base)", mse), ("4", mse)]),
                   ("(b) ae", [("0 (base)", mse), ("0.3", mse)]),
                   ("(c) clf", [("sí (base)", _metrics(0)), ("no", _metrics(0))])]
    learning_curves_grid(experiments, tmp_path / "lc.pdf")
    [fig] = saved
    assert [len(row.subfigs) for row in fig.subfigs] == [3]  # 1 + 1 + 2 axes: one row
    labels = [ax.get_ylabel() for ax in fig.get_axes() if ax.has_data()]
    assert labels == ["ECM de reconstrucción"] * 2 + ["pérdida (entropía cruzada)",
                                                      "exactitud (%)"]


def test_confusion_matrix_and_samples_write_pdfs(tmp_path):
    confusion_matrix(np.eye(3) * 100, ["a", "b", "c"], tmp_path / "cm.pdf")
    images = np.random.default_rng(0).integers(0, 255, (30, 28, 28)).astype(np.uint8)
    sample_images(images, np.arange(30) % 3, ["a", "b", "c"], tmp_path / "s.pdf", per_class=4)
    assert (tmp_path / "cm.pdf").stat().st_size > 0 and (tmp_path / "s.pdf").stat().st_size > 0


def test_stacked_panels_share_the_bottom_x_label():
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True)
    top.plot([1, 2])
    bottom.plot([1, 2])
    top.set_ylabel("pérdida")
    bottom.set_ylabel("exactitud (%)")
    bottom.set_xlabel("época")
    assert unlabelled_axes(fig) == []
    plt.close(fig)


def test_a_plotted_axis_without_label_fails_with_the_file_name(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    ax.set_xlabel("época")
    with pytest.raises(FigureError, match=r"bad.pdf: axes without a label \(panel 1: y axis\)"):
        _save(fig, tmp_path / "bad.pdf")
    assert not (tmp_path / "bad.pdf").exists()


def test_an_effect_far_beyond_the_others_is_drawn_at_the_edge_not_squeezing_them():
    from nnreport.reporting.figures import _effect_limits

    intervals = [(-4.1, -0.1), (0.3, 3.6), (-3.9, 3.2), (-76.1, -50.1), (-24.6, -18.9)]
    (left, right), far = _effect_limits(intervals)
    # four times the typical reach (4.1): SGD's -63 and the -21 at the edge, the rest shown
    assert far == {3, 4} and -4.1 > left > -5 and 3.6 < right < 5
    (left, right), far = _effect_limits([(-1.0, 1.0), (0.5, 2.0)])
    assert far == set() and left < -1.0 < 2.0 < right  # too few to tell an outlier: all shown


def test_the_forest_plot_is_drawn_with_every_axis_labelled(tmp_path):
    from nnreport.evaluation.comparisons import WELCH, Comparison
    from nnreport.reporting.figures import effects

    acc = {v: Comparison(v, "base", d, d - 0.01, d + 0.01, WELCH, abs(d) > 0.01)
           for v, d in (("a", 0.02), ("b", -0.005), ("c", -0.6))}
    loss = {v: Comparison(v, "base", -c.difference, -c.high, -c.low, WELCH, c.resolved)
            for v, c in acc.items()}
    effects(acc, loss, {"base": "base", "a": "a", "b": "b", "c": "c"}, tmp_path / "f.pdf")
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")
