"""Training speed of the convolutional families: s/epoch, GFLOP/s, the convolution rate.

    .venv/bin/python benchmarks/bench_conv.py [--epochs 2] [--repeats 3] [--threads 1]

In one process, on the FashionMNIST split (60,000 training, 10,000 validation images), it trains
each convolutional family at a representative config (cnn; conv_autoencoder; encoder_classifier
on a freshly built autoencoder's encoder, frozen and fine-tuned) with the project's trainer
nnreport.training.loop.train, fed as nnreport.training.runner.run_job feeds it. It counts the
FLOP per sample from the layer shapes, times torch's convolutions (and the step's matrix
products) at each family's own shapes with batch 256 before and after the training loops, and
prints, and writes to --out as Markdown, s/epoch, samples/s, GFLOP/s, the fraction of the
convolution rate reached, the evaluation's share of the epoch and where a training step's time
goes (torch.profiler). benchmarks/README.md explains every number. A benchmark, not a test: it
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import limit_threads, options, page_faults, publish, sync, time_per_call


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    p = options(__doc__.split("\n")[0], "benchmarks/results-conv.md")
    p.add_argument("--max-train", type=int, default=None,
                   help="train on the first N training images only (default: all 60,000)")
    return p.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse_args()
    limit_threads(ARGS.threads)  # before NumPy or PyTorch loads a math library

import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.autograd import DeviceType  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from nnreport.data.registry import prepare  # noqa: E402
from nnreport.models.registry import CLASSIFICATION, build_model, family  # noqa: E402
from nnreport.training.backprop import BackpropStep, training_step  # noqa: E402
from nnreport.training.loop import (  # noqa: E402
    FusedAdamStep,
    ReconstructionStep,
    evaluate,
    make_optimizer,
    train,
)
from nnreport.training.runner import cpu_name, place, to_splits  # noqa: E402

TRAINING = {"optimizer": "adam", "lr": 1.0e-3, "batch_size": 256}
AUTOENCODER = {"model": "conv_autoencoder", "channels": 16, "kernel": 3, "blocks": 2,
               "bottleneck": 32, "sigma": 0.0}
CASES = [  # (label, hyper-parameters); the encoder classifiers read AUTOENCODER's encoder
    ("cnn", {"model": "cnn", "channels": 16, "kernel": 3, "blocks": 2, "p": 0.2, "dense": 128}),
    ("conv_autoencoder", AUTOENCODER),
    ("encoder_classifier, frozen",
     {"model": "encoder_classifier", "freeze": True, "dense": 128, "p": 0.0}),
    ("encoder_classifier, fine-tuned",
     {"model": "encoder_classifier", "freeze": False, "dense": 128, "p": 0.0}),
]
SEED, N_IN, N_CLASSES = 0, 784, 10
RATE_BATCH = 256  # the batch the convolution rate is timed at (TRAINING's)
EVAL_BATCH = 256  # loop.evaluate's batch for images (what loop.train uses; 2048 for flat rows)
OLD_EVAL_BATCH = 2048  # its batch for images before: timed beside it for comparison
PROFILE_STEPS = 20
aten = torch.ops.aten


def build(hparams: dict, device: str) -> nn.Module:
    """Return a freshly initialised model of `hparams` on `device`; a classifier on an encoder
    gets the encoder of a freshly built (untrained: this is timing only) autoencoder."""
    torch.manual_seed(SEED)
    encoder = None
    if hparams["model"] == "encoder_classifier":
        encoder = build_model(AUTOENCODER, n_in=N_IN, n_classes=N_CLASSES).encoder
    model = build_model(hparams, n_in=N_IN, n_classes=N_CLASSES, encoder=encoder)
    return place(model, torch.device(device), family(hparams["model"]))  # as a training job


def layer_table(model: nn.Module, example: torch.Tensor) -> list[dict]:
    """Return the model's convolutions and Linear layers in forward order, each with its module,
    per-sample input and output shapes, multiply-adds per sample (`macs`) and whether a
    training step computes its input gradient (`dx`: something before it is trained) and its
    weight gradient (`dw`: its weight is trained)."""
    rows, hooks = [], []

    def record(mod, inputs, output):
        x = inputs[0]
        kh, kw = getattr(mod, "kernel_size", (1, 1))
        if isinstance(mod, nn.ConvTranspose2d):  # every input pixel scatters into k*k outputs
            macs = x[0].numel() * (mod.out_channels // mod.groups) * kh * kw
            name = (f"ConvT {mod.in_channels}->{mod.out_channels} k{kh} s{mod.stride[0]}, "
                    f"{x.shape[-1]}->{output.shape[-1]}")
        elif isinstance(mod, nn.Conv2d):  # every output pixel gathers C_in*k*k inputs
            macs = output[0].numel() * (mod.in_channels // mod.groups) * kh * kw
            name = f"Conv {mod.in_channels}->{mod.out_channels} k{kh}, {output.shape[-1]}²"
        else:
            macs = mod.in_features * mod.out_features
            name = f"Linear {mod.in_features}->{mod.out_features}"
        rows.append({"name": name, "module": mod, "in": tuple(x.shape[1:]),
                     "out": tuple(output.shape[1:]), "macs": macs, "dx": x.requires_grad,
                     "dw": mod.weight.requires_grad})

    for mod in model.modules():
        if isinstance(mod, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            hooks.append(mod.register_forward_hook(record))
    model.train()
    with torch.enable_grad():
        model(example)
    for h in hooks:
        h.remove()
    return rows


def flop_per_sample(layers: list[dict]) -> tuple[int, int]:
    """Return (training, evaluation) FLOP per sample: forward 2M per layer of M multiply-adds;
    backward 2M for the weight gradient of a trained layer plus 2M for the input gradient of a
    layer that has something trained before it (not the first layer, nor a frozen encoder)."""
    fwd = sum(2 * r["macs"] for r in layers)
    return fwd + sum(2 * r["macs"] * (r["dx"] + r["dw"]) for r in layers), fwd


Op = tuple[str, str, bool, int, object]  # name, shapes, is a convolution, FLOP, function


def step_ops(layers: list[dict], batch: int, device: str) -> list[Op]:
    """Return the convolutions and matrix products of one training step at `batch`, as autograd
    runs them: (name, shape, is a convolution, FLOP, function)."""
    gen = torch.Generator().manual_seed(0)
    ops: list[Op] = []

    def randn(*shape):
        return torch.randn(*shape, generator=gen).to(device)

    for r in layers:
        mod, m = r["module"], batch * r["macs"]
        w = mod.weight.detach().clone()
        b = mod.bias.detach().clone() if mod.bias is not None else None
        x, gy = randn(batch, *r["in"]), randn(batch, *r["out"])
        shape = f"{tuple(x.shape)} w {tuple(w.shape)}"
        if isinstance(mod, nn.Linear):
            ops.append((f"{r['name']} fwd", shape, False, 2 * m,
                        lambda x=x, w=w, b=b: F.linear(x, w, b)))
            if r["dw"]:
                ops.append((f"{r['name']} dW", f"{tuple(gy.shape)}^T @ {tuple(x.shape)}", False,
                            2 * m, lambda x=x, gy=gy: torch.mm(gy.t(), x)))
            if r["dx"]:
                ops.append((f"{r['name']} dX", f"{tuple(gy.shape)} @ {tuple(w.shape)}", False,
                            2 * m, lambda w=w, gy=gy: torch.mm(gy, w)))
            continue
        transposed = isinstance(mod, nn.ConvTranspose2d)
        args = (list(mod.stride), list(mod.padding), list(mod.dilation), transposed,
                list(mod.output_padding), mod.groups)
        ops.append((f"{r['name']} fwd", shape, True, 2 * m,
                    lambda x=x, w=w, b=b, args=args: aten.convolution(x, w, b, *args)))
        if r["dx"] or r["dw"]:  # one call computes the gradients autograd asks for
            mask = [r["dx"], r["dw"], r["dw"] and b is not None]
            what = "+".join(n for n, on in (("dX", r["dx"]), ("dW", r["dw"])) if on)
            c_out = w.shape[1] * mod.groups if transposed else w.shape[0]
            bias_sizes = [c_out] if b is not None else None
            ops.append((f"{r['name']} bwd {what}", f"grad {tuple(gy.shape)}", True,
                        2 * m * (r["dx"] + r["dw"]),
                        lambda x=x, w=w, gy=gy, args=args, mask=mask, bs=bias_sizes:
                        aten.convolution_backward(gy, x, w, bs, *args, mask)))
    return ops


def op_rates(ops: list, device: str, seconds: float = 2.0) -> dict:
    """Return each op's GFLOP/s and page faults per call, and the rates of the step's
    convolutions run back to back (`conv`) and of all its ops (`all`)."""
    per_op = []
    for name, shape, _, flop, fn in ops:
        s, faults = time_per_call(fn, device, seconds / 2 / len(ops))
        per_op.append((name, shape, flop / s / 1e9, faults))
    out = {"ops": per_op}
    for key, chosen in (("conv", [o for o in ops if o[2]]), ("all", ops)):
        fns = [o[4] for o in chosen]

        def mix(fns=fns):
            for fn in fns:
                fn()

        s, faults = time_per_call(mix, device, seconds / 4)
        out[key], out[f"{key}_faults"] = sum(o[3] for o in chosen) / s / 1e9, faults
        out[f"{key}_flop"], out[f"{key}_n"] = sum(o[3] for o in chosen), len(chosen)
    return out


def settle_allocator() -> None:
    """Free one 30 MiB block, as the first validation batch of every training job does.

    glibc returns the top of its heap to the kernel once more than a threshold is free there,
    and raises that threshold (up to 64 MiB) when a block of up to 32 MiB that it had mapped
    on its own is freed. Until then a convolution timed alone in a loop gives back and
    re-faults its 12.8 MB output page by page at every call (6,240 faults, 10 ms against
    0.8 ms of arithmetic for the first layer at batch 256). A training job's first evaluation
    (batches of 2048) frees such blocks, so every epoch after the first runs with the raised
    threshold; this puts the rate timings in the same state from the start.
    """
    torch.empty(30 * 2**20 // 4).fill_(0)


def trainer_epochs(hparams: dict, splits: tuple, device: str, keep: dict):
    """Return a function(epochs) calling nnreport.training.loop.train as
    nnreport.training.runner.run_job does, on a fresh model; `keep['model']` is the last one."""
    train_split, val_split = splits
    fam = family(hparams["model"])

    def run(epochs: int) -> None:
        model = build(hparams, device)
        train(model, train_split, val_split, {**hparams, **TRAINING}, epochs, SEED,
              task=fam.task)
        sync(device)
        keep["model"] = model

    return run


def measure(run, epochs: int, repeats: int) -> tuple[list[float], int]:
    """Return seconds per epoch of `repeats` measurements of `epochs` epochs, after a warm-up,
    and the minor page faults during the measurements."""
    run(1)
    out, f0 = [], page_faults()
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(epochs)
        out.append((time.perf_counter() - t0) / epochs)
    return out, page_faults() - f0


def eval_seconds(model: nn.Module, val_split, task, device: str, repeats: int,
                 batch: int | None = None) -> tuple[float, float]:
    """Return the median seconds of one evaluation of the validation split, as train() does it
    at the end of every epoch (or in batches of `batch`), and the page faults per evaluation."""
    kwargs = {"batch": batch} if batch else {}
    evaluate(model, val_split, task, **kwargs)
    times, f0 = [], page_faults()
    for _ in range(repeats):
        t0 = time.perf_counter()
        evaluate(model, val_split, task, **kwargs)
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), (page_faults() - f0) / repeats


CATEGORIES = [  # (column, test on an aten op's name), the first that matches
    ("conv fwd", lambda k: "conv" in k and "backward" not in k),
    ("conv bwd", lambda k: "conv" in k),
    ("matmul", lambda k: k in ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear")),
    ("max-pool", lambda k: "max_pool" in k),
    ("activation", lambda k: any(a in k for a in ("relu", "clamp_min", "threshold_backward",
                                                   "sigmoid"))),
    ("fill/zero", lambda k: k in ("aten::fill_", "aten::zero_", "aten::zeros")),
    ("optimiser", lambda k: "fused_adam" in k or k.startswith("Optimizer.")),
]


def profile_steps(hparams: dict, splits: tuple, device: str, n_steps: int) -> dict:
    """Return where `n_steps` training steps spend their time (ms per step by CATEGORIES, plus
    other ops and the time in no op at all), set up as loop.train sets up its steps."""
    train_split = splits[0]
    fam = family(hparams["model"])
    hp = {**hparams, **TRAINING}
    model = build(hparams, device)
    gen = torch.Generator(device=device).manual_seed(SEED)
    opt = make_optimizer(hp, [p for p in model.parameters() if p.requires_grad])
    step = (training_step(model) if fam.task == CLASSIFICATION
            else ReconstructionStep(model, hp.get("sigma") or 0.0, gen))
    opt_step = (FusedAdamStep(opt) if isinstance(step, BackpropStep) and FusedAdamStep.covers(opt)
                else opt.step)
    model.train()
    bs, n = TRAINING["batch_size"], len(train_split.y)
    perm = torch.randperm(n, device=device, generator=gen)

    def steps(k: int) -> None:
        for i in range(k):
            idx = perm[(i * bs) % (n - bs + 1):][:bs]
            step(train_split.inputs(idx), train_split.y.index_select(0, idx))
            opt_step()
        sync(device)

    steps(3)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        steps(n_steps)
        wall = time.perf_counter() - t0
    ms = {c: 0.0 for c, _ in CATEGORIES} | {"other ops": 0.0}
    for ev in prof.key_averages():
        if ev.device_type != DeviceType.CPU:
            continue  # on a GPU each kernel's time is counted in the op that launched it
        t = ev.self_device_time_total if device == "cuda" else ev.self_cpu_time_total
        cat = next((c for c, test in CATEGORIES if test(ev.key)), "other ops")
        ms[cat] += t / 1e3 / n_steps
    busy = sum(ms.values())
    ms["in no op"] = max(0.0, wall * 1e3 / n_steps - busy) if device == "cpu" else float("nan")
    return {"wall": wall * 1e3 / n_steps, "ms": ms}


def render(args: argparse.Namespace, rows: list[dict], n: tuple[int, int]) -> str:
    """Return the figures as Markdown."""
    n_train, n_val = n
    device = args.device + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
    cut = (f"the first {n_train:,} of the 60,000 training images (--max-train)"
           if args.max_train else f"{n_train:,} training images")
    lines = [
        "# Training speed: convolutional families on FashionMNIST", "",
        f"`{' '.join(['.venv/bin/python', *sys.argv])}`", "",
        f"- machine: {cpu_name()}, {os.cpu_count()} logical "
        f"CPUs; device {device}; threads {args.threads} (torch.get_num_threads() = "
        f"{torch.get_num_threads()})",
        f"- torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}, oneDNN "
        f"{'on' if torch.backends.mkldnn.is_available() else 'off'}), numpy {np.__version__}, "
        f"Python {platform.python_version()}",
        f"- {cut} and {n_val:,} validation images; {args.epochs} epochs per measurement, "
        f"median of {args.repeats} after 1 warm-up epoch, a new model and optimiser for each; "
        "an epoch is one pass over the training images plus one evaluation of the validation "
        "images, as nnreport.training.loop.train runs it",
        f"- training: {TRAINING} for every family; the encoder classifiers read the encoder of "
        f"a freshly built (untrained) autoencoder {AUTOENCODER}", "",
        "## FLOP per sample, counted from the layer shapes", "",
        "M = multiply-adds per sample of a layer (Conv: output pixels x C_in x k²; ConvT: "
        "input pixels x C_out x k²; Linear: n_in x n_out), 2 FLOP each. Forward 2M; backward "
        "2M for the weight gradient (dW) of a trained layer and 2M for the input gradient (dX) "
        "of a layer with a trained layer before it. Bias, activations, pooling, dropout, the "
        "loss and the optimiser are not counted.", "",
        "| model | layer | input -> output | M per sample | dX | dW |",
        "|---|---|---|---:|:-:|:-:|",
    ]
    for r in rows:
        for layer in r["layers"]:
            lines.append(f"| {r['label']} | {layer['name']} | {layer['in']} -> {layer['out']} | "
                         f"{layer['macs']:,} | {'yes' if layer['dx'] else '-'} | "
                         f"{'yes' if layer['dw'] else '-'} |")
    lines += ["", "| model | parameters trained | M per sample | training FLOP per sample | "
              "evaluation FLOP per sample | GFLOP per epoch |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['params']:,} | "
                     f"{sum(la['macs'] for la in r['layers']):,} | {r['f_train']:,} | "
                     f"{r['f_eval']:,} | {r['epoch_flop'] / 1e9:.2f} |")
    lines += ["", f"## Convolution rate at each family's layer shapes (batch {RATE_BATCH})", "",
              "`aten.convolution` (what F.conv2d and F.conv_transpose2d call) and "
              "`aten.convolution_backward` with the gradients autograd asks for; the Linear "
              "layers' matrix products beside them. Each op alone, then the step's "
              "convolutions back to back (the **conv rate**) and all its ops back to back (the "
              "**op-mix rate**), timed before and after the training loops; the higher of the "
              "two counts.", "",
              "| model | op | shapes | GFLOP/s | page faults per call |",
              "|---|---|---|---:|---:|"]
    for r in rows:
        rate = r["rates"]
        for name, shape, gflops, faults in rate["ops"]:
            lines.append(f"| {r['label']} | {name} | {shape} | {gflops:.1f} | {faults:,.0f} |")
        for key, what in (("conv", "convolutions"), ("all", "all ops")):
            before, after = r["rate_runs"][key]
            lines.append(f"| {r['label']} | **{what} back to back** | {rate[f'{key}_n']} ops, "
                         f"{rate[f'{key}_flop'] / 1e6:.1f} MFLOP | **{max(before, after):.1f}** "
                         f"(before {before:.1f}, after {after:.1f}) | "
                         f"{rate[f'{key}_faults']:,.0f} |")
    lines += ["", "## Training", "",
              "| model | s/epoch (median) | all s/epoch | samples/s | GFLOP/s | % of conv rate "
              "| % of op-mix rate | page faults per training step |",
              "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['s']:.3f} | {', '.join(f'{x:.3f}' for x in r['all'])}"
                     f" | {n_train / r['s']:,.0f} | {r['gflops']:.1f} | "
                     f"{100 * r['gflops'] / r['conv_rate']:.0f}% | "
                     f"{100 * r['gflops'] / r['all_rate']:.0f}% | {r['faults_per_step']:,.0f} |")
    lines += ["", f"## Evaluation of the {n_val:,} validation images (median of {args.repeats})",
              "", f"| model | s, in batches of {EVAL_BATCH} (as train) | share of the epoch "
              f"| GFLOP/s | page faults | s, in batches of {OLD_EVAL_BATCH} | "
              "page faults |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['eval_s']:.3f} | {100 * r['eval_s'] / r['s']:.0f}% | "
                     f"{n_val * r['f_eval'] / r['eval_s'] / 1e9:.1f} | "
                     f"{r['eval_faults']:,.0f} | {r['eval_old_s']:.3f} | "
                     f"{r['eval_old_faults']:,.0f} |")
    cats = list(rows[0]["profile"]["ms"])
    lines += ["", f"## Where a training step's time goes (torch.profiler, {PROFILE_STEPS} steps "
              f"of batch {TRAINING['batch_size']}, ms per step)", "",
              "Self time of the ops in each group"
              + (" on the GPU" if args.device == "cuda" else "")
              + "; `in no op` is the rest of the wall-clock time (Python, autograd's engine, "
              "the profiler itself). The profiler slows the step down a little.", "",
              "| model | wall ms/step | " + " | ".join(cats) + " |",
              "|---|---:|" + "---:|" * len(cats)]
    for r in rows:
        p = r["profile"]
        lines.append(f"| {r['label']} | {p['wall']:.1f} | "
                     + " | ".join(f"{p['ms'][c]:.1f} ({100 * p['ms'][c] / p['wall']:.0f}%)"
                                  if not math.isnan(p["ms"][c]) else "-" for c in cats) + " |")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)  # silence the trainers' per-epoch lines
    torch.set_num_threads(args.threads)
    # as run_job does without `tf32: true` (cuDNN's own default would be TF32 convolutions)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    device = args.device
    data = prepare({"name": "fashion_mnist", "root": None, "download_dir": None, "n_train": 60000,
                    "n_val": 10000, "split_seed": 0})
    run = {"seed": SEED, "max_train": args.max_train}
    settle_allocator()
    rows = []
    for label, hp in CASES:
        fam = family(hp["model"])
        *splits, _ = to_splits(data, {**run, "hparams": hp}, torch.device(device), fam)
        model = build(hp, device)
        layers = layer_table(model, splits[0].inputs(slice(0, 2)))
        f_train, f_eval = flop_per_sample(layers)
        n_train, n_val = len(splits[0].y), len(splits[1].y)
        ops = step_ops(layers, RATE_BATCH, device)
        rows.append({"label": label, "hp": hp, "splits": splits, "fam": fam, "layers": layers,
                     "f_train": f_train, "f_eval": f_eval, "ops": ops,
                     "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
                     "epoch_flop": n_train * f_train + n_val * f_eval,
                     "rates": op_rates(ops, device)})
        print(f"  {label}: conv rate {rows[-1]['rates']['conv']:.1f} GFLOP/s, op mix "
              f"{rows[-1]['rates']['all']:.1f}", flush=True)
    for r in rows:
        keep: dict = {}
        secs, faults = measure(trainer_epochs(r["hp"], r["splits"], device, keep), args.epochs,
                               args.repeats)
        r["s"], r["all"] = statistics.median(secs), secs
        r["gflops"] = r["epoch_flop"] / r["s"] / 1e9
        r["eval_s"], r["eval_faults"] = eval_seconds(keep["model"], r["splits"][1],
                                                     r["fam"].task, device, args.repeats)
        r["eval_old_s"], r["eval_old_faults"] = eval_seconds(
            keep["model"], r["splits"][1], r["fam"].task, device, args.repeats,
            batch=OLD_EVAL_BATCH)
        # the measured epochs' faults less their evaluations', per training step
        steps = math.ceil(len(r["splits"][0].y) / TRAINING["batch_size"])
        n_epochs = args.repeats * args.epochs
        r["faults_per_step"] = max(0.0, faults - n_epochs * r["eval_faults"]) / (n_epochs * steps)
        print(f"  {r['label']}: s/epoch {', '.join(f'{x:.3f}' for x in secs)}; evaluation "
              f"{r['eval_s']:.3f} s", flush=True)
    for r in rows:
        r["profile"] = profile_steps(r["hp"], r["splits"], device, PROFILE_STEPS)
    # The rates again after the loops: the machine's speed drifts; the higher one counts.
    for r in rows:
        again = op_rates(r["ops"], device)
        r["rate_runs"] = {k: (r["rates"][k], again[k]) for k in ("conv", "all")}
        if again["conv"] > r["rates"]["conv"]:
            r["rates"] = again
        r["conv_rate"] = max(r["rate_runs"]["conv"])
        r["all_rate"] = max(r["rate_runs"]["all"])
    n = (len(rows[0]["splits"][0].y), len(rows[0]["splits"][1].y))
    text = render(args, rows, n)
    publish(text, args.out)


if __name__ == "__main__":
    main(ARGS)
