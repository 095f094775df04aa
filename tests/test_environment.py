"""pyproject.toml is the one list of dependencies; environment.yml must install the same set."""

import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from conftest import ROOT

CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name
# Import names whose distribution may not be installed here, and the distributions providing it.
NOT_INSTALLED = {"cupy": ["cupy-cuda12x", "cupy-cuda13x"]}


def _split(req: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(map(_split, project["dependencies"] + project["optional-dependencies"]["dev"]))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    conda = {CONDA_NAMES.get(k, k): v for k, v in conda.items() if k not in {"python", "pip"}}
    assert conda == wanted


def _imported_top_names(paths) -> set[str]:
    """Top-level names of every module imported by the Python files under `paths`."""
    import ast

    names = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _declared(*groups: str) -> set[str]:
    """Normalised distribution names that pyproject.toml declares in `groups`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) if "main" in groups else []
    for group in groups:
        reqs += project["optional-dependencies"].get(group, [])
    return {_split(r)[0] for r in reqs}


@pytest.mark.parametrize(("folders", "groups"), [
    (["src", "workflow/scripts"], ("main", "cuda12", "cuda13")),
    (["tests", "benchmarks"], ("main", "cuda12", "cuda13", "dev")),
])
def test_every_third_party_import_is_declared_in_pyproject(folders, groups):
    import importlib.metadata
    import sys

    owners = importlib.metadata.packages_distributions()
    declared = _declared(*groups)
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    local = {"nnreport", "conftest"} | {p.stem for p in files}
    undeclared = {}
    for name in sorted(_imported_top_names(files) - set(sys.stdlib_module_names) - local):
        dists = {_split(d)[0] for d in owners.get(name, NOT_INSTALLED.get(name, [name]))}
        if not dists & declared:
            undeclared[name] = sorted(dists)
    assert not undeclared, (f"imported but not declared in pyproject.toml ({', '.join(groups)}):"
                            f" {undeclared}")


def test_the_gpu_check_says_there_is_no_gpu_and_exits_0(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here: `make gpu-check` runs the real check (minutes)")
    proc = subprocess.run(["make", "-s", "gpu-check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gpu-check: no CUDA GPU here (torch.cuda.is_available() is False)" in proc.stdout


def test_a_gpu_check_step_reports_its_time_limit(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_check import run_step, scratch_cupy_vs_numpy

    done = run_step("quick", [sys.executable, "-c", "print('hola')"], 30, cwd=tmp_path)
    assert done["code"] == 0 and "hola" in done["tail"]
    late = run_step("slow", [sys.executable, "-c", "import time; time.sleep(5)"], 0.5,
                    cwd=tmp_path)
    assert late["code"] == "timeout" and late["seconds"] < 4
    numpy_only = scratch_cupy_vs_numpy(120, ("numpy",))  # the CuPy half needs the GPU
    assert numpy_only["code"] == 0, numpy_only["tail"]
    assert numpy_only["measured"]["numpy"]["s_per_epoch"] > 0
