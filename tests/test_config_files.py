"""A config file that cannot be read gets one line naming it (and the line and column of a
YAML error), whether it is config.yaml or a study given with --configfile (issue 10)."""

from __future__ import annotations

import pytest

from conftest import ROOT, run_snakemake
from nnreport.config.files import ConfigFileError, read_config_file

CASES = {
    "broken.yaml": ("study: x\n  epochs: [\n",
                    "broken.yaml:2:9: not valid YAML: mapping values are not allowed here; check "
                    "the indentation (spaces, not tabs), colons and brackets there"),
    "tabs.yaml": ("study: x\n\tepochs: 2\n",
                  "tabs.yaml:2:1: not valid YAML: found character '\\t' that cannot start any "
                  "token (while scanning for the next token)"),
    "empty.yaml": ("", "empty.yaml: the file is empty; a study needs at least study, dataset, "
                       "epochs, report"),
    "list.yaml": ("- a\n- b\n", "list.yaml: holds a list, not a mapping of keys"),
    "missing.yaml": (None, "missing.yaml: no such config file; check its name and the folder "
                           "you run snakemake from"),
    "report/tiny.pdf": (b"%PDF-1.5 binary", "report/tiny.pdf: not a config file (a study is a "
                        ".yaml file); --configfile takes every word after it up to the next "
                        "option, so a target written after it is read as a config file: put "
                        "targets before --configfile"),
}


def _write(folder, name, content) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)


@pytest.mark.parametrize("name", list(CASES))
def test_each_unreadable_config_file_is_named_in_one_line(tmp_path, monkeypatch, name):
    content, message = CASES[name]
    _write(tmp_path, name, content)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigFileError) as caught:
        read_config_file(name)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_good_config_file_reads_as_its_mapping():
    assert read_config_file(ROOT / "configs" / "tiny.yaml")["study"] == "tiny"


@pytest.mark.parametrize("name", ["broken.yaml", "empty.yaml", "missing.yaml", "report/tiny.pdf"])
def test_snakemake_says_it_in_one_line_for_a_configfile(tmp_path, name):
    # Snakemake reads --configfile before the Snakefile: the set-up's hook (a .pth file in the
    # virtual environment) gives these messages; without it they are a traceback or unnamed
    content, message = CASES[name]
    _write(tmp_path, name, content)
    proc = run_snakemake(tmp_path, "-n", "--configfile", str(tmp_path / name))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    errors = [line for line in out.splitlines() if "profile" not in line]
    assert errors[0].startswith(f"Error: {tmp_path / name}{message[len(name):]}"), out
    assert "Traceback" not in out and len(errors) == 1


def test_snakemake_says_it_in_one_line_for_config_yaml(tmp_path):
    content, message = CASES["broken.yaml"]
    (tmp_path / "config.yaml").write_text(content)
    proc = run_snakemake(tmp_path, "-n")
    assert proc.returncode != 0
    out = (proc.stdout + proc.stderr).strip()
    assert out.splitlines()[-1] == message.replace("broken.yaml", "config.yaml"), out
