"""How long the check before any job takes over a study's results: every file opened cheaply
(a Parquet footer, a zip directory, a JSON document) and, since issue 24, its SHA-256 compared
with the seal its writer left. Runs of the default study's sizes (model.pt of the base MLP,
its metrics, predictions and run.json) and FashionMNIST's packed data, 36 runs (the default
study) and 1,000; the baseline is the same files without seals, in the same process.

    .venv/bin/python benchmarks/bench_precheck.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import limit_threads, publish

limit_threads(1)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nnreport.base.integrity import damaged_files  # noqa: E402
from nnreport.base.io import atomic_path, write_json  # noqa: E402

SIZES = {"model.pt": 440_000, "predictions.parquet": 10_000, "metrics.parquet": 30}


def write_study(root: Path, runs: int, seal: bool) -> list[Path]:
    """Write `runs` runs' files and the packed data under `root`; return every path."""
    rng = np.random.default_rng(0)
    data = root / "data.npz"
    with atomic_path(data, seal=seal) as tmp, open(tmp, "wb") as f:
        np.savez(f, images=rng.integers(0, 256, (70_000, 1, 28, 28), dtype=np.uint8))
    paths = [data]
    for r in range(runs):
        folder = root / f"run{r}"
        model = folder / "model.pt"
        with atomic_path(model, seal=seal) as tmp, open(tmp, "wb") as f:
            np.savez(f, w=rng.random(SIZES["model.pt"] // 8))  # a zip, as torch.save writes
        for name in ("predictions.parquet", "metrics.parquet"):
            with atomic_path(folder / name, seal=seal) as tmp:
                pd.DataFrame({"x": rng.integers(0, 10, SIZES[name])}).to_parquet(tmp)
        if seal:
            write_json(folder / "run.json", {"run": r})
        else:
            (folder / "run.json").write_text(f'{{"run": {r}}}')
        paths += [model, folder / "predictions.parquet", folder / "metrics.parquet",
                  folder / "run.json"]
    return paths


def best_of(paths: list[Path], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        assert damaged_files(paths) == {}
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(Path(__file__).with_name("results-precheck.md")))
    args = p.parse_args()
    rows = []
    for runs in (36, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            sealed = write_study(Path(tmp) / "sealed", runs, seal=True)
            plain = write_study(Path(tmp) / "plain", runs, seal=False)
            mb = sum(f.stat().st_size for f in sealed) / 1e6
            t_seal, t_plain = best_of(sealed, args.repeats), best_of(plain, args.repeats)
            rows.append(f"| {runs} | {len(sealed)} | {mb:.0f} | {t_plain:.2f} | {t_seal:.2f} | "
                        f"{t_seal / t_plain:.1f} |")
    publish("\n".join([
        "# The check before any job (best of repeats, one process)", "",
        "| runs | files | MB | cheap checks (s) | with SHA-256 seals (s) | ratio |",
        "|---:|---:|---:|---:|---:|---:|", *rows, ""]), args.out)


if __name__ == "__main__":
    main()
