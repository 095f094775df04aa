"""Provenance of a report: code version, config hash, software versions, devices and times."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

import pandas as pd

from nnreport.config.grid import config_hash

PACKAGES = ("torch", "numpy", "pandas", "matplotlib", "snakemake")


def git_state(folder: str | Path) -> dict:
    """Return the git commit of `folder` and whether its tree has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def versions() -> dict:
    """Return the versions of Python and of the packages that shape the results."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def tf32_states(runs: pd.DataFrame) -> list[bool]:
    """Return whether the GPU runs multiplied float32 matrices with TF32 (each state that
    occurs, sorted; [] when no run trained on a GPU)."""
    if "device_type" not in runs or "tf32" not in runs:  # runs trained before these were kept
        return []
    on_gpu = runs[runs["device_type"] == "cuda"]
    return sorted(bool(t) for t in on_gpu["tf32"].dropna().unique())


def provenance(config: dict, runs: pd.DataFrame, repo: str | Path) -> dict:
    """Return everything a reader needs to reproduce the report's numbers."""
    wall = None
    if runs["started_at"].notna().all():
        wall = float(runs["finished_at"].max() - runs["started_at"].min())
    return {
        "git": git_state(repo),
        "config_hash": config_hash(config),
        "versions": versions(),
        "devices": sorted(runs["device_name"].dropna().unique().tolist()),
        "threads": sorted(int(t) for t in runs["threads"].dropna().unique()),
        "tf32": tf32_states(runs),
        # whether any run trained on a GPU (the Reproducibility appendix says what a GPU
        # leaves undetermined only then)
        "gpu": bool("device_type" in runs and (runs["device_type"] == "cuda").any()),
        "n_runs": len(runs),
        "total_train_seconds": float(runs["train_seconds"].sum()),
        "grid_wall_seconds": wall,
    }
