import pandas as pd
import pytest
import torch

from nnreport.evaluation.statistics import (
    over_seeds,
    summarise,
    summarise_curves,
    summarise_run,
)
from nnreport.models.mlp import MLP
from nnreport.models.registry import build_model, parameter_count
from nnreport.training.loop import Split, evaluate, make_optimizer, train
from nnreport.training.metrics import read_metrics, write_metrics

HP = {"model": "mlp", "n1": 16, "n2": 8, "p": 0.0, "optimizer": "adam", "batch_size": 32,
      "lr": 1e-2}


def _blobs(n=400, seed=0):
    centers = torch.randn(3, 784, generator=torch.Generator().manual_seed(99)) * 2
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return Split(centers[y] + torch.randn(n, 784, generator=g), y)


def test_mlp_shapes_and_parameter_count():
    model = build_model({"model": "mlp", "n1": 128, "n2": 64, "p": 0.2}, 784, 10)
    assert isinstance(model, MLP)
    assert model(torch.zeros(5, 28, 28)).shape == (5, 10)
    assert parameter_count(model) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


def test_training_learns_separable_blobs_and_records_every_epoch():
    torch.manual_seed(0)
    model = build_model(HP, 784, 3)
    hist = train(model, _blobs(), _blobs(seed=1), HP, epochs=3, seed=0)
    df = pd.DataFrame(hist.rows)
    assert len(df) == 9 and set(df["split"]) == {"fit", "train", "val"}
    val = df[df["split"] == "val"]
    assert val["accuracy"].iloc[-1] > 0.9
    assert val["loss"].iloc[-1] < val["loss"].iloc[0]
    assert hist.status == "completed" and (df["lr"] == 1e-2).all()


def test_training_metrics_are_measured_in_eval_mode_on_fixed_training_images(monkeypatch):
    # dropout 0.5: the running mean over the batches ("fit") sees half the units off; the
    # "train" rows are the model in eval mode on the first TRAIN_EVAL_IMAGES training images
    monkeypatch.setattr("nnreport.training.loop.TRAIN_EVAL_IMAGES", 100)
    data = _blobs()
    model = build_model({**HP, "p": 0.5}, 784, 3)
    hist = train(model, data, _blobs(seed=1), {**HP, "p": 0.5}, epochs=2, seed=0)
    last = pd.DataFrame(hist.rows).query("epoch == 2").set_index("split")
    loss, acc, _ = evaluate(model, Split(data.x[:100], data.y[:100]))
    assert (last.loc["train", "loss"], last.loc["train", "accuracy"]) == (loss, acc)
    assert last.loc["fit", "loss"] != loss and not model.training


def test_non_finite_loss_stops_the_run_as_diverged():
    data = _blobs()
    data.x[0, 0] = float("inf")
    model = build_model(HP, 784, 3)
    hist = train(model, data, _blobs(seed=1), HP, epochs=5, seed=0)
    assert hist.status == "diverged" and hist.diverged_epoch == 1
    assert len(hist.rows) == 3


def test_unknown_optimizer_lists_the_known_ones():
    with pytest.raises(ValueError, match="'lbfgs' is unknown; use adam, adamw, sgd or rmsprop"):
        make_optimizer({"optimizer": "lbfgs", "lr": 1e-3}, [torch.zeros(1, requires_grad=True)])


def test_metrics_parquet_carries_the_run_config(tmp_path):
    rows = [{"epoch": e, "split": s, "loss": 1.0 / e, "accuracy": 0.5 + e / 10, "lr": 1e-3,
             "seconds": 1.0} for e in (1, 2, 3) for s in ("train", "val")]
    run = {"variant": "n1~64", "seed": 2, "experiment": "n1", "hparams": {"n1": 64},
           "train_seconds": 3.0}
    write_metrics(tmp_path / "m.parquet", rows, run)
    df, back = read_metrics(tmp_path / "m.parquet")
    assert back == run
    assert list(df.columns) == ["variant", "seed", "epoch", "split", "loss", "accuracy", "lr",
                                "seconds"]
    s = summarise_run(df, back)
    assert s["best_epoch"] == 3 and s["final_val_accuracy"] == pytest.approx(0.8)
    assert s["min_val_loss_epoch"] == 3 and s["train_seconds"] == 3.0


def test_summary_averages_seeds_in_the_given_order():
    runs = pd.DataFrame([
        {"variant": v, "seed": k, "experiment": "e", "status": "completed",
         "diverged_epoch": None, "final_val_accuracy": acc, "final_val_loss": 0.3,
         "best_val_accuracy": acc, "best_epoch": 5, "min_val_loss": 0.3, "min_val_loss_epoch": 4,
         "epochs_run": 10, "train_seconds": 2.0}
        for v, k, acc in (("a", 0, 0.8), ("a", 1, 0.9), ("b", 0, 0.7))])
    out = summarise(runs, ["b", "a"])
    assert out["variant"].tolist() == ["b", "a"]
    a = out.set_index("variant").loc["a"]
    assert a["final_val_accuracy_mean"] == pytest.approx(0.85)
    assert a["final_val_accuracy_std"] == pytest.approx(0.0707107, rel=1e-5)
    assert a["n_seeds"] == 2 and not a["diverged"]


def test_lr_schedule_is_applied_per_epoch():
    hp = {**HP, "lr_schedule": "exponential", "lr_gamma": 0.5}
    hist = train(build_model(hp, 784, 3), _blobs(), _blobs(seed=1), hp, epochs=3, seed=0)
    lrs = pd.DataFrame(hist.rows).query("split == 'val'")["lr"].tolist()
    assert lrs == pytest.approx([1e-2, 5e-3, 2.5e-3])


def test_early_stopping_restores_the_best_weights():
    torch.manual_seed(0)
    val = _blobs(seed=1)
    val.y = val.y[torch.randperm(len(val.y), generator=torch.Generator().manual_seed(0))]
    hp = {**HP, "lr": 3e-2, "early_stopping_patience": 2}
    model = build_model(hp, 784, 3)
    hist = train(model, _blobs(), val, hp, epochs=30, seed=0)
    val_rows = pd.DataFrame(hist.rows).query("split == 'val'")
    assert len(val_rows) == model.best_epoch + 2 < 30
    from nnreport.training.loop import evaluate

    loss, _, _ = evaluate(model, val)
    assert loss == pytest.approx(val_rows["loss"].min(), rel=1e-5)


def test_mlp_accepts_hidden_sizes_activation_and_batchnorm():
    model = build_model({"hidden": [32, 16, 8], "activation": "gelu", "batchnorm": True,
                         "p": 0.1}, 784, 47)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "GELU", "Dropout", "Linear",
                     "BatchNorm1d", "GELU", "Dropout", "Linear", "BatchNorm1d", "GELU",
                     "Dropout", "Linear"]
    assert model(torch.zeros(4, 28, 28)).shape == (4, 47)
    with pytest.raises(ValueError, match="activation: 'swish' is unknown; use one of relu"):
        build_model({"activation": "swish"}, 784, 10)


def test_the_cheap_dropout_drops_p_of_the_units_and_rescales_the_rest():
    from nnreport.models.mlp import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.2)
    x = torch.ones(256, 512, requires_grad=True)
    y = drop(x)
    kept = (y > 0).float().mean().item()
    assert abs(kept - 0.8) < 0.005  # 131,072 draws: the std of the fraction is about 0.0011
    assert set(y.unique().tolist()) == {0.0, 1.25}
    y.sum().backward()
    assert set(x.grad.unique().tolist()) == {0.0, 1.25}
    assert torch.equal(drop.eval()(x), x)  # identity in evaluation
    per_column = (drop.train()(torch.ones(20000, 8)) > 0).float().mean(0)
    assert torch.all((per_column - 0.8).abs() < 0.02)  # every position is dropped alike


def test_normalisation_from_the_histogram_is_exact():
    import numpy as np

    from nnreport.data.dataset import Dataset
    from nnreport.data.preprocess import normalisation

    images = np.random.default_rng(0).integers(0, 256, (300, 28, 28)).astype(np.uint8)
    data = Dataset(images, np.zeros(300, np.int64), np.arange(0, 300, 3), np.arange(1, 300, 3),
                   ["a"], "test")
    px = images[data.train_idx].astype(np.float64) / 255
    norm = normalisation(data, data.train_idx)
    assert norm["mean"] == pytest.approx([px.mean()], rel=1e-12)
    assert norm["std"] == pytest.approx([px.std()], rel=1e-12)
    rgb = np.random.default_rng(1).integers(0, 256, (30, 3, 4, 5)).astype(np.uint8)
    rgb[:, 2] //= 4  # the third channel darker: its own mean
    data = Dataset(rgb, np.zeros(30, np.int64), np.arange(20), np.arange(20, 30), ["a"], "test")
    norm = normalisation(data, data.train_idx)
    px = rgb[:20].astype(np.float64) / 255
    assert norm["mean"] == pytest.approx(list(px.mean(axis=(0, 2, 3))), rel=1e-12)
    assert norm["std"] == pytest.approx(list(px.std(axis=(0, 2, 3))), rel=1e-12)


def test_over_seeds_gives_mean_sample_std_and_count_in_first_appearance_order():
    frame = pd.DataFrame({"variant": ["b", "a", "b", "a", "c"], "seed": [0, 0, 1, 1, 0],
                          "x": [1.0, 10.0, 3.0, 14.0, 5.0]})
    stats = over_seeds(frame, "variant", ["x"])
    assert list(stats.index) == ["b", "a", "c"]
    assert stats.loc["a", "x_mean"] == 12.0 and stats.loc["a", "x_std"] == pytest.approx(8 ** 0.5)
    assert stats.loc["c", "x_std"] == 0.0 and list(stats["n_seeds"]) == [2, 2, 1]


def test_curves_summarise_each_variant_split_and_epoch_over_seeds():
    rows = [{"variant": v, "seed": s, "epoch": e, "split": sp, "loss": loss,
             "accuracy": 0.5, "lr": 1e-3, "seconds": 1.0}
            for v, s, loss in (("n1~64", 0, 1.0), ("base", 0, 2.0), ("base", 1, 4.0))
            for e in (1, 2) for sp in ("train", "val")]
    curves = summarise_curves(pd.DataFrame(rows), ["base", "n1~64"])
    assert list(curves["variant"].unique()) == ["base", "n1~64"]
    first = curves.iloc[0]
    assert (first["variant"], first["split"], first["epoch"]) == ("base", "train", 1)
    assert first["loss_mean"] == 3.0 and first["loss_std"] == pytest.approx(2 ** 0.5)
    assert first["n_seeds"] == 2 and curves.iloc[-1]["n_seeds"] == 1
    assert len(curves) == 2 * 2 * 2
