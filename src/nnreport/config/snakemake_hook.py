"""One-line messages for config files that Snakemake itself cannot read.

Snakemake reads `--configfile` files before it runs the Snakefile, so the Snakefile cannot
check them: a missing one ends in a traceback, a YAML error names neither the file nor the
line, an empty one is not named. `make setup` writes a .pth file into the virtual environment
(`python -m nnreport.config.snakemake_hook`) that imports this module when Python starts; in a
`snakemake` process only, it makes Snakemake's config reader check each file first with
`nnreport.config_files.read_config_file`, whose messages name the file (and line and column).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path

PTH_NAME = "nnreport-snakemake-config-messages.pth"


def install() -> None:
    """Wrap Snakemake's config reader, in a snakemake process (else do nothing)."""
    if not os.path.basename((getattr(sys, "argv", None) or [""])[0]).startswith("snakemake"):
        return
    try:
        import snakemake.common.configfile as configfile
        from snakemake.exceptions import CliException
    except ImportError:  # no Snakemake here: nothing to wrap
        return
    if getattr(configfile.load_configfile, "nnreport_checked", False):
        return
    load = configfile.load_configfile

    @functools.wraps(load)
    def load_configfile(configpath):
        from nnreport.config.files import ConfigFileError, read_config_file

        try:
            read_config_file(configpath)
        except ConfigFileError as e:
            raise CliException(str(e)) from None
        return load(configpath)

    load_configfile.nnreport_checked = True  # type: ignore[attr-defined]
    configfile.load_configfile = load_configfile


def write_pth(site_packages: str | None = None) -> Path:
    """Write the .pth file that installs the hook in this Python's site-packages; return it."""
    path = Path(site_packages or sysconfig.get_paths()["purelib"]) / PTH_NAME
    hook = "nnreport.config.snakemake_hook"
    path.write_text(f"import {hook}; {hook}.install()\n")
    return path


if __name__ == "__main__":
    print(f"wrote {write_pth()}")
