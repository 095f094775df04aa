"""Read a study's config file with a one-line message for each way it can be unreadable."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


class ConfigFileError(ValueError):
    """A config file that cannot be read as a study; the message is one line naming it."""


def read_config_file(path: str | os.PathLike) -> dict:
    """Return the mapping a YAML (or JSON) config file holds.

    A missing file, a YAML syntax error (with its line and column), an empty file or one that is
    not a mapping raises ConfigFileError naming the file.
    """
    name = str(path)
    if Path(path).suffix.lower() not in (".yaml", ".yml", ".json"):
        raise ConfigFileError(
            f"{name}: not a config file (a study is a .yaml file); --configfile takes every word "
            "after it up to the next option, so a target written after it is read as a config "
            f"file: put targets before --configfile, e.g. snakemake --cores 2 {name} "
            "--configfile configs/tiny.yaml")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        studies = ", ".join(sorted(str(p) for p in Path("configs").glob("*.yaml"))[:6])
        hint = f" (studies here: config.yaml, {studies})" if studies else ""
        raise ConfigFileError(f"{name}: no such config file; check its name and the folder you "
                              f"run snakemake from{hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigFileError(f"{name}: cannot read it ({e})") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        context = getattr(e, "context", None)
        raise ConfigFileError(f"{where}: not valid YAML: {what}"
                              f"{f' ({context})' if context else ''}; check the indentation "
                              "(spaces, not tabs), colons and brackets there") from None
    if config is None:
        raise ConfigFileError(f"{name}: the file is empty; a study needs at least study, "
                              "dataset, epochs, report and either base and experiments or models "
                              "(start from config.yaml)")
    if not isinstance(config, dict):
        raise ConfigFileError(f"{name}: holds a {type(config).__name__}, not a mapping of keys; "
                              "a study is written as `key: value` lines (start from config.yaml)")
    return config
