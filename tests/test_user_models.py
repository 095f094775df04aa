"""A student's own PyTorch module (`model: file.py:Class`): loaded by path, checked before any
job with the student's file and line in every message, trained, and hashed into its runs."""

from __future__ import annotations

import pickle
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT, make_workdir, run_snakemake, study_config, with_prose
from nnreport.base.usercode import (
    CHECKED,
    UserCodeError,
    class_source,
    load_class,
    module_name,
    parse_target,
)
from nnreport.checks import usermodels
from nnreport.checks.config import ConfigError, validate_config
from nnreport.config.grid import run_configs, training_cost
from nnreport.models.registry import build_model, describe, family_of

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"

GOOD = '''\
import torch
from torch import nn


class MiRed(nn.Module):
    def __init__(self, canales=8, p=0.2, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, canales, 3, padding=1)
        self.fc = nn.Linear(canales * 14 * 14, n_classes)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.fc(self.drop(x.flatten(1)))
'''


def user_config(**base) -> dict:
    """The tiny study with its base's model and knobs replaced by `base`."""
    config = study_config("tiny", epochs=1)
    keep = {k: config["base"][k] for k in ("optimizer", "batch_size", "lr")}
    config["base"] = {"model": "mi_red.py:MiRed", "canales": 8, "p": 0.2, **keep, **base}
    config["experiments"] = [{"id": "base", "objective": "Base."},
                             {"id": "canales", "objective": "Filtros.",
                              "vary": {"canales": [4]}}]
    return config


def problems(tmp_path: Path, source: str | None, config: dict | None = None,
             monkeypatch=None) -> str:
    """The message of validate_config for `config` with mi_red.py holding `source`."""
    if not (tmp_path / "report").exists():
        make_workdir(tmp_path, config or user_config())
    if source is not None:
        (tmp_path / "mi_red.py").write_text(textwrap.dedent(source))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        validate_config(config or user_config(), SCHEMA, ["config.yaml"])
    return str(err.value)


def test_a_good_class_passes_and_its_check_is_remembered(tmp_path, monkeypatch):
    (tmp_path / "mi_red.py").write_text(GOOD)
    monkeypatch.chdir(with_prose(tmp_path))
    validate_config(user_config(), SCHEMA, ["config.yaml"])
    checked = yaml.safe_load(CHECKED.read_text())
    assert sorted(v["parameters"] for v in checked.values()) == [7890, 15770]  # canales 4, 8
    # a run's cost (its priority, its time on a cluster) follows the multiply-adds measured
    macs = 28 * 28 * 9 * 8 + 8 * 14 * 14 * 10  # the convolution's and the dense layer's
    assert sorted(v["macs"] for v in checked.values()) == [macs // 2, macs]
    base = user_config()["base"]
    unit = 3 * (784 * 128 + 128 * 64 + 64 * 10)
    assert training_cost(base, 1) == pytest.approx((3 * macs + 2e7 / 256) / unit)
    # a second check of the same content imports nothing: no PyTorch, not the file
    monkeypatch.setattr(usermodels.importlib, "import_module", pytest.fail)
    monkeypatch.setattr(usermodels, "load_class", pytest.fail)
    validate_config(user_config(), SCHEMA, ["config.yaml"])


CASES = {
    "no such file": (None, {}, "base.model is 'mi_red.py:MiRed', but there is no file mi_red.py"),
    "import error": ("import torch\n\nraise ImportError('falta el modulo mis_capas')\n", {},
                     "importing it failed at mi_red.py:3: ImportError: falta el modulo "
                     "mis_capas"),
    "syntax error": ("def f(:\n    pass\n", {}, "importing it failed at mi_red.py:1: "
                                               "SyntaxError"),
    "no such class": (GOOD.replace("MiRed", "MiRedd"), {},
                      "mi_red.py defines no 'MiRed' (its classes: MiRedd); did you mean "
                      "'MiRedd'?"),
    "not a module": ("class MiRed:\n    pass\n", {},
                     "MiRed is not a torch.nn.Module (its bases: object); write "
                     "`class MiRed(nn.Module):`"),
    "unknown knob": (GOOD, {"canale": 8},
                     "base.canale is set, but MiRed.__init__ (mi_red.py:6) has no parameter "
                     "'canale' (its parameters: canales, p, n_classes); did you mean "
                     "'canales'?"),
    "missing knob": (GOOD.replace("canales=8", "canales"), {"canales": None},
                     "whose MiRed.__init__ (mi_red.py:6) needs 'canales' (it has no default); "
                     "set base.canales"),
    "wrong shape": (GOOD.replace("n_classes)\n        self.drop", "5)\n        self.drop"), {},
                    "MiRed(canales=8, p=0.2, n_classes=10).forward(x) with x of shape "
                    "(2, 1, 28, 28) returned (2, 5); expected (2, 10), one logit per class"),
    "forward fails": (GOOD.replace("14 * 14", "7 * 7"), {},
                      "forward(x) with x of shape (2, 1, 28, 28) failed at mi_red.py:14: "
                      "RuntimeError: mat1 and mat2 shapes cannot be multiplied"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_class_is_refused_before_any_job_with_the_students_file_and_line(case, tmp_path):
    source, base, message = CASES[case]
    config = user_config(**base)
    config["base"] = {k: v for k, v in config["base"].items() if v is not None}
    if case == "missing knob":  # nor may the varied knob's experiment vary it
        config["experiments"] = config["experiments"][:1]
    path = make_workdir(tmp_path, config)
    if source is not None:
        (tmp_path / "mi_red.py").write_text(source)
    proc = run_snakemake(tmp_path, "--cores", "1", config=path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in " ".join(out.split()), out[-3000:]
    assert "Traceback" not in out and "nnreport/" not in out  # their code's lines, not ours
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()


def test_a_variant_that_breaks_the_class_is_named_by_its_value(tmp_path, monkeypatch):
    source = GOOD.replace("self.conv = nn.Conv2d(1, canales, 3, padding=1)",
                          "assert canales % 4 == 0, 'canales debe ser múltiplo de 4'\n"
                          "        self.conv = nn.Conv2d(1, canales, 3, padding=1)")
    config = user_config()
    config["experiments"][1]["vary"] = {"canales": [6]}
    text = problems(tmp_path, source, config, monkeypatch)
    assert ("experiments[1].vary.canales[0] is 6: MiRed(canales=6, p=0.2, n_classes=10) failed "
            "at mi_red.py:8: AssertionError: canales debe ser múltiplo de 4 (in `assert canales "
            "% 4 == 0") in text
    assert "base.model" not in text  # the base builds


def test_a_users_class_is_sized_from_what_its_check_measured(tmp_path, monkeypatch):
    from nnreport.studies.resources import model_mb

    (tmp_path / "mi_red.py").write_text(GOOD)
    monkeypatch.chdir(with_prose(tmp_path))
    config = user_config()
    validate_config(config, SCHEMA, ["config.yaml"])
    base = config["base"]
    assert model_mb(config, base) > 0  # before: 0, its memory was its data's alone
    [entry] = [v for v in yaml.safe_load(CHECKED.read_text()).values()
               if v["parameters"] == 15770]
    # what autograd keeps per image: at least the convolution's output (8 x 28 x 28) and the
    # input, at most a few copies of them (the pooling's indices, the dropout's mask)
    assert 784 + 8 * 28 * 28 <= entry["activations"] <= 3 * (784 + 8 * 28 * 28)
    assert model_mb(config, base) == pytest.approx(
        (16 * 15770 + 8 * base["batch_size"] * entry["activations"]) / 1e6)
    # a variant whose activations do not fit is refused, naming its value and the limit
    config["experiments"][1]["vary"] = {"canales": [4, 256]}
    config["memory_limit_mb"] = 1500  # the data and the base fit in it
    text = problems(tmp_path, None, config, monkeypatch)
    assert ("experiments[1].vary.canales[1] is 256: a run needs about 2.0 GB (5.04e+05 "
            "parameters with their gradients and optimiser state, and the activations of a "
            "batch of 256 images), more than memory_limit_mb: 1500 (1.5 GB)") in text, text
    assert "canales[0]" not in text and "base." not in text


def test_a_users_class_larger_than_memory_is_counted_not_built(tmp_path, monkeypatch):
    config = user_config()
    config["experiments"][1]["vary"] = {"canales": [4, 10_000_000]}  # 2e10 weights: 315 GB
    config["memory_limit_mb"] = 64_000
    text = problems(tmp_path, GOOD, config, monkeypatch)  # built, it would need 80 GB here
    assert ("experiments[1].vary.canales[1] is 10000000: a run needs about 315.2 GB (1.97e+10 "
            "parameters with their gradients and optimiser state, before its data and "
            "activations), more than memory_limit_mb: 64000 (64.0 GB)") in text, text


def test_a_scratch_class_is_sized_from_the_arrays_its_step_holds(tmp_path, monkeypatch):
    (tmp_path / "mi_red.py").write_text(SCRATCH)
    monkeypatch.chdir(with_prose(tmp_path))
    validate_config(scratch_config(), SCHEMA, ["config.yaml"])
    sizes = {v["parameters"]: v["activations"]
             for v in yaml.safe_load(CHECKED.read_text()).values()}
    # 784-100-50-10: at least the image and each layer's output, at most twice its outputs and
    # activations (a ReLU's mask is a byte a value)
    kept = sizes[784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10]
    assert 784 + 100 + 50 + 10 <= kept <= 2 * (784 + 2 * 100 + 2 * 50 + 10)


def test_the_class_may_not_be_a_reconstruction_yet(tmp_path, monkeypatch):
    text = problems(tmp_path, GOOD, user_config(task="reconstruction"), monkeypatch)
    assert "base.task is 'reconstruction'" in text and "model: conv_autoencoder" in text


def test_a_model_studys_class_is_checked_with_its_models_back_end(tmp_path, monkeypatch):
    models = study_config("tiny_models")
    models["models"][0]["hparams"] = {"model": "mi_red.py:MiMLP", "n1": 32, "n11": 16,
                                      "optimizer": "sgd", "lr": 0.01, "batch_size": 256}
    (tmp_path / "mi_red.py").write_text(SCRATCH)
    text = problems(tmp_path, None, models, monkeypatch)
    assert ("models[0].hparams.n11 is set, but MiMLP.__init__ (mi_red.py:56) has no parameter "
            "'n11' (its parameters: n1, n2, input_shape, n_classes, seed); did you mean 'n1'?"
            ) in text
    # its knobs are its own: no refusal of the built-in NumPy MLP's (which has no dropout)
    models["models"][0]["hparams"] = {"model": "mi_red.py:MiMLP", "n1": 32, "p": 0.5,
                                      "optimizer": "sgd", "lr": 0.01, "batch_size": 256}
    text = problems(tmp_path, None, models, monkeypatch)
    assert "models[0].hparams.p is set, but MiMLP.__init__" in text and "dropout" not in text


def test_the_class_is_loaded_by_path_registered_so_it_pickles_and_quoted_as_written(tmp_path):
    (tmp_path / "mi_red.py").write_text(GOOD)
    target = parse_target(str(tmp_path / "mi_red.py") + ":MiRed")
    cls = load_class(target)
    assert cls.__module__ == module_name(target.path) and sys.modules[cls.__module__]
    net = pickle.loads(pickle.dumps(cls(canales=4)))
    assert isinstance(net, torch.nn.Module) and net.conv.out_channels == 4
    assert class_source(target) == (GOOD[GOOD.index("class MiRed"):], [])
    with pytest.raises(UserCodeError, match="defines no class 'Otra'"):
        class_source(parse_target(target.path + ":Otra"))


def test_the_constructor_gets_the_knobs_and_the_images_shape_table_iii_reads_the_module(
        tmp_path, monkeypatch):
    (tmp_path / "mi_red.py").write_text(GOOD.replace("n_classes=10)", "n_classes=10, "
                                                     "input_shape=None)"))
    monkeypatch.chdir(tmp_path)
    hparams = {"model": "mi_red.py:MiRed", "canales": 4, "p": 0.5, "optimizer": "adam",
               "lr": 0.01, "batch_size": 32, "early_stopping_patience": 3}
    net = build_model(hparams, n_in=784, n_classes=7, input_shape=(1, 28, 28))
    assert net.fc.out_features == 7 and net.drop.p == 0.5 and net.conv.out_channels == 4
    assert family_of(hparams).user is not None and not family_of(hparams).channels_last
    rows = describe(net, (1, 28, 28))
    assert [r["layer"] for r in rows] == ["Conv2d", "Dropout", "Linear"]  # the forward's order
    assert rows[0]["shape"] == (4, 28, 28) and rows[-1]["shape"] == (7,)
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in net.parameters())


def test_a_runs_identity_holds_its_files_content_and_nothing_else(tmp_path, monkeypatch):
    (tmp_path / "mi_red.py").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    config = user_config()
    before = run_configs(config)
    assert before["base", 0]["code"]["file"] == "mi_red.py"
    (tmp_path / "mi_red.py").write_text(GOOD)  # rewritten, same content
    assert run_configs(config) == before
    (tmp_path / "mi_red.py").write_text(GOOD + "# otra versión\n")
    after = run_configs(config)
    assert all(after[k]["hash"] != before[k]["hash"] for k in before)


SCRATCH = (ROOT / "examples" / "mi_mlp_numpy.py").read_text()


def scratch_config(**base) -> dict:
    """The tiny study of the example from-scratch class, read from mi_red.py."""
    config = study_config("tiny_mi_mlp")
    config["base"] = {**config["base"], "model": "mi_red.py:MiMLP", **base}
    return config


SCRATCH_CASES = {
    "wrong backward": (SCRATCH.replace("self.W.grad += self.x.T @ g",
                                       "self.W.grad += 2 * self.x.T @ g"),
                       "MiMLP(n1=100, n2=50, input_shape=(1, 28, 28), n_classes=10, seed=0)"
                       ".backward does not compute the gradient of its forward: for capas["),
    "no backward": (SCRATCH.replace("def backward(self, g):\n        for capa",
                                    "def atras(self, g):\n        for capa"),
                    "base.model is 'mi_red.py:MiMLP' with backend: numpy, but MiMLP has no "
                    "backward; a model written from scratch defines forward(x), "
                    "backward(grad_logits) and parameters()"),
    "no grad": (SCRATCH.replace("self.grad = np.zeros_like(data)", "pass"),
                "parameters()[0] is a Parametro without the arrays .data and .grad"),
    "backward fails": (SCRATCH.replace("self.b.grad += g.sum(axis=0)",
                                       "self.b.grad += g.sum(axis=1)"),
                       "backward(grad_logits) with grad_logits of shape (B, 10) failed at "
                       "mi_red.py:38: ValueError"),
}


@pytest.mark.parametrize("case", SCRATCH_CASES)
def test_a_bad_scratch_class_is_refused_before_any_job(case, tmp_path):
    source, message = SCRATCH_CASES[case]
    path = make_workdir(tmp_path, scratch_config())
    (tmp_path / "mi_red.py").write_text(source)
    proc = run_snakemake(tmp_path, "--cores", "1", config=path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in " ".join(out.split()), out[-3000:]
    assert "Traceback" not in out and not (tmp_path / "results").exists()


def test_an_optimiser_the_from_scratch_trainer_lacks_is_refused_in_a_table_i_study(
        tmp_path, monkeypatch):
    text = problems(tmp_path, SCRATCH, scratch_config(model="mi_red.py:MiMLP",
                                                      optimizer="rmsprop"), monkeypatch)
    assert ("base.optimizer is 'rmsprop'; the numpy back-end supports adam, sgd; use one of "
            "those or backend: torch") in text


def test_the_gradient_check_passes_a_right_backward_and_measures_a_wrong_one(tmp_path,
                                                                            monkeypatch):
    from nnreport.models.user_scratch import ScratchModel, gradient_check

    (tmp_path / "mi_red.py").write_text(SCRATCH)
    wrong = SCRATCH.replace("return g * self.activa", "return g")  # ReLU's mask forgotten
    (tmp_path / "wrong.py").write_text(wrong)
    monkeypatch.chdir(tmp_path)
    hparams = {"n1": 20, "n2": 10}
    right = gradient_check(ScratchModel(parse_target("mi_red.py:MiMLP"), hparams,
                                        (1, 28, 28), 10, seed=0), 10)
    assert right["error"] < 1e-6 and right["coordinates"] == 24 and right["parameters"] == 6
    bad = gradient_check(ScratchModel(parse_target("wrong.py:MiMLP"), hparams, (1, 28, 28),
                                      10, seed=0), 10)
    assert bad["error"] > 1e-2 and bad["parameter"].startswith("capas[")


def test_a_scratch_class_names_its_parameters_and_keeps_its_state(tmp_path, monkeypatch):
    from nnreport.models.user_scratch import ScratchModel

    (tmp_path / "mi_red.py").write_text(SCRATCH)
    monkeypatch.chdir(tmp_path)
    model = ScratchModel(parse_target("mi_red.py:MiMLP"), {"n1": 8, "n2": 4}, (1, 28, 28), 10,
                         seed=3)
    assert model.names == ["capas[0].W", "capas[0].b", "capas[2].W", "capas[2].b",
                           "capas[4].W", "capas[4].b"]
    x = np.random.default_rng(0).normal(size=(5, 784)).astype(np.float32)  # flat rows in
    logits = model.forward(x)
    state = model.state_dict()
    other = ScratchModel(parse_target("mi_red.py:MiMLP"), {"n1": 8, "n2": 4}, (1, 28, 28), 10,
                         seed=4)
    assert not np.allclose(other.forward(x), logits)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.forward(x), logits)


def test_a_check_passed_by_one_class_of_a_file_does_not_pass_another(tmp_path, monkeypatch):
    wrong = "\n\nclass Mala(MiMLP):\n    def backward(self, g):\n        super().backward(2 * g)\n"
    (tmp_path / "mi_red.py").write_text(SCRATCH + wrong)
    make_workdir(tmp_path, scratch_config())
    monkeypatch.chdir(tmp_path)
    validate_config(scratch_config(), SCHEMA, ["config.yaml"])  # MiMLP: right, remembered
    with pytest.raises(ConfigError, match=r"Mala\(n1=100.*\.backward does not compute"):
        validate_config(scratch_config(model="mi_red.py:Mala"), SCHEMA, ["config.yaml"])


SMALL_CASES = {
    "squeezes its output": (GOOD.replace("return self.fc(self.drop(x.flatten(1)))",
                                         "return self.fc(self.drop(x.flatten(1))).squeeze()"),
                            {}, "forward(x) in eval mode with x of shape (1, 1, 28, 28) "
                                "returned (10); expected (1, 10) (avoid x.squeeze())"),
    "kwargs not named": (GOOD.replace("n_classes=10):\n        super().__init__()",
                                      "**kwargs):\n        super().__init__(**kwargs)\n"
                                      "        n_classes = 10"), {},
                         None),
    "a sibling import": ("from capas import bloque\n", {},
                         "your model is one file: put what it imports from capas.py into "
                         "mi_red.py"),
    "a label of no knob": (GOOD, {}, "report.knobs.canale names 'canale', which no run of "
                                     "the study sets"),
}


@pytest.mark.parametrize("case", SMALL_CASES)
def test_more_mistakes_are_named_before_any_job(case, tmp_path, monkeypatch):
    source, base, message = SMALL_CASES[case]
    config = user_config(**base)
    if case == "a label of no knob":
        config["report"]["knobs"] = {"canale": "Filtros"}
    (tmp_path / "capas.py").write_text("def bloque():\n    pass\n")
    if message is None:  # passes: the constructor gets no argument it does not name
        (tmp_path / "mi_red.py").write_text(source)
        make_workdir(tmp_path, config)
        monkeypatch.chdir(tmp_path)
        validate_config(config, SCHEMA, ["config.yaml"])
        return
    assert message in " ".join(problems(tmp_path, source, config, monkeypatch).split())


SCRATCH_SMALL = {
    "random forward": SCRATCH.replace("        return x  # (B, n_classes)",
                                      "        return x * np.random.uniform(0.5, 1.5)"),
    "float32 forward": SCRATCH.replace("        return x  # (B, n_classes)",
                                       "        return x.astype(np.float32)"),
    "a parameter twice": SCRATCH.replace("for p in (capa.W, capa.b)]",
                                         "for p in (capa.W, capa.b, capa.W)]"),
}


@pytest.mark.parametrize("case, message", [
    ("random forward", "forward gives another loss for the same input in eval mode"),
    ("float32 forward", "forward returns float32 for a float64 input"),
    ("a parameter twice", "parameters() returns parameters()[2] twice")])
def test_a_scratch_class_the_check_cannot_trust_is_refused_with_the_reason(
        case, message, tmp_path, monkeypatch):
    text = problems(tmp_path, SCRATCH_SMALL[case], scratch_config(model="mi_red.py:MiMLP"),
                    monkeypatch)
    assert message in text


def test_the_run_seed_reaches_a_constructor_that_names_it(tmp_path, monkeypatch):
    (tmp_path / "mi_red.py").write_text(GOOD.replace("n_classes=10)", "n_classes=10, seed=0)")
                                        .replace("super().__init__()",
                                                 "super().__init__()\n        self.seed = seed"))
    monkeypatch.chdir(tmp_path)
    hparams = {"model": "mi_red.py:MiRed", "optimizer": "adam", "lr": 0.01, "batch_size": 32}
    assert build_model(hparams, 784, 10, input_shape=(1, 28, 28), seed=3).seed == 3


def test_an_alias_and_a_declared_encoding_are_quoted_as_written(tmp_path):
    source = "# -*- coding: latin-1 -*-\n# diseño\n" + GOOD + "\n\nMiAlias = MiRed\n"
    (tmp_path / "mi_red.py").write_bytes(source.encode("latin-1"))
    code, helpers = class_source(parse_target(str(tmp_path / "mi_red.py") + ":MiAlias"))
    assert code.startswith("class MiRed(nn.Module):") and code.endswith("MiAlias = MiRed\n")
    assert helpers == []


def test_a_students_knob_written_1e_3_is_a_number(tmp_path):
    from nnreport.config.grid import coerce_numbers

    config = yaml.safe_load("base: {model: mi_red.py:MiRed, escala: 1e-3, nombre: '1a', "
                            "lr: 1e-3}\nexperiments: [{id: e, vary: {escala: [2e-3]}}]")
    assert config["base"]["escala"] == "1e-3"  # as PyYAML (YAML 1.1) reads it
    coerce_numbers(config)
    assert config["base"] == {"model": "mi_red.py:MiRed", "escala": 0.001, "nombre": "1a",
                              "lr": 0.001}
    assert config["experiments"][0]["vary"]["escala"] == [0.002]
