"""Fill the Jinja LaTeX template from the results and compile it with latexmk."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jinja2

from nnreport.base.errors import ExpectedError
from nnreport.base.io import atomic_path, disk_full, write_text
from nnreport.config.templates import template_folders
from nnreport.reporting.jinja import latex_env
from nnreport.reporting.words import catalogue, entry

log = logging.getLogger(__name__)

class LatexError(ExpectedError, RuntimeError):
    """LaTeX failed; the message holds the relevant lines of its log."""


def render(template: str | Path, sections: str | Path, context: dict, out: str | Path) -> None:
    """Render `template` (which includes the author's files from `sections`) to `out`."""
    template, sections = Path(template), Path(sections)
    env = latex_env(*template_folders(template), sections)
    try:
        text = env.get_template(template.name).render(**context)
    except jinja2.TemplateNotFound as e:
        raise FileNotFoundError(
            f"report: the prose file '{e.name}' is missing from {sections}/; create it (it may "
            f"be empty) or restore it from the repository") from e
    write_text(out, text)


_LOG_ERROR = re.compile(r"^(?:! |.*:\d+: |l\.\d+ |LaTeX Warning: (?:Reference|Citation))")


def log_excerpt(log_text: str, limit: int = 20) -> str:
    """Return the lines of a LaTeX log that say what went wrong (file:line: message)."""
    lines = [ln for ln in log_text.splitlines() if _LOG_ERROR.match(ln)]
    return "\n".join(lines[:limit]) or "\n".join(log_text.splitlines()[-limit:])


# LaTeX reads only its build folder and TeX's own tree (no absolute paths, no `..`, no dot
# files) and runs no shell command, whatever the config's math or the author's prose asks for.
_SANDBOX = {"openin_any": "p", "openout_any": "p", "shell_escape": "f"}
LATEX_TIMEOUT = 120.0  # seconds; the default of the config's report: latex_timeout


def compile_pdf(tex: str | Path, pdf: str | Path | None = None,
                timeout: float = LATEX_TIMEOUT) -> str:
    """Compile `tex` with latexmk in its own folder; copy the PDF to `pdf` atomically.

    Returns the LaTeX log. On failure `pdf` is left as it was. Every call compiles (latexmk
    -g): a build that failed for a reason outside its sources (a missing package, since
    installed) is retried, not replayed from latexmk's records.
    """
    tex = Path(tex)
    if shutil.which("latexmk") is None:
        raise LatexError("latexmk is not installed; run `make setup`, which installs the Debian "
                         "packages of workflow/setup/debian-packages.txt")
    cmd = ["latexmk", "-pdf", "-g", "-interaction=nonstopmode", "-halt-on-error",
           "-file-line-error", "-pdflatex=pdflatex -no-shell-escape %O %S", tex.name]
    log_path = tex.with_suffix(".log")
    # A LaTeX run that was killed can leave its .aux cut mid-line ("File ended while scanning
    # use of \@newl@bel" on every later run): a marker says a compile did not finish, and the
    # next one starts from no auxiliary file.
    unfinished = tex.with_suffix(".compiling")
    if unfinished.exists():
        for suffix in (".aux", ".fdb_latexmk", ".fls", ".out"):
            tex.with_suffix(suffix).unlink(missing_ok=True)
    unfinished.touch()
    # pdflatex writes 8-bit bytes of the font encoding, not UTF-8 (a line of an overfull box
    # with an "ñ" is byte 0xf1): read its output leniently, as the log is read.
    proc = subprocess.Popen(cmd, cwd=tex.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", env={**os.environ, **_SANDBOX},
                            start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # latexmk and the pdflatex it started
        proc.communicate()
        tail = log_path.read_text(errors="replace").splitlines()[-5:] if log_path.exists() else []
        raise LatexError(
            f"LaTeX did not finish {tex} within {timeout:g} s (report: latex_timeout) and was "
            f"stopped. The likely cause is a macro that never ends, such as \\def\\x{{\\x}}\\x, "
            f"in a prose file (report: sections; the config's math cannot define macros); a "
            f"very long report may need a larger report: latex_timeout. Last lines of the log "
            f"({log_path}):\n" + "\n".join(tail)) from None
    unfinished.unlink()  # LaTeX finished, well or not: its files are whole
    log_text = log_path.read_text(errors="replace") if log_path.exists() else stdout
    if proc.returncode != 0 and disk_full(Path(tex).parent):  # what LaTeX says misleads
        raise LatexError(f"LaTeX could not write its files for {tex}: the disk of "
                         f"{Path(tex).parent} is full; free some space there (a report's build "
                         f"needs a few MB), then run the workflow again")
    if proc.returncode != 0:
        raise LatexError(f"LaTeX failed on {tex} (full log: {log_path}):\n"
                         f"{log_excerpt(log_text)}")
    if pdf is not None and Path(pdf).resolve() != tex.with_suffix(".pdf").resolve():
        publish(tex.with_suffix(".pdf"), pdf)
    return log_text


def publish(src: str | Path, dst: str | Path) -> None:
    """Copy `src` onto `dst` atomically: a reader never sees half a PDF."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def problems_path(pdf: str | Path) -> Path:
    """The list of a report's problems beside it: `informe-problems.txt` beside `informe.pdf`
    (or `informe.tex` in its build), present only when the report has problems."""
    pdf = Path(pdf)
    return pdf.with_name(f"{pdf.stem}-problems.txt")


def previous_pdf(published: str | Path) -> Path:
    """Where the published report waits while a new one builds: `informe.previous.pdf`."""
    published = Path(published)
    return published.with_name(f"{published.stem}.previous.pdf")


def source_bundle_path(published: str | Path) -> Path:
    """The published report's source bundle: `informe-source.zip` beside `informe.pdf`."""
    published = Path(published)
    return published.with_name(f"{published.stem}-source.zip")


def previous_bundle(published: str | Path) -> Path:
    """Where its source bundle waits with it: `informe-source.previous.zip`."""
    published = Path(published)
    return published.with_name(f"{published.stem}-source.previous.zip")


@contextlib.contextmanager
def set_aside(published: str | Path) -> Iterator[None]:
    """Move the published report to `previous_pdf`, and its source bundle to
    `previous_bundle`, while a new one builds.

    Until a build succeeds there is no report at `published` and no bundle beside it: nothing
    claims that the current results have a report, and the next invocation of the workflow
    builds it again.
    """
    published, previous = Path(published), previous_pdf(published)
    problems_path(published).unlink(missing_ok=True)  # it spoke of the report set aside
    for current, aside in ((published, previous),
                           (source_bundle_path(published), previous_bundle(published))):
        if current.exists():
            os.replace(current, aside)
            log.info("%s set aside as %s until this build succeeds", current, aside)
    try:
        yield
    except BaseException:
        kept = f"the previous report is {previous}; " if previous.exists() else ""
        log.error("%s is not built from the current results: %sthe next run of the workflow "
                  "builds it again", published, kept)
        raise


def publish_report(src: str | Path, published: str | Path,
                   bundle: str | Path | None = None) -> None:
    """Publish a checked build at `published` and drop the previous report set aside (and its
    bundle); with `bundle`, also write the report's source bundle (see `source_bundle`)."""
    if bundle is not None:
        source_bundle(Path(src).with_suffix(".tex"), bundle)
    problems = problems_path(src)
    if problems.exists():  # the report's problems go with it (before it: never a PDF alone)
        publish(problems, problems_path(published))
    else:
        problems_path(published).unlink(missing_ok=True)
    publish(src, published)
    previous_pdf(published).unlink(missing_ok=True)
    previous_bundle(published).unlink(missing_ok=True)


_INCLUDED = re.compile(r"\\(?:includegraphics(?:\[[^\]]*\])?|input)\{([^}]+)\}")


def bundle_files(tex: str | Path) -> list[str]:
    """The files, relative to the rendered report's folder, that compile it on their own: the
    .tex, each figure and table it includes, the bibliography and the .bbl made from it."""
    from nnreport.reporting.check import strip_comments

    tex = Path(tex)
    names = [tex.name]
    for name in _INCLUDED.findall(strip_comments(tex.read_text())):
        names.append(name if Path(name).suffix else f"{name}.tex")
    names += [p.name for p in (tex.with_suffix(".bbl"), tex.parent / "refs.bib",
                               *sorted(tex.parent.glob(f"*{OWN_SUFFIX}.bst"))) if p.exists()]
    names = list(dict.fromkeys(names))
    missing = [n for n in names if not (tex.parent / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{tex}: the source bundle lacks {', '.join(missing)}, which "
                                f"the report includes; build the report again")
    return names


def source_bundle(tex: str | Path, bundle: str | Path) -> None:
    """Write `bundle`, a zip of the rendered report that compiles on its own with pdflatex in
    an empty folder (Overleaf, arXiv): `bundle_files` of `tex`, at the same relative paths."""
    import zipfile

    tex = Path(tex)
    with atomic_path(bundle) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in bundle_files(tex):
            z.write(tex.parent / name, name)


@contextlib.contextmanager
def build_lock(folder: str | Path) -> Iterator[None]:
    """Hold the build folder for one build at a time; a second build fails at once."""
    path = Path(folder) / ".build.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LatexError(f"{folder}: another build of this report is running (it holds "
                             f"{path}); two invocations of the same study were started (after "
                             f"--unlock?): let one finish, then run the workflow again") from None
        yield


@dataclasses.dataclass(frozen=True)
class BibStyle:
    """A template's BibTeX style, whose few words are English, and how it writes them."""

    package: str  # the Debian package that ships it
    words: dict[str, str]  # how a word is written in it -> its key in the catalogue's entry
    in_function: bool  # each word alone in a FUNCTION {bbl.<word>} { "..." }, once; else a
    # string literal wherever the style's functions use it
    serial_comma: re.Pattern  # the comma before the last author's "and" ("A, B, and C")


BIB_STYLE = "apsrev4-2"  # revtex's ("The language selected here is ENGLISH")
BIB_STYLES = {
    BIB_STYLE: BibStyle(
        "texlive-publishers",
        {f"FUNCTION {{bbl.{key}}}": key for key in ("and", "in", "edby", "of")}, True,
        re.compile(r"numnames #2 >\s*'names\.comma\s*'skip\$\s*if\$")),
    "unsrtnat": BibStyle(  # natbib's, the model study's
        "texlive-latex-base",
        {'" and "': "and", '"In "': "In", '"pages"': "pages", '"page"': "page",
         '"volume"': "volume", '" of "': "of", '"number"': "number", '"chapter"': "chapter",
         '", editors"': "editors", '", editor"': "editor",
         '"Technical Report"': "technical_report", '"PhD thesis"': "phd_thesis",
         '"Master\'s thesis"': "masters_thesis", '" edition"': "edition"}, False,
        re.compile(r'numnames #2 >\s*\{ "," \* \}\s*\'skip\$\s*if\$')),
}
OWN_SUFFIX = "-own"  # a style's copy with the report's words, beside the report


def own_style(style: str) -> str:
    """The name of `style`'s copy with the report's words (its licence asks for its own)."""
    return f"{style}{OWN_SUFFIX}"


def bibliography_style(folder: str | Path, style: str = BIB_STYLE) -> str | None:
    """The BibTeX style of the report's bibliography in the active language, written into
    `folder`: a copy of `style` (BIB_STYLES: revtex's apsrev4-2.bst, natbib's unsrtnat.bst)
    with its words replaced by the catalogue's (`bibliography`: "y" for "and", "en" for
    "in", ...) and, where the language has no comma before the last author's "and"
    (`serial_comma: false`), without it; None in English, where the style's own words are
    right (and a copy a build in another language left there is removed). Written in UTF-8,
    as the report is: the style itself is ASCII."""
    spec = BIB_STYLES[style]
    words, english = entry("bibliography"), catalogue("en")["bibliography"]
    path = Path(folder) / f"{own_style(style)}.bst"
    if all(words[k] == english[k] for k in spec.words.values()) and words["serial_comma"]:
        path.unlink(missing_ok=True)
        return None
    found = subprocess.run(["kpsewhich", f"{style}.bst"], capture_output=True, text=True)
    if found.returncode or not found.stdout.strip():
        raise LatexError(f"kpsewhich finds no {style}.bst, the report's bibliography style; "
                         f"install Debian's {spec.package} (make setup does)")
    source = Path(found.stdout.strip())
    text = source.read_text(encoding="ascii")
    for written, key in spec.words.items():
        own = str(words[key]).replace("\\", "\\\\")
        if spec.in_function:  # FUNCTION {bbl.and} { "and" }
            pattern = re.compile("(" + re.escape(written) + r'\s*\{\s*)"'
                                 + re.escape(english[key]) + '"')
            replacement = r'\g<1>"' + own + '"'
        else:  # the literal "pages" itself
            pattern, replacement = (re.compile(re.escape(written)),
                                    written.replace(english[key], own))
        text, n = pattern.subn(replacement, text)
        if n == 0 or spec.in_function and n != 1:
            raise LatexError(f"{source}: it no longer writes {english[key]!r} as {written}; "
                             "update its words in reporting/build.py's BIB_STYLES")
    if not words["serial_comma"]:
        text, n = spec.serial_comma.subn("", text)
        if n == 0:
            raise LatexError(f"{source}: the comma before the last author's 'and' is written "
                             "differently; update its serial_comma in reporting/build.py's "
                             "BIB_STYLES")
    with atomic_path(path, seal=False) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return own_style(style)


def config_advice(context: dict) -> list[str]:
    """What the config could change for a sounder report, for the build log (the prose says
    what the numbers mean, not which config key to set)."""
    if "test" in context and not context["test"] and context.get("ranking"):
        return ["the best run is chosen and measured on the same validation images, an "
                "optimistic estimate (the report says so); a test set (dataset: n_test, or "
                "holdout_test: true) would measure the chosen configuration without that bias"]
    return []


def build_pdf(template: str | Path, sections: str | Path, context: dict, tex: str | Path,
              bibliography: str | Path, metrics, timeout: float = LATEX_TIMEOUT,
              strict: bool = False, bib_style: str = BIB_STYLE) -> list[str]:
    """Render the report, run the report check, compile it next to `tex` and check the log;
    return the problems found.

    The problems a reader would see (an unreferenced float, an undefined reference, an overfull
    line, a float far from its first citation, a half-empty page) are each logged and listed
    in `problems_path(tex)`, and the PDF is still built; with `strict` they fail the build
    (ReportCheckError naming them all). The softer findings are warnings. A LaTeX error fails
    either way: there is no PDF then.
    """
    from nnreport.evaluation.trends import rising_loss_warnings
    from nnreport.reporting.check import (
        ReportCheckError,
        check_float_places,
        check_log,
        check_pages,
        check_tex,
    )

    tex = Path(tex)
    problems: list[str] = []
    warnings: list[str] = []

    def check(step, *args) -> None:  # one problem does not hide the next
        try:
            warnings.extend(step(*args) or [])
        except ReportCheckError as e:
            problems.append(str(e))

    with build_lock(tex.parent):
        problems_path(tex).unlink(missing_ok=True)
        style = bibliography_style(tex.parent, bib_style)
        render(template, sections, {**context, "bibliography_style": style}, tex)
        check(check_tex, tex.read_text(), str(tex))
        for warning in warnings + rising_loss_warnings(metrics) + config_advice(context):
            log.warning("report check: %s", warning)
        shutil.copyfile(bibliography, tex.parent / "refs.bib")
        check(check_log, compile_pdf(tex, timeout=timeout), str(tex.with_suffix(".log")))
        aux = tex.with_suffix(".aux")
        check(check_float_places, aux.read_text(errors="replace"), str(aux), tex.read_text())
        check(check_pages, tex.with_suffix(".pdf"), str(tex.with_suffix(".pdf")))
        if problems and strict:
            raise ReportCheckError(" Also: ".join(problems) + " (report: strict: true turns "
                                   "these problems into failures)")
        for problem in problems:
            log.error("report problem: %s", problem)
        if problems:
            with atomic_path(problems_path(tex)) as tmp:
                Path(tmp).write_text("".join(f"- {p}\n" for p in problems))
            log.warning("%d problem(s) with the report, listed in %s; the PDF is built anyway "
                        "(report: strict: true makes them fail the build)", len(problems),
                        problems_path(tex))
    return problems
