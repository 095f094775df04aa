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


def test_the_forest_plots_tick_labels_never_run_together(tmp_path, monkeypatch):
    """The default study's effects (in points and nats; SGD, p = 0 and lr 1e-2 far out) drew
    "0.0000.025" under the loss panel: two tick labels on top of each other."""
    import matplotlib.pyplot as plt

    from nnreport.evaluation.comparisons import WELCH, Comparison
    from nnreport.reporting import figures

    found = {}
    save = figures._save
    monkeypatch.setattr(figures, "_save", lambda fig, path: (
        found.setdefault("overlaps", figures.overlapping_tick_labels(fig)), save(fig, path)))
    accuracy = [(-0.0084, 0.0065), (0.0015, 0.0085), (-0.0028, 0.0045), (0.0010, 0.0050),
                (-0.0048, 0.0090), (-0.0125, 0.0049), (-0.1260, 0.0164), (-0.0026, 0.0041),
                (-0.0023, 0.0086), (-0.0288, 0.0124), (-0.0124, 0.0057)]
    loss = [(0.011, 0.019), (0.008, 0.022), (0.002, 0.014), (0.001, 0.011), (0.088, 0.055),
            (0.019, 0.019), (0.343, 0.073), (0.006, 0.006), (0.0, 0.005), (0.082, 0.074),
            (0.023, 0.007)]
    names = ["$n_1$ = 64", "$n_1$ = 256", "$n_2$ = 32", "$n_2$ = 128", "$p$ = 0.0",
             "$p$ = 0.5", "optimizador = SGD", "mini-batch = 128", "mini-batch = 512",
             "tasa de aprendizaje = $10^{-2}$", "tasa de aprendizaje = $10^{-4}$"]
    acc = {n: Comparison(n, "base", d, d - h, d + h, WELCH, abs(d) > h)
           for n, (d, h) in zip(names, accuracy, strict=True)}
    nats = {n: Comparison(n, "base", d, d - h, d + h, WELCH, abs(d) > h)
            for n, (d, h) in zip(names, loss, strict=True)}
    figures.effects(acc, nats, {n: n for n in names}, tmp_path / "f.pdf")
    assert found["overlaps"] == []
    # the check itself sees labels that run together
    fig, ax = plt.subplots(figsize=(0.6, 1))
    ax.set_xticks([0, 0.025], ["0.000", "0.025"])
    assert figures.overlapping_tick_labels(fig) == [": '0.000' and '0.025'"]
    plt.close(fig)
