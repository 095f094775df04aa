"""The GPU paths in one command (`make gpu-check`), for the few minutes a GPU machine is lent.

    python benchmarks/gpu_check.py [--out benchmarks/results-gpu.md] [--budget 480]

On a machine with a CUDA GPU it runs, each under its own time limit and together within
--budget seconds: the tests that need CUDA (PyTorch, and CuPy where it imports), the training
benchmark on the GPU (s/epoch of the base MLP against the GPU's measured GEMM rate, same
process), the convolutional benchmark on the GPU (the base CNN), the from-scratch MLP on CuPy
against NumPy on the same data, and the default grid end to end with `device: cuda` (wall time,
the runs' summed training time and their ratio), and writes what each step printed and measured
to --out. Without a GPU it says so and exits 0: nothing here can be checked on a CPU.
A check, not a test: a failing step is reported in --out and in the exit code (1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="benchmarks/results-gpu.md", help="Markdown of the results")
    p.add_argument("--budget", type=float, default=480.0, help="seconds for all the steps")
    return p.parse_args(argv)


def gpu_name() -> str | None:
    """Return the name of the CUDA GPU PyTorch sees, None when there is none (or no PyTorch)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def run_step(name: str, cmd: list[str], limit: float, cwd: Path = ROOT) -> dict:
    """Run one step's command under `limit` seconds; return its outcome and output's tail."""
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=limit)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = "timeout"
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
    seconds = time.monotonic() - t0
    print(f"  {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {seconds:.0f} s", flush=True)
    return {"name": name, "command": " ".join(cmd), "code": code, "seconds": seconds,
            "tail": out[-3000:]}


def scratch_cupy_vs_numpy(limit: float, libraries: tuple[str, ...] = ("numpy", "cupy")) -> dict:
    """Time an epoch of the from-scratch base MLP on NumPy and on CuPy, same data and seed."""
    code = f"""
import sys, time, json
sys.path.insert(0, {str(ROOT / "src")!r})
import numpy as np
from nnreport.training.scratch.backend import get_xp
from nnreport.training.scratch.train import build_mlp, train
hp = {{"n1": 128, "n2": 64, "optimizer": "adam", "lr": 1e-3, "batch_size": 256}}
rng = np.random.default_rng(0)
x = rng.normal(size=(60000, 784)).astype(np.float32); y = rng.integers(0, 10, 60000)
vx, vy = x[:10000], y[:10000]
out = {{}}
for name in {list(libraries)!r}:
    xp = np if name == "numpy" else get_xp("cuda")
    data = [xp.asarray(a) for a in (x, y, vx, vy)]
    for epochs in (1, 2):  # the first warms CuPy's kernels up; the second is timed
        model = build_mlp(hp, 784, 10, 0, xp)
        t0 = time.perf_counter()
        hist = train(model, *data, hp, epochs, 0, xp)
    out[name] = {{"s_per_epoch": (time.perf_counter() - t0) / 2,
                  "final_val_loss": hist.rows[-1]["loss"]}}
print(json.dumps(out))
"""
    step = run_step("from-scratch MLP: CuPy against NumPy", [sys.executable, "-c", code], limit)
    if step["code"] == 0:
        step["measured"] = json.loads(step["tail"].strip().splitlines()[-1])
    return step


def default_grid(limit: float) -> dict:
    """Build the default study end to end with device: cuda in a scratch folder; add its wall
    time, the runs' summed training time and their ratio."""
    snakemake = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which(
        "snakemake")
    if snakemake is None:
        return {"name": "default grid, device: cuda", "command": "snakemake", "code": "missing",
                "seconds": 0.0, "tail": "snakemake is not installed here"}
    work = Path(tempfile.mkdtemp(prefix="nnreport-gpu-grid-"))
    shutil.copytree(ROOT / "report" / "sections", work / "report" / "sections")
    shutil.copy(ROOT / "report" / "refs.bib", work / "report" / "refs.bib")
    cores = str(os.cpu_count() or 1)
    step = run_step("default grid, device: cuda",
                    [snakemake, "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", cores,
                     "--configfile", str(ROOT / "config.yaml"), "--config", "device=cuda"],
                    limit, cwd=work)
    runs = [json.loads(p.read_text()) for p in (work / "results").rglob("run.json")]
    if runs:
        train = sum(r["train_seconds"] for r in runs)
        step["measured"] = {"runs": len(runs), "wall_s": step["seconds"], "train_s": train,
                            "devices": sorted({r["device_name"] for r in runs}),
                            "wall_over_train": step["seconds"] / train}
    return step


def render(gpu: str, steps: list[dict]) -> str:
    """Return the results as Markdown."""
    lines = [f"# GPU check: {gpu}", "", f"`{' '.join([sys.executable, *sys.argv])}`", ""]
    for s in steps:
        verdict = "ok" if s["code"] == 0 else f"FAILED ({s['code']})"
        lines += [f"## {s['name']}: {verdict}, {s['seconds']:.0f} s", "", f"`{s['command']}`",
                  ""]
        if s.get("measured"):
            lines += ["```json", json.dumps(s["measured"], indent=2), "```", ""]
        lines += ["```", s["tail"].strip()[-1500:], "```", ""]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    gpu = gpu_name()
    if gpu is None:
        print("gpu-check: no CUDA GPU here (torch.cuda.is_available() is False): nothing to "
              "check on this machine; run `make gpu-check` where there is one")
        return 0
    print(f"gpu-check on {gpu}, {args.budget:.0f} s in all", flush=True)
    start, py = time.monotonic(), sys.executable

    def left(share: float) -> float:
        return max(10.0, min(share, args.budget - (time.monotonic() - start)))

    steps = [
        run_step("CUDA tests", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                                "-k", "cuda or cupy"], left(90)),
        run_step("training benchmark on the GPU",
                 [py, "benchmarks/bench_training.py", "--device", "cuda", "--epochs", "1",
                  "--repeats", "2", "--out", "benchmarks/results-gpu-training.md"], left(120)),
        run_step("convolutional benchmark on the GPU",
                 [py, "benchmarks/bench_conv.py", "--device", "cuda", "--epochs", "1",
                  "--repeats", "2", "--out", "benchmarks/results-gpu-conv.md"], left(90)),
        scratch_cupy_vs_numpy(left(60)),
    ]
    steps.append(default_grid(left(args.budget)))
    text = render(gpu, steps)
    Path(args.out).write_text(text)
    print(f"written to {args.out}")
    return 0 if all(s["code"] == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main(parse_args()))
