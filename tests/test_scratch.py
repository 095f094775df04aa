"""The from-scratch back-end: values and gradients against torch.autograd, optimisers against
torch.optim, schedules, and the training loop on separable blobs."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnreport.models.scratch import MLP, Linear, Parameter, ReLU, SoftmaxCrossEntropy
from nnreport.training.scratch.backend import get_xp, to_numpy
from nnreport.training.scratch.optim import SGD, Adam, lr_at
from nnreport.training.scratch.train import build_mlp, evaluate, make_optimizer, predict, train

F64 = np.float64


def rel_err(a, b) -> float:
    """Largest absolute difference relative to the largest magnitude of the reference."""
    a, b = np.asarray(a, dtype=F64), np.asarray(b, dtype=F64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def t64(a, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


# ---- layers and loss against torch.autograd (float64) ----------------------------------------

def test_linear_values_and_gradients_match_torch():
    rng = np.random.default_rng(1)
    layer = Linear(7, 5, rng=rng, dtype=F64)
    layer.bias.data[:] = rng.normal(size=5)  # a non-zero bias, so its role is checked too
    x, g = rng.normal(size=(4, 7)), rng.normal(size=(4, 5))
    out = layer.forward(x)
    gx = layer.backward(g)
    tw, tb, tx = t64(layer.weight.data, True), t64(layer.bias.data, True), t64(x, True)
    tout = F.linear(tx, tw, tb)
    tout.backward(t64(g))
    assert out.shape == (4, 5) and gx.shape == (4, 7)
    assert rel_err(out, tout.detach()) < 1e-6
    assert rel_err(gx, tx.grad) < 1e-6
    assert rel_err(layer.weight.grad, tw.grad) < 1e-6
    assert rel_err(layer.bias.grad, tb.grad) < 1e-6


def test_linear_accumulates_gradients_until_zero_grad():
    layer = Linear(3, 2, dtype=F64)
    x, g = np.ones((2, 3)), np.ones((2, 2))
    layer.forward(x)
    layer.backward(g)
    layer.backward(g)
    np.testing.assert_array_equal(layer.weight.grad, np.full((2, 3), 4.0))
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_he_init_has_the_he_variance_and_depends_on_the_seed():
    w = Linear(784, 512, rng=np.random.default_rng(0)).weight.data
    w_normal = Linear(784, 512, rng=np.random.default_rng(0), init="kaiming_normal").weight.data
    assert w.dtype == np.float32 and w.shape == (512, 784)
    assert np.abs(w).max() <= np.sqrt(6 / 784)
    assert w.var() == pytest.approx(2 / 784, rel=0.02)
    assert w_normal.var() == pytest.approx(2 / 784, rel=0.02)
    assert not np.array_equal(w, Linear(784, 512, rng=np.random.default_rng(1)).weight.data)
    with pytest.raises(ValueError, match="init: 'xavier' is unknown; use one of kaiming_uniform"):
        Linear(3, 2, init="xavier")


def test_relu_values_and_gradients_match_torch_including_zero():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 5))
    x[0, :2] = 0.0  # torch's ReLU has gradient 0 at 0
    g = rng.normal(size=(6, 5))
    relu = ReLU()
    out = relu.forward(x)
    gx = relu.backward(g)
    tx = t64(x, True)
    tout = torch.relu(tx)
    tout.backward(t64(g))
    assert rel_err(out, tout.detach()) < 1e-6
    assert rel_err(gx, tx.grad) < 1e-6
    assert gx[0, 0] == 0.0 and gx[0, 1] == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_value_and_gradient_match_torch(reduction):
    rng = np.random.default_rng(3)
    logits, y = rng.normal(size=(8, 5)) * 3, rng.integers(0, 5, size=8)
    loss_fn = SoftmaxCrossEntropy(np)
    loss = loss_fn.forward(logits, y, reduction=reduction)
    grad = loss_fn.backward()
    tl = t64(logits, True)
    tloss = F.cross_entropy(tl, torch.from_numpy(y), reduction=reduction)
    tloss.backward()
    assert rel_err(loss, tloss.item()) < 1e-6
    assert rel_err(grad, tl.grad) < 1e-6


def test_softmax_cross_entropy_rejects_an_unknown_reduction():
    with pytest.raises(ValueError, match="reduction: 'max' is unknown; use mean or sum"):
        SoftmaxCrossEntropy(np).forward(np.zeros((2, 3)), np.array([0, 1]), reduction="max")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_is_stable_for_huge_logits(dtype):
    rng = np.random.default_rng(4)
    logits = (rng.normal(size=(6, 4)) * 1e4).astype(dtype)
    logits[0] = [1e4, -1e4, 5e3, 1e4]  # a tie at the maximum
    y = np.array([0, 1, 2, 3, 0, 1])
    loss_fn = SoftmaxCrossEntropy(np)
    loss, grad = loss_fn.forward(logits, y), loss_fn.backward()
    tl = torch.tensor(logits.astype(F64), requires_grad=True)
    tloss = F.cross_entropy(tl, torch.from_numpy(y))
    tloss.backward()
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert loss.dtype == dtype and grad.dtype == dtype
    assert rel_err(loss, tloss.item()) < 1e-6
    assert rel_err(grad, tl.grad) < 1e-6


def test_mlp_values_and_gradients_match_torch():
    rng = np.random.default_rng(5)
    model = MLP([10, 8, 6, 4], "relu", np, seed=7, dtype=F64)
    for p in model.parameters()[1::2]:
        p.data[:] = rng.normal(size=p.data.shape) * 0.1  # non-zero biases
    x, y = rng.normal(size=(12, 10)), rng.integers(0, 4, size=12)
    loss_fn = SoftmaxCrossEntropy(np)
    loss = loss_fn.forward(model.forward(x), y)
    model.zero_grad()
    gx = model.backward(loss_fn.backward())

    ref = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6),
                              torch.nn.ReLU(), torch.nn.Linear(6, 4)).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    tx = t64(x, True)
    tloss = F.cross_entropy(ref(tx), torch.from_numpy(y))
    tloss.backward()
    assert [type(layer).__name__ for layer in model.layers] == \
        ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert rel_err(loss, tloss.item()) < 1e-6
    assert rel_err(gx, tx.grad) < 1e-6
    for p, tp in zip(model.parameters(), ref.parameters(), strict=True):
        assert rel_err(p.grad, tp.grad) < 1e-6


def test_mlp_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="activation: 'gelu' is unknown; use one of relu"):
        MLP([4, 3, 2], activation="gelu")


# ---- optimisers against torch.optim (float64) -------------------------------------------------

def _twins(seed: int = 0):
    """Two parameters as Parameter objects and as torch tensors with the same values."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    return [Parameter(a.copy()) for a in arrays], [t64(a, True) for a in arrays]


def _step_both(ours, opt, theirs, topt, rng):
    for p, tp in zip(ours, theirs, strict=True):
        g = rng.normal(size=p.data.shape)
        p.grad[...] = g
        tp.grad = t64(g)
    opt.step()
    topt.step()


def _assert_same(ours, theirs):
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.0, 0.0), (0.9, 0.0), (0.9, 0.01)])
def test_sgd_matches_torch_sgd_over_consecutive_steps(momentum, weight_decay):
    ours, theirs = _twins()
    opt = SGD(ours, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    topt = torch.optim.SGD(theirs, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    rng = np.random.default_rng(10)
    start = ours[0].data.copy()
    for step in range(3):
        if step == 2:  # a learning rate changed between epochs
            opt.lr = topt.param_groups[0]["lr"] = 0.03
        _step_both(ours, opt, theirs, topt, rng)
        _assert_same(ours, theirs)
    assert not np.allclose(ours[0].data, start)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_torch_adam_over_consecutive_steps(weight_decay):
    ours, theirs = _twins(1)
    opt = Adam(ours, lr=0.01, weight_decay=weight_decay)
    topt = torch.optim.Adam(theirs, lr=0.01, weight_decay=weight_decay)
    rng = np.random.default_rng(11)
    start = ours[1].data.copy()
    for step in range(5):
        if step == 3:
            opt.lr = topt.param_groups[0]["lr"] = 0.002
        _step_both(ours, opt, theirs, topt, rng)
        _assert_same(ours, theirs)
    assert opt.t == 5 and not np.allclose(ours[1].data, start)


def test_adam_with_weight_decay_differs_from_adam_without():
    a, _ = _twins(2)
    b, _ = _twins(2)
    for params, wd in ((a, 0.0), (b, 0.5)):
        for p in params:
            p.grad[...] = 0.1
        Adam(params, lr=0.01, weight_decay=wd).step()
    assert not np.allclose(a[0].data, b[0].data)


def test_optimizer_zero_grad_and_bad_values():
    params, _ = _twins()
    for p in params:
        p.grad[...] = 1.0
    opt = SGD(params, lr=0.1)
    opt.zero_grad()
    assert all(not p.grad.any() for p in params)
    with pytest.raises(ValueError, match="lr: -0.1 must be positive"):
        SGD(params, lr=-0.1)
    with pytest.raises(ValueError, match="momentum: 1.5 must be in"):
        SGD(params, lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="'lbfgs' is unknown to the from-scratch back-end; "
                                         "use adam or sgd"):
        make_optimizer({"optimizer": "lbfgs", "lr": 1e-3}, params)


# ---- learning-rate schedules ------------------------------------------------------------------

def test_lr_at_constant():
    assert [lr_at(e, 0.1, "constant", 5) for e in range(1, 6)] == [0.1] * 5


def test_lr_at_linear_endpoints_and_monotonic_decrease():
    lrs = [lr_at(e, 0.1, "linear", 10) for e in range(1, 11)]
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.1 * 0.01)
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    assert lr_at(10, 0.1, "linear", 10, final_fraction=0.5) == pytest.approx(0.05)
    assert lr_at(1, 0.1, "linear", 1) == 0.1
    with pytest.raises(ValueError, match="lr_final_fraction: 0.0 must be in"):
        lr_at(2, 0.1, "linear", 3, final_fraction=0.0)


def test_lr_at_exponential():
    assert lr_at(1, 0.1, "exponential", 5) == pytest.approx(0.1)
    assert lr_at(3, 0.1, "exponential", 5) == pytest.approx(0.1 * 0.95**2)
    assert lr_at(4, 0.2, "exponential", 5, gamma=0.5) == pytest.approx(0.025)


def test_lr_at_unknown_schedule_and_epoch_out_of_range():
    with pytest.raises(ValueError, match="lr_schedule: 'cosine' is unknown; use one of "
                                         "constant, linear, exponential"):
        lr_at(1, 0.1, "cosine", 5)
    with pytest.raises(ValueError, match="epoch: 0 is outside 1..5"):
        lr_at(0, 0.1, "constant", 5)


# ---- the training loop ------------------------------------------------------------------------

HP = {"model": "mlp", "n1": 32, "n2": 16, "optimizer": "adam", "lr": 1e-2, "batch_size": 32}
KEYS = {"epoch", "split", "loss", "accuracy", "lr", "seconds"}


def _blobs(n: int = 300, seed: int = 0, scale: float = 0.5):
    """3 Gaussian blobs in 784-D: float32 inputs (n, 784) and int64 labels (n,)."""
    centers = np.random.default_rng(99).normal(size=(3, 784)) * scale
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (centers[y] + rng.normal(size=(n, 784))).astype(np.float32)
    return x, y.astype(np.int64)


def _run(hparams: dict, epochs: int = 4, val_seed: int = 1, seed: int = 0):
    (tx, ty), (vx, vy) = _blobs(), _blobs(seed=val_seed)
    model = build_mlp(hparams, 784, 3, seed, np)
    return model, train(model, tx, ty, vx, vy, hparams, epochs, seed, np), (vx, vy)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_learns_separable_blobs_and_records_every_epoch(optimizer):
    hp = {**HP, "optimizer": optimizer, "momentum": 0.9} if optimizer == "sgd" else HP
    model, hist, (vx, vy) = _run(hp)
    assert hist.status == "completed" and hist.diverged_epoch is None and hist.seconds > 0
    assert len(hist.rows) == 12 and all(set(r) == KEYS for r in hist.rows)
    assert [(r["epoch"], r["split"]) for r in hist.rows[:3]] == [(1, "fit"), (1, "train"),
                                                                  (1, "val")]
    val = [r for r in hist.rows if r["split"] == "val"]
    assert val[-1]["accuracy"] > 0.9 and val[-1]["loss"] < val[0]["loss"]
    assert all(0 <= r["accuracy"] <= 1 and r["lr"] == 1e-2 for r in hist.rows)
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32
               for p in model.parameters())
    assert model.forward(vx[:5]).dtype == np.float32
    loss, acc = evaluate(model, vx, vy, np, batch=64)
    assert loss == pytest.approx(val[-1]["loss"], rel=1e-5) and acc == val[-1]["accuracy"]
    # the training rows: the model in eval mode on the first training images (all 300 here)
    (tx, ty), train_rows = _blobs(), [r for r in hist.rows if r["split"] == "train"]
    loss, acc = evaluate(model, tx, ty, np)
    assert loss == pytest.approx(train_rows[-1]["loss"], rel=1e-5)
    assert acc == train_rows[-1]["accuracy"]
    assert np.mean(predict(model, vx, np, batch=50) == vy) == acc


def test_training_is_reproducible_for_one_seed_and_differs_across_seeds():
    losses = [[r["loss"] for r in _run(HP, epochs=2, seed=s)[1].rows] for s in (0, 0, 1)]
    assert losses[0] == losses[1] and losses[0] != losses[2]


def test_learning_rate_schedule_reaches_the_history():
    hp = {**HP, "lr_schedule": "exponential", "lr_gamma": 0.5}
    _, hist, _ = _run(hp, epochs=3)
    assert [r["lr"] for r in hist.rows if r["split"] == "train"] == \
        pytest.approx([1e-2, 5e-3, 2.5e-3])


def test_early_stopping_stops_and_restores_the_best_weights():
    (tx, ty), (vx, vy) = _blobs(), _blobs(seed=1)
    rng = np.random.default_rng(3)  # half the val labels are noise: val loss falls, then rises
    vy = np.where(rng.random(len(vy)) < 0.5, rng.integers(0, 3, size=len(vy)), vy)
    hp = {**HP, "lr": 1e-4, "early_stopping_patience": 2}
    model = build_mlp(hp, 784, 3, 0, np)
    hist = train(model, tx, ty, vx, vy, hp, 30, 0, np)
    val = {r["epoch"]: r["loss"] for r in hist.rows if r["split"] == "val"}
    last, best = max(val), min(val, key=val.get)
    assert hist.status == "completed" and best > 1 and last == best + 2 < 30
    assert model.best_epoch == best
    restored_loss, _ = evaluate(model, vx, vy, np)
    assert restored_loss == pytest.approx(val[best], rel=1e-9)
    assert restored_loss != pytest.approx(val[last], rel=1e-3)  # the weights did change back


def test_without_early_stopping_every_epoch_runs_on_noisy_val_labels():
    (tx, ty), (vx, _) = _blobs(), _blobs(seed=1)
    vy = np.random.default_rng(3).integers(0, 3, size=len(vx))
    model = build_mlp(HP, 784, 3, 0, np)
    hist = train(model, tx, ty, vx, vy, {**HP, "early_stopping_patience": None}, 6, 0, np)
    assert len(hist.rows) == 18 and hist.rows[-1]["epoch"] == 6


def test_non_finite_input_stops_the_run_as_diverged():
    (tx, ty), (vx, vy) = _blobs(), _blobs(seed=1)
    tx[0, 0] = np.inf
    model = build_mlp(HP, 784, 3, 0, np)
    with np.errstate(all="ignore"):
        hist = train(model, tx, ty, vx, vy, HP, 5, 0, np)
    assert hist.status == "diverged" and hist.diverged_epoch == 1
    assert len(hist.rows) == 3 and not np.isfinite(hist.rows[0]["loss"])


def test_build_mlp_reads_hidden_or_n1_n2(caplog):
    assert build_mlp({"hidden": [20, 10, 5]}, 784, 47, 0, np).sizes == [784, 20, 10, 5, 47]
    assert build_mlp({"n1": 64, "n2": 32}, 784, 10, 0, np).sizes == [784, 64, 32, 10]
    with pytest.raises(ValueError, match="both 'hidden' and 'n1'/'n2'"):
        build_mlp({"hidden": [20], "n1": 64}, 784, 10, 0, np)
    with caplog.at_level(logging.WARNING, logger="nnreport.training.scratch.train"):
        build_mlp({"n1": 8, "n2": 4, "p": 0.2}, 784, 10, 0, np)
    assert "dropout p=0.2 is not implemented in the from-scratch back-end" in caplog.text


# ---- the array module -------------------------------------------------------------------------

@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError


def test_get_xp_cpu_is_numpy():
    assert get_xp("cpu") is np


def test_get_xp_auto_falls_back_to_numpy_with_one_log_line(no_cupy, caplog):
    with caplog.at_level(logging.INFO, logger="nnreport.training.scratch.backend"):
        assert get_xp("auto") is np
    assert len(caplog.records) == 1
    assert "CuPy or a CUDA GPU is missing" in caplog.text and "runs on NumPy" in caplog.text


def test_get_xp_auto_is_numpy_on_this_machine_when_cupy_is_absent():
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert get_xp("auto") is np
    else:
        pytest.skip("CuPy is installed here; the fallback is tested with it hidden")


def test_get_xp_cuda_without_cupy_raises_an_actionable_error(no_cupy):
    with pytest.raises(RuntimeError, match=r"device: 'cuda'.*CuPy does not import.*device: auto"):
        get_xp("cuda")


def test_get_xp_rejects_an_unknown_device():
    with pytest.raises(ValueError, match="device: 'tpu' is unknown; use one of auto, cpu, cuda"):
        get_xp("tpu")


def test_to_numpy_returns_host_arrays():
    a = np.arange(3, dtype=np.float32)
    assert to_numpy(a) is a
    assert isinstance(to_numpy(np.float32(2.0)), np.ndarray)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_both_back_ends_follow_the_same_trajectory_from_the_same_start(optimizer):
    """The from-scratch MLP and the PyTorch MLP, from the same weights and on the same batches
    in the same order, stay within float32 tolerance over three epochs of updates."""
    import torch

    from nnreport.models.registry import build_model
    from nnreport.training.backprop import training_step
    from nnreport.training.loop import make_optimizer as torch_optimizer
    from nnreport.training.scratch.train import make_optimizer as scratch_optimizer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=96)
    hp = {"optimizer": optimizer, "lr": 0.05 if optimizer == "sgd" else 1e-2,
          "batch_size": 16, "hidden": [8, 4]}
    torch.manual_seed(0)
    net = build_model(hp, n_in=20, n_classes=3)  # ReLU, no dropout
    ours = MLP([20, 8, 4, 3], "relu", np, seed=1)  # other weights: copied from net below
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip([la for la in ours.layers if isinstance(la, Linear)], linears,
                             strict=True):
        layer.weight.data[...] = linear.weight.detach().numpy()
        layer.bias.data[...] = linear.bias.detach().numpy()
    step, opt = training_step(net), torch_optimizer(hp, net.parameters())
    loss_fn, scratch_opt = SoftmaxCrossEntropy(np), scratch_optimizer(hp, ours.parameters())
    for epoch in range(3):
        order = np.random.default_rng(epoch).permutation(len(x))  # the same batches for both
        for i in range(0, len(x), hp["batch_size"]):
            idx = order[i : i + hp["batch_size"]]
            step(torch.from_numpy(x[idx]), torch.from_numpy(y[idx]))
            opt.step()
            scratch_opt.zero_grad()
            loss_fn.forward(ours.forward(x[idx]), y[idx])
            ours.backward(loss_fn.backward())
            scratch_opt.step()
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours.forward(x), expected, rtol=1e-4, atol=1e-5)
