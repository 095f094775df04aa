"""pyproject.toml is the one list of dependencies; environment.yml must install the same set."""

import re
import tomllib

import yaml

from conftest import ROOT

CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name


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
