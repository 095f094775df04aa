"""What the benchmarks share: their common options, the thread limit set before NumPy or
PyTorch loads, and waiting for a GPU's queued work."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path


def options(description: str, out: str) -> argparse.ArgumentParser:
    """Return a parser with the options every benchmark takes (`out`: its default Markdown)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=2, help="epochs per measurement (default 2)")
    p.add_argument("--repeats", type=int, default=3, help="measurements; the median is shown")
    p.add_argument("--threads", type=int, default=1, help="math-library threads (default 1)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="training device")
    p.add_argument("--out", default=out, help="Markdown file of the figures")
    return p


def limit_threads(threads: int) -> None:
    """Limit every math library to `threads` (before NumPy or PyTorch loads one) and make the
    package importable from the repository's src/."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def sync(device: str) -> None:
    """Wait for the GPU's queued work (a no-op on the CPU)."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def publish(text: str, out: str) -> None:
    """Print the benchmark's Markdown and write it to `out`."""
    print("\n" + text)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    print(f"written to {out}")


def page_faults() -> int:
    """Return the process's minor page faults so far (the kernel handing it fresh memory)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_per_call(fn, device: str, seconds: float) -> tuple[float, float]:
    """Return the median seconds per call of fn over 5 blocks of about `seconds` / 5 each, and
    the minor page faults per call during them."""
    fn()  # warm-up (oneDNN's primitives, cuDNN's plans, the BLAS handle)
    sync(device)
    t0, calls = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.05:
        fn()
        sync(device)
        calls += 1
    per_block = max(1, int(calls * seconds / 5 / 0.05))
    times, f0 = [], page_faults()
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(per_block):
            fn()
        sync(device)
        times.append((time.perf_counter() - t0) / per_block)
    return statistics.median(times), (page_faults() - f0) / (5 * per_block)
