"""A task without accuracy (an autoencoder's): the accuracy is absent downstream, not zero."""

import math

import matplotlib

matplotlib.use("Agg")

from nnreport.evaluation.statistics import summarise_run  # noqa: E402
from nnreport.reporting.figures import learning_curves  # noqa: E402
from nnreport.training.history import History  # noqa: E402
from nnreport.training.metrics import read_metrics, write_metrics  # noqa: E402

RUN = {"variant": "base", "seed": 0, "experiment": "base", "train_seconds": 1.0}


def _history(accuracy: bool) -> History:
    hist = History()
    for epoch, (train_loss, val_loss) in enumerate([(0.9, 0.8), (0.5, 0.4), (0.3, 0.6)], 1):
        acc = (0.5 + epoch / 10) if accuracy else None
        hist.end_epoch(epoch, 3, (train_loss + 0.05, acc), (train_loss, acc), (val_loss, acc), 1e-3,
                       0.1)
    return hist


def test_metrics_of_a_task_without_accuracy_have_no_accuracy_column(tmp_path):
    write_metrics(tmp_path / "m.parquet", _history(accuracy=False).rows, RUN)
    frame, run = read_metrics(tmp_path / "m.parquet")
    assert list(frame.columns) == ["variant", "seed", "epoch", "split", "loss", "lr", "seconds"]
    assert run == RUN
    write_metrics(tmp_path / "c.parquet", _history(accuracy=True).rows, RUN)
    assert "accuracy" in read_metrics(tmp_path / "c.parquet")[0].columns


def test_a_summary_without_accuracy_takes_the_best_epoch_from_the_loss(tmp_path):
    write_metrics(tmp_path / "m.parquet", _history(accuracy=False).rows, RUN)
    s = summarise_run(read_metrics(tmp_path / "m.parquet")[0], RUN)
    assert math.isnan(s["final_val_accuracy"]) and math.isnan(s["best_val_accuracy"])
    assert s["best_epoch"] == 2 and s["min_val_loss"] == 0.4 and s["final_val_loss"] == 0.6


def test_learning_curves_without_accuracy_draw_the_loss_panel_only(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    drawn = []
    monkeypatch.setattr("nnreport.reporting.figures._save",
                        lambda fig, path: drawn.append([a.get_ylabel() for a in fig.axes]))
    write_metrics(tmp_path / "m.parquet", _history(accuracy=False).rows, RUN)
    write_metrics(tmp_path / "c.parquet", _history(accuracy=True).rows, RUN)
    learning_curves([("base", read_metrics(tmp_path / "m.parquet")[0])], tmp_path / "a.pdf")
    learning_curves([("base", read_metrics(tmp_path / "c.parquet")[0])], tmp_path / "b.pdf")
    plt.close("all")
    assert drawn[0] == ["ECM de reconstrucción"]  # an autoencoder's loss is the MSE
    assert len(drawn[1]) == 2 and "exactitud" in drawn[1][1]
