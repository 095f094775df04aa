"""Training speed of the base MLP: DataLoader loops, the project's trainers, the GEMM rate.

    .venv/bin/python benchmarks/bench_training.py [--epochs 2] [--repeats 3] [--threads 1]

In one process, on the full FashionMNIST split, it trains config.yaml's base config with the
typical torchvision DataLoader loops (a, a0), the project's trainer nnreport.training.loop.train
fed as nnreport.training.runner.run_job feeds it (b; b0 at p=0; b1 with autograd instead of the
hand-written backward pass), the from-scratch NumPy back-end (c), a student's own module of the
same structure loaded from benchmarks/user_mlp.py (d; autograd) and the student's own
from-scratch class of examples/mi_mlp_numpy.py (e, beside c); it
times torch.mm and NumPy's @ at one training step's matrix shapes and prints, and writes to
--out as Markdown, s/epoch, samples/s, GFLOP/s and the fraction of the GEMM rate reached.
benchmarks/README.md explains every number. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import limit_threads, options, publish, sync, time_per_call


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    p = options(__doc__.split("\n")[0], "benchmarks/results.md")
    return p.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse_args()
    limit_threads(ARGS.threads)  # before NumPy or PyTorch loads a math library

import logging  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

from nnreport.base.usercode import parse_target  # noqa: E402
from nnreport.data.registry import prepare  # noqa: E402
from nnreport.models.registry import build_model  # noqa: E402
from nnreport.models.user_scratch import ScratchModel  # noqa: E402
from nnreport.training.loop import train  # noqa: E402
from nnreport.training.runner import cpu_name, to_splits  # noqa: E402
from nnreport.training.scratch.backend import get_xp  # noqa: E402
from nnreport.training.scratch.train import build_mlp  # noqa: E402
from nnreport.training.scratch.train import train as scratch_train  # noqa: E402

BASE = {"model": "mlp", "n1": 128, "n2": 64, "p": 0.2, "optimizer": "adam",
        "batch_size": 256, "lr": 1.0e-3}  # config.yaml's `base`
SEED = 0


def flop_per_sample(sizes: list[int]) -> tuple[int, int]:
    """Return (training, evaluation) FLOP per sample: (6P - 2*n0*n1, 2P), P the multiply-adds.

    Forward 2P; backward 2P for dW plus 2(P - n0*n1) for dX of every layer but the first.
    """
    p = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return 6 * p - 2 * sizes[0] * sizes[1], 2 * p


def step_gemms(sizes: list[int], batch: int) -> list[tuple[str, tuple, tuple, bool, bool]]:
    """Return the GEMMs of one training step: (name, A shape, B shape, A transposed, B transp.)."""
    ops = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False), start=1):
        ops.append((f"L{i} fwd  x@W^T", (batch, n_in), (n_out, n_in), False, True))
        ops.append((f"L{i} dW   g^T@x", (batch, n_out), (batch, n_in), True, False))
        if i > 1:
            ops.append((f"L{i} dX   g@W", (batch, n_out), (n_out, n_in), False, False))
    return ops


def gemm_rate(lib: str, sizes: list[int], batch: int, device: str,
              seconds: float = 1.0) -> tuple[float, list[tuple[str, str, float]]]:
    """Return (GFLOP/s of the whole step's GEMM mix, per-GEMM (name, shape, GFLOP/s))."""
    rng = np.random.default_rng(0)
    ops, per_op, mix_flop = [], [], 0
    for name, sa, sb, ta, tb in step_gemms(sizes, batch):
        a = rng.standard_normal(sa, dtype=np.float32)
        b = rng.standard_normal(sb, dtype=np.float32)
        if lib == "torch":
            a, b = torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)
            a, b = (a.t() if ta else a), (b.t() if tb else b)
            fn = (lambda a=a, b=b: torch.mm(a, b))  # noqa: E731
        else:
            a, b = (a.T if ta else a), (b.T if tb else b)
            fn = (lambda a=a, b=b: a @ b)  # noqa: E731
        flop = 2 * a.shape[0] * a.shape[1] * b.shape[1]
        shape = f"({a.shape[0]}x{a.shape[1]})@({b.shape[0]}x{b.shape[1]})"
        per_op.append((name, shape, flop / time_per_call(fn, device, seconds / 8)[0] / 1e9))
        ops.append(fn)
        mix_flop += flop

    def mix():
        for fn in ops:
            fn()

    return mix_flop / time_per_call(mix, device, seconds)[0] / 1e9, per_op


class ArrayFashionMNIST(datasets.FashionMNIST):
    """torchvision's FashionMNIST (its __getitem__: uint8 -> PIL -> transform) over given arrays."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        datasets.VisionDataset.__init__(self, root=None, transform=transform)
        self.data, self.targets = torch.from_numpy(images), torch.from_numpy(labels)


def dataloader_epochs(data, norm: dict | None, device: str):
    """Return a function(epochs) running the tutorial loop (train, then test) on a fresh model;
    the transform is ToTensor, then Normalize(mean, std) when `norm` is given."""
    tf = transforms.ToTensor()
    if norm is not None:
        tf = transforms.Compose([tf, transforms.Normalize((norm["mean"],), (norm["std"],))])
    train_ds = ArrayFashionMNIST(data.images[data.train_idx], data.labels[data.train_idx], tf)
    val_ds = ArrayFashionMNIST(data.images[data.val_idx], data.labels[data.val_idx], tf)
    bs = BASE["batch_size"]

    def run(epochs: int) -> None:
        torch.manual_seed(SEED)
        model = build_model(BASE, n_in=784, n_classes=10).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=BASE["lr"])
        train_loader = DataLoader(train_ds, batch_size=bs, shuffle=True, num_workers=0)
        val_loader = DataLoader(val_ds, batch_size=bs, shuffle=False, num_workers=0)
        for _ in range(epochs):
            model.train()
            for xb, yb in train_loader:  # (B, 1, 28, 28), (B,)
                xb, yb = xb.to(device), yb.to(device)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                _ = loss.item()  # the tutorial's running loss: one sync per step
            model.eval()
            total, correct = 0.0, 0
            with torch.no_grad():
                for xb, yb in val_loader:
                    xb, yb = xb.to(device), yb.to(device)
                    logits = model(xb)
                    total += F.cross_entropy(logits, yb, reduction="sum").item()
                    correct += (logits.argmax(1) == yb).sum().item()
        sync(device)

    return run


def trainer_epochs(splits: tuple, device: str, hparams: dict, autograd: bool = False):
    """Return a function(epochs) calling nnreport.training.loop.train as
    nnreport.training.runner.run_job does (with `autograd`: its autograd step instead of the
    hand-written one)."""
    train_split, val_split = splits

    def run(epochs: int) -> None:
        torch.manual_seed(SEED)
        model = build_model(hparams, n_in=train_split.x.shape[1], n_classes=10).to(device)
        train(model, train_split, val_split, hparams, epochs, SEED, autograd=autograd)
        sync(device)

    return run


USER_MLP = {**BASE, "model": "benchmarks/user_mlp.py:MLPDelUsuario"}
USER_SCRATCH = {"model": "examples/mi_mlp_numpy.py:MiMLP", "backend": "numpy", "n1": 128,
                "n2": 64, "optimizer": "adam", "batch_size": 256, "lr": 1.0e-3}


def user_module_epochs(splits: tuple, device: str, hparams: dict):
    """Return a function(epochs) training a user's module as run_job does: its (B, 1, 28, 28)
    images, autograd (it is no built-in MLP), PyTorch's own layers."""
    flat_train, flat_val = splits
    images = [type(s)(s.x.view(len(s.x), 1, 28, 28), s.y, s.scale, s.shift)
              for s in (flat_train, flat_val)]

    def run(epochs: int) -> None:
        torch.manual_seed(SEED)
        model = build_model(hparams, n_in=784, n_classes=10, input_shape=(1, 28, 28))
        train(model.to(device), *images, hparams, epochs, SEED)
        sync(device)

    return run


def user_scratch_epochs(splits: tuple, xp):
    """Return a function(epochs) training the example from-scratch class (backend: numpy) as
    run_job does: behind ScratchModel, with the from-scratch trainer."""
    tx, ty, vx, vy = (xp.asarray(t.cpu().numpy()) for s in splits
                      for t in (s.inputs(slice(None)), s.y))
    target = parse_target(USER_SCRATCH["model"])

    def run(epochs: int) -> None:
        model = ScratchModel(target, USER_SCRATCH, (1, 28, 28), 10, SEED, xp)
        scratch_train(model, tx, ty, vx, vy, USER_SCRATCH, epochs, SEED, xp)
        if xp is not np:
            xp.cuda.Device().synchronize()

    return run


def scratch_epochs(splits: tuple, xp):
    """Return a function(epochs) calling the from-scratch trainer at the base config."""
    tx, ty, vx, vy = (xp.asarray(t.cpu().numpy()) for s in splits
                      for t in (s.inputs(slice(None)), s.y))  # normalised float32, as run_job

    def run(epochs: int) -> None:
        model = build_mlp(BASE, n_in=784, n_classes=10, seed=SEED, xp=xp)
        scratch_train(model, tx, ty, vx, vy, BASE, epochs, SEED, xp)
        if xp is not np:
            xp.cuda.Device().synchronize()

    return run


def measure(run, epochs: int, repeats: int) -> list[float]:
    """Return seconds per epoch of `repeats` measurements of `epochs` epochs, after a warm-up."""
    run(1)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(epochs)
        out.append((time.perf_counter() - t0) / epochs)
    return out


def render(args: argparse.Namespace, rows: list[dict], gemm: dict, n: tuple[int, int]) -> str:
    """Return the figures as Markdown."""
    sizes, bs = [784, BASE["n1"], BASE["n2"], 10], BASE["batch_size"]
    (f_train, f_eval), (n_train, n_val) = flop_per_sample(sizes), n
    p = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    device = args.device + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
    lines = [
        "# Training speed: base MLP 784-128-64-10 on FashionMNIST", "",
        f"`{' '.join(['.venv/bin/python', *sys.argv])}`", "",
        f"- machine: {cpu_name()}, {os.cpu_count()} logical "
        f"CPUs; device {device}; threads {args.threads} (torch.get_num_threads() = "
        f"{torch.get_num_threads()})",
        f"- torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
        f"numpy {np.__version__}, Python {platform.python_version()}",
        f"- base config: {BASE}; {n_train:,} training and {n_val:,} validation images; "
        f"{args.epochs} epochs per measurement, median of {args.repeats} after 1 warm-up epoch; "
        "an epoch is one pass over the training images plus one evaluation of the validation set",
        f"- FLOP per training sample = 6P - 2*784*128 = {f_train:,}, with P = 784*128 + 128*64 + "
        f"64*10 = {p:,} multiply-adds and 2 FLOP per multiply-add (forward 2P, backward 4P less "
        f"the unneeded input gradient of layer 1); per validation sample 2P = {f_eval:,}; per "
        f"epoch {(n_train * f_train + n_val * f_eval) / 1e9:.2f} GFLOP. GFLOP/s = that / s/epoch",
        "- (c) has no dropout (the from-scratch back-end does not implement it); (b0) is the "
        "PyTorch trainer at that same config (p=0) and (c) is compared with it; (b1) is (b) "
        "with gradients from autograd instead of the hand-written backward pass "
        "(nnreport.training.backprop), compared with (b); (d) is a student's own nn.Module "
        "of (b)'s structure (benchmarks/user_mlp.py, PyTorch's Dropout, autograd), trained "
        "through `model: file.py:Class`, compared with (b); (e) is the example from-scratch "
        "class examples/mi_mlp_numpy.py (no dropout) through `backend: numpy`, compared with "
        "(c)", "",
        f"## GEMM rate at one training step's shapes (batch {bs})", "",
        "| GEMM | shape | torch.mm GFLOP/s | numpy @ GFLOP/s |", "|---|---|---:|---:|",
        *(f"| {name} | {shape} | {r:.1f} | {r2:.1f} |" for (name, shape, r), (_, _, r2)
          in zip(gemm["torch_ops"], gemm["numpy_ops"], strict=True)),
        f"| **the step's mix** | {len(gemm['torch_ops'])} GEMMs, {bs * f_train / 1e6:.1f} "
        f"MFLOP | **{gemm['torch']:.1f}** | **{gemm['numpy']:.1f}** |", "",
        "The mix is timed before and after the training loops (torch.mm "
        f"{gemm['torch_runs'][0]:.1f} and {gemm['torch_runs'][1]:.1f}, NumPy "
        f"{gemm['numpy_runs'][0]:.1f} and {gemm['numpy_runs'][1]:.1f} GFLOP/s); the higher "
        "figure is the one the training loops are held against.", "",
        "## Training", "",
        "| loop | s/epoch (median) | all s/epoch | epochs/s | samples/s | GFLOP/s "
        "| % of GEMM rate | speed-up |", "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ref = rows[r["ref"]] if r["ref"] is not None else r
        lines.append(f"| {r['label']} | {r['s']:.3f} | {', '.join(f'{x:.3f}' for x in r['all'])}"
                     f" | {1 / r['s']:.2f} | {n_train / r['s']:,.0f} | {r['gflops']:.1f} | "
                     f"{100 * r['gflops'] / r['rate']:.0f}% | {ref['s'] / r['s']:.2f}x vs "
                     f"{ref['label'].split()[0]} |")
    b = rows[2]
    lines += ["", "## The issue's criteria (medians)", ""]
    for a in rows[:2]:
        ratio = a["s"] / b["s"]
        lines.append(f"- trainer (b) vs {a['label']}, same process: {ratio:.2f}x faster per "
                     f"epoch (target >= 7x): {'met' if ratio >= 7 else 'NOT met'}")
    frac = b["gflops"] / b["rate"]
    lines += [f"- trainer (b) reaches {100 * frac:.0f}% of the measured GEMM rate "
              f"(target >= 70%): {'met' if frac >= 0.7 else 'NOT met'}", ""]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)  # silence the trainers' per-epoch lines
    torch.set_num_threads(args.threads)
    device = args.device
    sizes, bs = [784, BASE["n1"], BASE["n2"], 10], BASE["batch_size"]
    f_train, f_eval = flop_per_sample(sizes)
    data = prepare({"name": "fashion_mnist", "root": None, "download_dir": None, "n_train": 60000,
                    "n_val": 10000, "split_seed": 0})
    *splits, norm = to_splits(data, {"seed": SEED}, torch.device(device))  # as run_job does
    n_train, n_val = len(splits[0].y), len(splits[1].y)
    epoch_flop = n_train * f_train + n_val * f_eval

    gemm: dict = {}
    gemm["torch"], gemm["torch_ops"] = gemm_rate("torch", sizes, bs, device)
    gemm["numpy"], gemm["numpy_ops"] = gemm_rate("numpy", sizes, bs, "cpu")
    try:
        xp = get_xp(device)  # CuPy on a GPU, NumPy on the CPU
    except RuntimeError:  # a GPU without CuPy: the from-scratch back-end runs on the CPU
        xp = np
    scratch_lib = "numpy" if xp is np else "torch"
    cases = [  # (label, run, GEMM rate it is held against, index of the case it is compared to)
        ("(a) DataLoader, ToTensor+Normalize", dataloader_epochs(data, norm, device), "torch",
         None),
        ("(a0) DataLoader, ToTensor only", dataloader_epochs(data, None, device), "torch", 0),
        ("(b) nnreport.training.loop.train", trainer_epochs(splits, device, BASE), "torch", 0),
        ("(b0) nnreport.training.loop.train, p=0",
         trainer_epochs(splits, device, {**BASE, "p": 0.0}), "torch", 0),
        (f"(c) scratch {'NumPy' if xp is np else 'CuPy'}, no dropout",
         scratch_epochs(splits, xp), scratch_lib, 3),
        ("(b1) nnreport.training.loop.train, autograd step",
         trainer_epochs(splits, device, BASE, autograd=True), "torch", 2),
        ("(d) a student's nn.Module (user_mlp.py), autograd",
         user_module_epochs(splits, device, USER_MLP), "torch", 2),
        (f"(e) a student's from-scratch class (mi_mlp_numpy.py), "
         f"{'NumPy' if xp is np else 'CuPy'}", user_scratch_epochs(splits, xp), scratch_lib, 4),
    ]
    rows = []
    for label, run, lib, ref in cases:
        secs = measure(run, args.epochs, args.repeats)
        s = statistics.median(secs)
        print(f"  {label}: s/epoch {', '.join(f'{x:.3f}' for x in secs)}", flush=True)
        rows.append({"label": label, "s": s, "all": secs, "lib": lib, "ref": ref,
                     "gflops": epoch_flop / s / 1e9})
    # The GEMM rate again after the loops: the machine's speed drifts; the higher one counts.
    for lib in ("torch", "numpy"):
        again, _ = gemm_rate(lib, sizes, bs, device if lib == "torch" else "cpu")
        gemm[f"{lib}_runs"] = (gemm[lib], again)
        gemm[lib] = max(gemm[lib], again)
    for r in rows:
        r["rate"] = gemm[r["lib"]]
    text = render(args, rows, gemm, (n_train, n_val))
    publish(text, args.out)


if __name__ == "__main__":
    main(ARGS)
