"""The README's commands mean what they say when Snakemake's own parser reads them."""

import re
import shlex

import pytest
from snakemake.cli import get_argument_parser

from conftest import ROOT

COMMANDS = re.findall(r"^(snakemake .*)$", (ROOT / "README.md").read_text(), re.M)


def test_the_readme_has_snakemake_commands():
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize("command", COMMANDS)
def test_config_files_and_targets_are_read_as_such(command):
    argv = shlex.split(command, comments=True)[1:]
    args = get_argument_parser().parse_args(argv)
    for configfile in args.configfile or []:
        assert str(configfile).endswith((".yaml", ".yml")), (
            f"{command!r}: Snakemake reads {configfile} as a config file; put targets before "
            "--configfile")
    words = [w for w in argv if not w.startswith("-")]
    targets = [w for w in words if w.endswith((".pdf", ".parquet", ".html"))]
    assert sorted(args.targets or []) == sorted(targets), command
