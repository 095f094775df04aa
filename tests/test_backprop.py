import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from nnreport.models.mlp import ACTIVATIONS
from nnreport.models.registry import build_model
from nnreport.training.backprop import AutogradStep, BackpropStep, training_step
from nnreport.training.loop import Split, train


def _grads_both_ways(hp: dict, seed: int = 0):
    """Return ((loss, correct, grads) of BackpropStep, the same of autograd) in float64."""
    torch.manual_seed(seed)
    x = torch.randn(32, 784, dtype=torch.float64)
    y = torch.randint(0, 10, (32,))
    out = []
    for autograd in (False, True):
        torch.manual_seed(1)
        model = build_model(hp, 784, 10).double().train()
        step = training_step(model, autograd=autograd)
        torch.manual_seed(2)  # the dropout masks draw from here: the same numbers both ways
        loss, correct = step(x, y)
        out.append((loss, correct, [p.grad.clone() for p in model.parameters()]))
    return out


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("p", [0.0, 0.25])
def test_hand_written_gradients_equal_autograd_in_float64(activation, p):
    hp = {"hidden": [24, 16, 12], "activation": activation, "p": p}
    (loss, correct, grads), (loss_ag, correct_ag, grads_ag) = _grads_both_ways(hp)
    assert loss.item() == pytest.approx(loss_ag.item(), rel=1e-12)
    assert correct.item() == correct_ag.item()
    assert len(grads) == len(grads_ag) == 8
    for g, g_ag in zip(grads, grads_ag, strict=True):
        assert g.abs().sum() > 0
        torch.testing.assert_close(g, g_ag, rtol=1e-10, atol=1e-12)


def test_dropout_really_changes_the_gradients():
    hp = {"hidden": [24, 16], "p": 0.5}
    (_, _, with_drop), _ = _grads_both_ways(hp)
    (_, _, without), _ = _grads_both_ways({**hp, "p": 0.0})
    assert not torch.allclose(with_drop[0], without[0])
    zero_rows = (with_drop[2] == 0).all(1).sum().item()  # units dropped in the whole batch: rare
    assert zero_rows < 16


def test_models_it_does_not_cover_fall_back_to_autograd():
    assert isinstance(training_step(build_model({"n1": 8, "n2": 4}, 784, 10)), BackpropStep)
    bn = build_model({"n1": 8, "n2": 4, "batchnorm": True}, 784, 10)
    assert isinstance(training_step(bn), AutogradStep)
    forced = training_step(build_model({"n1": 8, "n2": 4}, 784, 10), autograd=True)
    assert isinstance(forced, AutogradStep)
    assert isinstance(training_step(torch.nn.Sequential(torch.nn.Linear(4, 2))), AutogradStep)
    mixed = build_model({"n1": 8, "n2": 4, "p": 0.2}, 784, 10)
    mixed.layers[-2].p = 0.5  # the second hidden layer's Dropout: a p of its own
    assert isinstance(training_step(mixed), AutogradStep)


def test_training_is_the_same_with_either_step():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 784, generator=g) * 2
    y = torch.randint(0, 3, (600,), generator=g)
    data = Split(centers[y] + torch.randn(600, 784, generator=g), y)
    val = Split(data.x[:200] + 0.5, y[:200])
    hp = {"n1": 32, "n2": 16, "p": 0.2, "optimizer": "adam", "batch_size": 64, "lr": 1e-3}
    hists = []
    for autograd in (False, True):
        torch.manual_seed(0)
        hists.append(pd.DataFrame(train(build_model(hp, 784, 3), data, val, hp, 3, 0,
                                        autograd=autograd).rows))
    np.testing.assert_allclose(hists[0]["loss"], hists[1]["loss"], rtol=1e-4)
    np.testing.assert_allclose(hists[0]["accuracy"], hists[1]["accuracy"], atol=1 / 200)


def test_uint8_split_gives_the_normalised_inputs():
    from nnreport.data.dataset import Dataset
    from nnreport.data.preprocess import normalise
    from nnreport.training.runner import to_splits

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 28, 28)).astype(np.uint8)
    data = Dataset(images, rng.integers(0, 10, 50), np.arange(40), np.arange(40, 50),
                   [str(i) for i in range(10)], "test")
    train_split, val_split, norm = to_splits(data, {"device": "cpu"}, torch.device("cpu"))
    assert train_split.x.dtype == torch.uint8 and train_split.x.shape == (40, 784)
    rows = torch.tensor([3, 0, 39])
    expected = normalise(images[rows.numpy()], norm)
    torch.testing.assert_close(train_split.inputs(rows), torch.from_numpy(expected),
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(val_split.inputs(slice(2, 5)),
                               torch.from_numpy(normalise(images[42:45], norm)),
                               rtol=1e-5, atol=1e-5)


def _trained_twice(hp: dict, direct_class, centered: bool = False) -> tuple[list, list]:
    """The same model trained 5 steps with opt.step() and with the direct step (`lr` changed
    between steps, as a schedule does); the models and their optimisers."""
    from nnreport.training.loop import direct_step, make_optimizer

    models, opts, x, y = [], [], torch.randn(64, 784), torch.randint(0, 10, (64,))
    for direct in (False, True):
        torch.manual_seed(0)
        model = build_model(hp, 784, 10)
        opt = make_optimizer(hp, model.parameters())
        if centered:  # RMSprop's variant, which the config does not set
            opt.param_groups[0]["centered"] = True
        step = training_step(model)
        opt_step = direct_step(opt) if direct else opt.step
        assert isinstance(opt_step, direct_class) == direct
        for k in range(5):
            opt.param_groups[0]["lr"] = hp["lr"] / (k + 1)
            step(x, y)
            opt_step()
        models.append(model), opts.append(opt)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)
    return models, opts


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_the_direct_fused_adam_step_equals_opt_step_bit_for_bit(name):
    from nnreport.training.loop import FusedAdamStep, make_optimizer

    hp = {"n1": 16, "n2": 8, "p": 0.1, "optimizer": name, "lr": 1e-2, "weight_decay": 1e-3}
    models, _ = _trained_twice(hp, FusedAdamStep)
    assert not FusedAdamStep.covers(make_optimizer({"optimizer": "sgd", "lr": 0.1},
                                                   models[0].parameters()))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_direct_fused_sgd_step_equals_opt_step_bit_for_bit(momentum):
    from nnreport.training.loop import FusedAdamStep, FusedSGDStep, make_optimizer

    hp = {"n1": 16, "n2": 8, "p": 0.1, "optimizer": "sgd", "lr": 0.1, "momentum": momentum,
          "weight_decay": 1e-3}
    models, opts = _trained_twice(hp, FusedSGDStep)
    for model, opt in zip(models, opts, strict=True):  # torch.optim's state, made the same
        buffers = [opt.state[p].get("momentum_buffer") for p in model.parameters()]
        assert all((b is None) == (momentum == 0) for b in buffers)
    assert not FusedSGDStep.covers(make_optimizer({"optimizer": "adam", "lr": 0.1},
                                                  models[0].parameters()))
    assert not FusedAdamStep.covers(opts[0])


@pytest.mark.parametrize(("momentum", "centered"), [(0.0, False), (0.9, False), (0.5, True)])
def test_the_direct_rmsprop_step_equals_opt_step_bit_for_bit(momentum, centered):
    from nnreport.training.loop import DirectRMSpropStep

    hp = {"n1": 16, "n2": 8, "p": 0.1, "optimizer": "rmsprop", "lr": 1e-2,
          "momentum": momentum, "weight_decay": 1e-3}
    models, opts = _trained_twice(hp, DirectRMSpropStep, centered=centered)
    for model, opt in zip(models, opts, strict=True):  # torch.optim's state, made the same
        assert all(set(opt.state[p]) == set(opts[0].state[q]) for p, q in zip(
            model.parameters(), models[0].parameters(), strict=True))


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_training_with_adam_sgd_or_rmsprop_never_imports_torch_dynamo(name):
    """torch.optim imports torch._dynamo (1.3 s here) on an optimiser's construction and its
    opt.step(); the trainer's Adam, SGD and RMSprop paths need neither, so a training job does
    not pay it."""
    code = f"""
import sys, torch
from nnreport.models.registry import build_model
from nnreport.training.backprop import training_step
from nnreport.training.loop import direct_step, make_optimizer
model = build_model({{"n1": 16, "n2": 8, "p": 0.1}}, 784, 10)
opt = make_optimizer({{"optimizer": "{name}", "lr": 1e-3, "momentum": 0.9}}, model.parameters())
step, opt_step = training_step(model), direct_step(opt)
for _ in range(3):
    step(torch.randn(32, 784), torch.randint(0, 10, (32,)))
    opt_step()
print("torch._dynamo" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
