"""Paths a study names, checked before any job: what it writes and what the report reads stay
inside the project (the folder the workflow runs in), whatever the config says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from jinja2 import nodes

from nnreport.config.messages import Problem, format_path, show
from nnreport.config.templates import template_part, template_path
from nnreport.reporting.jinja import assigned_names, parsed, syntax_problem, unknown_names
from nnreport.studies.kinds import CONTEXT_NAMES, study_kind

# The workflow's own folders: a report published into one of them would be overwritten or
# deleted by the workflow (or would break it).
WORKFLOW_FOLDERS = ("data", "results", "logs", "report/build", ".snakemake", ".git")
_INSIDE = ("report", "pdf"), ("report", "sections"), ("report", "bibliography")
# The report templates of the project (an editable install keeps the package beside them).
TEMPLATES = Path(__file__).resolve().parents[3] / "report" / "templates"
_EXAMPLES = {"pdf": "report/informe.pdf", "sections": "report/sections",
             "bibliography": "report/refs.bib"}


def _study_problem(study: object) -> Iterator[Problem]:
    """A study's name is a folder in results/, data/, logs/ and report/build/: a plain name."""
    if isinstance(study, str) and study.startswith("."):
        yield Problem(("study",), f"study is {show(study)}; it names the folders results/<study>/"
                                  ", data/<study>/, logs/<study>/ and report/build/<study>/, so it "
                                  "must start with a letter or digit, e.g. 'fashion_mnist'")


def _inside_problem(path: tuple[str, str], value: object) -> Iterator[Problem]:
    """A path of the report section must be relative and stay inside the project."""
    if not isinstance(value, str) or not value:
        return
    where, key, given = format_path(path), path[-1], PurePosixPath(value)
    parts = [p for p in given.parts if p != "."]
    fix = f"give a path inside the project, e.g. {_EXAMPLES[key]}"
    if given.is_absolute() or value.startswith("~"):
        yield Problem(path, f"{where} is {show(value)}, a path outside the project; {fix}")
    elif ".." in parts:
        yield Problem(path, f"{where} is {show(value)}, which leads outside the project through "
                            f"'..'; {fix}")
    elif key == "pdf":
        inside = "/".join(parts)
        folder = next((f for f in WORKFLOW_FOLDERS if inside == f or inside.startswith(f + "/")),
                      None)
        if given.suffix != ".pdf":
            yield Problem(path, f"{where} is {show(value)}; the report is a PDF: end it in .pdf, "
                                f"e.g. {_EXAMPLES[key]}")
        elif folder:
            yield Problem(path, f"{where} is {show(value)}, inside {folder}/, which the workflow "
                                f"manages itself; publish it elsewhere, e.g. {_EXAMPLES[key]}")


def _includes(template: Path, overridden: frozenset[str] = frozenset()) -> list[str]:
    """Every file a report template includes (or extends, with what that one includes outside
    the blocks the extending template replaces: `overridden`), in its order."""
    tree = parsed(template)
    own_blocks = frozenset(b.name for b in tree.find_all(nodes.Block))
    found: list[str] = []

    def walk(node: nodes.Node) -> None:
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Block) and child.name in overridden:
                continue  # the extending template's block is rendered instead
            if isinstance(child, nodes.Include | nodes.Extends) and isinstance(
                    child.template, nodes.Const):
                name = child.template.value
                found.append(name)
                part = template_part(template, name)
                if isinstance(child, nodes.Extends) and part is not None:
                    found.extend(_includes(part, overridden | own_blocks))
            walk(child)

    walk(tree)
    return found


def included_prose(template: Path) -> list[str]:
    """The author's prose files a report template includes, in its order (not the template's
    own parts, which sit beside it)."""
    return [f for f in _includes(template) if template_part(template, f) is None]


def template_parts(template: Path) -> list[str]:
    """The paths of the parts a report template includes from its own folders."""
    return list(dict.fromkeys(str(part) for f in _includes(template)
                              if (part := template_part(template, f)) is not None))


def report_names(kind: str, template: Path) -> set[str]:
    """The names a prose file of a `kind` study may use: its report context's, those its
    template and the template's parts set, and the bibliography style the build adds."""
    names = set(CONTEXT_NAMES[kind]) | {"bibliography_style"} | assigned_names(template)
    for part in template_parts(template):
        names |= assigned_names(Path(part))
    return names


def _prose_problems(config: dict, report: dict) -> Iterator[Problem]:
    """The prose folder holds every file the study's template includes; the bibliography is
    there (checked here, before any job, not by the report job after all the training)."""
    default = study_kind(config).template
    if report.get("template", default) != default or "models" in config and "base" in config:
        return  # another kind's template, or both kinds: said elsewhere
    language = report.get("language", "es")
    template = template_path(TEMPLATES, default, language)
    # the schema's defaults, which Snakemake fills in only after these checks
    sections = report.get("sections", "report/sections")
    bibliography = report.get("bibliography", "report/refs.bib")
    if isinstance(sections, str) and template.is_file():
        prose = [Path(sections) / f for f in included_prose(template)]
        missing = [p.name for p in prose if not p.is_file()]
        if missing:
            yield Problem(("report", "sections"), f"report.sections is {show(sections)}, which "
                          f"lacks {', '.join(missing)} (the report's template {template.name} "
                          "includes them); copy them from the repository's "
                          f"report/sections/{'' if language == 'es' else language + '/'} "
                          "(its tp/ for a model study) and write your own text")
        known = report_names(study_kind(config).name, template)
        for path in prose:
            wrong = syntax_problem(path) if path.is_file() else None
            if wrong:
                yield Problem(("report", "sections"), f"report.sections is {show(sections)}: "
                              f"{wrong}. Fix the \\VAR{{...}} or "
                              "\\BLOCK{...} tag there (each \\BLOCK{if}/\\BLOCK{for} closes "
                              "with \\BLOCK{endif}/\\BLOCK{endfor}; see the README's 'Writing "
                              "the prose')")
            for unknown in unknown_names(path, known) if path.is_file() else []:
                yield Problem(("report", "sections"), f"report.sections is {show(sections)}: "
                              f"{unknown}. Use a name of the README's 'Writing the prose' "
                              "(or set it first with \\BLOCK{set name = ...})")
    if isinstance(bibliography, str) and not Path(bibliography).is_file():
        yield Problem(("report", "bibliography"), f"report.bibliography is {show(bibliography)}"
                      ", which is not a file; copy the repository's report/refs.bib there or "
                      "name your own .bib file")


def path_problems(config: dict) -> Iterator[Problem]:
    """Yield the problems of the paths a study writes to or reads its prose from."""
    yield from _study_problem(config.get("study"))
    report = config.get("report")
    if isinstance(report, dict):
        inside = [list(_inside_problem(path, report.get(path[1]))) for path in _INSIDE]
        for found in inside:
            yield from found
        if not any(inside):
            yield from _prose_problems(config, report)
