"""The set-up installs every Debian package the build uses: nothing may work only on a machine
where someone once installed a package by hand (lmodern was such a package)."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from conftest import ROOT

SETUP_LIST = ROOT / "workflow" / "setup" / "debian-packages.txt"
TEST_LIST = ROOT / "workflow" / "setup" / "debian-packages-test.txt"  # make test's extras
TEMPLATES = sorted((ROOT / "report" / "templates").glob("**/*.tex.j2"))  # every language
TEX_SUFFIXES = (".sty", ".cls", ".ldf", ".fd", ".bst")
on_debian = pytest.mark.skipif(shutil.which("dpkg-query") is None,
                               reason="not a Debian system: no dpkg to ask who ships a file")


def setup_items(path: Path = SETUP_LIST) -> dict[str, list[str]]:
    """The set-up's list: Debian package -> the files and commands it must provide."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, *items = line.split()
            out[package] = items
    return out


def _uncommented(text: str) -> str:
    """`text` without its LaTeX comments (an escaped \\% stays)."""
    return "\n".join(re.sub(r"(?<!\\)%.*", "", line) for line in text.splitlines())


def loaded_tex_files(template: Path) -> set[str]:
    """The classes, packages and babel languages a template loads, as TeX file names."""
    text = _uncommented(template.read_text())
    files = {f"{name}.cls" for name in re.findall(r"\\documentclass(?:\[[^]]*\])?\{([^}]+)\}",
                                                    text)}
    for options, names in re.findall(r"\\(?:usepackage|RequirePackage)(?:\[([^]]*)\])?\{([^}]+)\}",
                                     text):
        names = [n.strip() for n in names.split(",") if n.strip()]
        files |= {f"{name}.sty" for name in names}
        if "babel" in names:  # each language option is a file of its own (spanish.ldf)
            files |= {f"{o.strip()}.ldf" for o in options.split(",")
                      if re.fullmatch(r"[a-z]+", o.strip())}
    return files


def test_the_parser_finds_what_a_template_loads(tmp_path):
    template = tmp_path / "t.tex.j2"
    template.write_text("\\documentclass[a4paper]{article}\n\\usepackage[T1]{fontenc}\n"
                        "\\usepackage{amsmath, amssymb} % \\usepackage{commented}\n"
                        "\\usepackage[spanish,es-tabla]{babel}\n% \\usepackage{gone}\n")
    assert loaded_tex_files(template) == {"article.cls", "fontenc.sty", "amsmath.sty",
                                          "amssymb.sty", "babel.sty", "spanish.ldf"}


def test_every_file_a_template_loads_is_checked_by_the_setup():
    from nnreport.studies.kinds import ModelStudy, TableStudy

    listed = {item for items in setup_items().values() for item in items}
    styles = {f"{kind.bib_style}.bst" for kind in (TableStudy(), ModelStudy())}  # each copied
    assert styles == {"apsrev4-2.bst", "unsrtnat.bst"} and styles <= listed  # with its words
    for template in TEMPLATES:
        missing = sorted(loaded_tex_files(template) - listed)
        assert not missing, (f"{template.name} loads {missing}, which "
                             f"{SETUP_LIST.relative_to(ROOT)} does not list: add each with the "
                             f"Debian package that ships it (dpkg -S)")


def _owner(path: str) -> str | None:
    """The Debian package that ships `path` (or the file it links to), None if none does."""
    for candidate in dict.fromkeys([path, str(Path(path).resolve())]):
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if not line.startswith("diversion") and ": " in line:
                return line.split(":", 1)[0].split(",")[0].strip()
    return None


@cache
def _hard_dependencies(package: str) -> frozenset[str]:
    """The installed packages `package` Depends or Pre-Depends on, with no alternative."""
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", package],
                          capture_output=True, text=True)
    deps = set()
    for entry in proc.stdout.split(","):
        if entry.strip() and "|" not in entry:  # `a | b`: neither one is guaranteed
            deps.add(re.split(r"[\s(:]", entry.strip(), maxsplit=1)[0])
    return frozenset(deps)


def installed_by_setup() -> set[str]:
    """The packages the set-up installs and, recursively, their hard dependencies (no
    Recommends: the set-up installs with --no-install-recommends)."""
    todo, seen = list(setup_items()), set()
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo += _hard_dependencies(package)
    return seen


def _where(item: str) -> str | None:
    """Where a TeX file, path or command of the set-up's list is found here, or None."""
    if item.startswith("/"):
        return item if Path(item).exists() else None
    if item.endswith(TEX_SUFFIXES):
        found = subprocess.run(["kpsewhich", item], capture_output=True, text=True).stdout
        return found.strip() or None
    return shutil.which(item) or shutil.which(item, path="/usr/sbin:/sbin")


@on_debian
def test_every_file_a_template_loads_comes_from_a_package_the_setup_installs():
    assert shutil.which("kpsewhich"), "no TeX here: the set-up (make setup) installs TeX Live"
    packages, problems = installed_by_setup(), []
    for template in TEMPLATES:
        for name in sorted(loaded_tex_files(template)):
            path = _where(name)
            owner = _owner(path) if path else None
            if path is None:
                problems.append(f"{template.name}: {name} is not installed (kpsewhich finds "
                                f"nothing): the set-up does not install the package that ships it")
            elif owner not in packages:
                problems.append(f"{template.name}: {name} comes from the Debian package "
                                f"{owner}, which the set-up neither installs nor gets as a hard "
                                f"dependency (Recommends are not installed)")
    assert not problems, "\n".join(problems)


@on_debian
@pytest.mark.parametrize("path", [SETUP_LIST, TEST_LIST], ids=lambda p: p.name)
def test_each_item_of_the_setup_comes_from_the_package_listed_for_it(path):
    # the set-up names this package when the item is missing: it must be the right one
    problems = []
    for package, items in setup_items(path).items():
        provides = {package} | set(_hard_dependencies(package))
        for item in items:
            path = _where(item)
            owner = _owner(path) if path else None
            if owner not in provides:
                problems.append(f"{item}: found at {path}, shipped by {owner}, not by {package} "
                                f"or its hard dependencies")
    assert not problems, "\n".join(problems)


def test_the_test_setup_lists_every_program_the_slurm_cluster_starts():
    from slurm_cluster import PROGRAMS

    listed = {item for items in setup_items(TEST_LIST).values() for item in items}
    assert set(PROGRAMS) - {"runuser"} <= listed, (
        f"{TEST_LIST.relative_to(ROOT)} lacks {sorted(set(PROGRAMS) - listed - {'runuser'})}")
    assert "test-system" in (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n")[0]


def test_the_setup_installs_without_recommends_from_the_list():
    script = (ROOT / "workflow" / "setup" / "system-packages.sh").read_text()
    assert "--no-install-recommends" in script and "debian-packages.txt" in script
