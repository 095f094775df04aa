"""Shared fixtures: the repository, its default config, and writers of idx files."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# every report the tests build fails on a problem a reader would see (report: strict: true);
# the workflow's subprocesses inherit it
os.environ["NNREPORT_STRICT"] = "1"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion_mnist = pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed (make setup installs it)",
)


@pytest.fixture
def default_config() -> dict:
    """The repository's config.yaml, as loaded (before schema defaults)."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write `array` (uint8) as an idx file the way MNIST-style datasets store it."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(workdir: Path, *args: str, config: Path | None = None,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real Snakemake on the repository's Snakefile in `workdir`, allowed to fail."""
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), *args]
    if config:
        cmd += ["--configfile", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


def snakemake(workdir: Path, *args: str, config: Path | None = None) -> str:
    """Run the real Snakemake on the repository's Snakefile in `workdir`; return its output."""
    proc = run_snakemake(workdir, *args, config=config)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def study_config(name: str, **changes) -> dict:
    """configs/<name>.yaml as loaded (a fresh copy), with `changes` to its top-level keys."""
    return {**yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()), **changes}


def build_study(workdir: Path, config: dict) -> Path:
    """`config`'s study built to its report's PDF in `workdir` through the real workflow (two
    cores); returns the config's path."""
    path = make_workdir(workdir, config)
    snakemake(workdir, "--cores", "2", config["report"]["pdf"], config=path)
    return path


def build_tiny(workdir: Path) -> Path:
    """The tiny study, one epoch, built to report/tiny.pdf in `workdir`; returns its config."""
    return build_study(workdir, study_config("tiny", epochs=1))


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny study (one epoch) built to report/tiny.pdf once for the whole test session:
    its folder and config. Shared by every module: a test copies it (copy_study) before it
    changes, damages or deletes anything."""
    tmp = tmp_path_factory.mktemp("tiny_study")
    return tmp, build_tiny(tmp)


def copy_study(built: tuple[Path, Path], tmp: Path) -> tuple[Path, Path]:
    """A copy of a built study's folder (its .snakemake/ included) and of its config, for a
    test to change or delete things in while the study stays shared by the module."""
    workdir, config = built
    copy = tmp / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    return copy, copy / config.relative_to(workdir)


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table that Snakemake prints."""
    table = output.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m[1] != "total"}


def with_prose(folder: Path) -> Path:
    """`folder` given the author's prose and the bibliography where a config without
    `report: sections` or `bibliography` looks for them (report/), as a project has them: the
    checks before any job read them. Returns `folder`."""
    shutil.copytree(ROOT / "report" / "sections", folder / "report" / "sections")
    shutil.copy(ROOT / "report" / "refs.bib", folder / "report" / "refs.bib")
    return folder


def make_workdir(tmp: Path, config: dict) -> Path:
    """A working folder with the author's prose, the bibliography and `config`."""
    with_prose(tmp)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def pdf_text(pdf: Path, raw: bool = False) -> str:
    """The PDF's text as pdftotext extracts it (words hyphenated at a line's end joined), with
    whitespace runs made single spaces; `raw`: in the order LaTeX wrote it, which never reads
    a two-column page across its columns (a heading stays whole) but keeps the hyphens."""
    text = subprocess.run(["pdftotext", *(["-raw"] if raw else []), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def processes_working_in(folder: Path) -> list[str]:
    """Names of the processes whose working folder is `folder` right now (Linux /proc)."""
    names = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if os.readlink(proc / "cwd") == str(folder):
                    names.append((proc / "comm").read_text().strip())
            except OSError:  # gone meanwhile, or not ours to read
                continue
    return names


def dry_run_jobs(dry_run: str) -> list[tuple[str, dict[str, str]]]:
    """Each job a dry run lists: its rule, and its wildcards, priority, threads (when not 1)
    and resources."""
    keys = r"^\s+(wildcards|priority|threads|resources): (.*)$"
    parts = re.split(r"^(?:local)?rule (\w+):$", dry_run, flags=re.M)
    return [(rule, dict(re.findall(keys, block.split("\n[")[0], re.M)))
            for rule, block in zip(parts[1::2], parts[2::2], strict=True)]


def train_jobs(dry_run: str) -> list[dict[str, str]]:
    """The wildcards, priority, threads (when not 1) and resources of each train job listed."""
    return [fields for rule, fields in dry_run_jobs(dry_run) if rule == "train"]


def _tree_status() -> set[str]:
    """`git status --porcelain` of the checkout: what is changed or new and not ignored."""
    proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True)
    return set(proc.stdout.splitlines()) if proc.returncode == 0 else set()


def pytest_sessionstart(session):
    """Remember what the checkout looks like before the tests run."""
    session.config.stash[TREE] = _tree_status()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when a test left a file in the checkout (a job log, an output, a SLURM
    log): the suite must leave the tree as it found it."""
    before = session.config.stash.get(TREE, None)
    if before is None or session.config.option.collectonly:
        return
    left = sorted(_tree_status() - before)
    if left:
        session.config.get_terminal_writer().line(
            "the tests left these in the checkout (git status):\n  " + "\n  ".join(left),
            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


TREE = pytest.StashKey[set]()
