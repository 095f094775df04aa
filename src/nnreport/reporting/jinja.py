"""The report's Jinja environment: delimiters that do not clash with LaTeX, line breaks kept
where a sentence needs them, the filters the templates use, and the checks of a prose file
before any job (its syntax, the names it uses). Light: the config checks import it."""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.meta
from jinja2 import nodes

from nnreport.base.texescape import escape
from nnreport.reporting.labels import named_runs, plural, plus_minus, signed, thousands

_BLOCK_TAG = re.compile(r"\\BLOCK\{[^}]*\}")
_ENDS_WITH_TAG = re.compile(r"\\BLOCK\{[^}]*\}[ \t]*$")


class KeepLineBreaks(jinja2.ext.Extension):
    """trim_blocks drops the line break after every block tag, which is right for a tag alone on
    its line but glues words together after a tag that ends a line of text (`del modelo base\\BLOCK{
    if ...}` + `y cada` gave "basey cada"). After a tag that ends a line holding text besides
    its tags, the break, a space in LaTeX, stays (the tag gets Jinja's `+}`, which turns
    trim_blocks off for it, so line numbers in Jinja's errors stay the file's); a line of tags
    alone keeps none."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        lines = source.split("\n")
        for i, line in enumerate(lines[:-1]):
            end = _ENDS_WITH_TAG.search(line)
            if end and _BLOCK_TAG.sub("", line).strip():
                close = line.rindex("}", end.start(), end.end())
                if line[close - 1] not in "+-":
                    lines[i] = line[:close] + "+" + line[close:]
        return "\n".join(lines)


def latex_env(*folders: str | Path) -> jinja2.Environment:
    """Return a Jinja environment whose delimiters do not clash with LaTeX."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        # no line statements or line comments: every LaTeX comment (%, %%, %#) stays LaTeX's
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        extensions=[KeepLineBreaks],
    )
    env.filters["tex"] = escape
    env.filters["thousands"] = thousands
    env.filters["signed"] = signed  # \VAR{r.delta_pp|signed(2)}: +0.15, -0.84, 0.00
    env.filters["pm"] = plus_minus  # \VAR{r.final_accuracy|pm(r.final_accuracy_std)}
    env.filters["plural"] = plural  # \VAR{epochs|plural("época", "épocas")}
    env.filters["named"] = named_runs  # \VAR{overfitting|named}: la corrida con $p$ = 0
    env.filters["channels"] = per_channel  # \VAR{run.normalisation.mean|channels}: 0.2860
    return env


# the block tags that open a block an `end...` tag closes
_OPENS = {"if", "for", "macro", "call", "filter", "block", "with", "raw", "autoescape"}


@functools.cache
def _checks_env() -> jinja2.Environment:
    """The environment the checks parse with (the build's delimiters and extension)."""
    return latex_env()


@functools.lru_cache(maxsize=128)
def _tree(source: str, name: str, filename: str) -> nodes.Template:
    """A file's Jinja tree, parsed once: the checks read a template and its parts several
    times each (their includes, the names they set), and a prose file twice."""
    return _checks_env().parse(source, name, filename)


def parsed(path: Path) -> nodes.Template:
    """The Jinja tree of a prose or template file (TemplateSyntaxError if it has none)."""
    return _tree(path.read_text(encoding="utf-8"), path.name, str(path))


def syntax_problem(path: Path) -> str | None:
    """What is wrong with the Jinja tags of a prose or template file (`file, line n: message`),
    or None: its syntax, parsed as the report's build parses it, before any job runs. A block
    left open is named at the line that opens it, not at the file's end where Jinja notices."""
    source = path.read_text(encoding="utf-8")
    try:
        _tree(source, path.name, str(path))
    except jinja2.TemplateSyntaxError as e:
        line = e.lineno
        if e.message and e.message.startswith("Unexpected end of template"):
            line = _innermost_open(_checks_env(), source) or line
        return f"{path}, line {line}: {e.message}"
    return None


def assigned_names(path: Path) -> set[str]:
    """The names a template (or one of its parts) sets for what it includes: its `set`
    targets, loop variables, macros and imports."""
    return _assigned(parsed(path))


def _assigned(tree: nodes.Template) -> set[str]:
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    names |= {n.name for n in tree.find_all(nodes.Macro)}
    names |= {n.target for n in tree.find_all(nodes.Import)}
    for imported in tree.find_all(nodes.FromImport):
        names |= {n if isinstance(n, str) else n[-1] for n in imported.names}
    return names


def unknown_names(path: Path, known: set[str]) -> list[str]:
    """The names a prose file uses that the report does not define (`known`: the context's
    names and those its templates set; Jinja's globals count too), each as `file, line n:
    the name 'x' is not one the report defines`, with the closest known name when one is
    close; [] when its syntax is wrong (syntax_problem says so)."""
    try:
        tree = parsed(path)
    except jinja2.TemplateSyntaxError:
        return []
    # a name the file sets itself (inside an \\BLOCK{if} too), or tests with `is defined`,
    # is the author's to answer for
    guarded = {t.node.name for t in tree.find_all(nodes.Test)
               if t.name in ("defined", "undefined") and isinstance(t.node, nodes.Name)}
    unknown = (jinja2.meta.find_undeclared_variables(tree) - known
               - set(_checks_env().globals) - _assigned(tree) - guarded)
    problems = []
    for name in sorted(unknown):
        line = min(n.lineno for n in tree.find_all(nodes.Name) if n.name == name)
        close = difflib.get_close_matches(name, sorted(known), n=1)
        problems.append(f"{path}, line {line}: the name '{name}' is not one the report "
                        f"defines" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return problems


def _innermost_open(env: jinja2.Environment, source: str) -> int | None:
    """The line of the innermost block tag that no `end...` tag closes, or None."""
    opened: list[int] = []
    tokens = iter(env.lex(env.preprocess(source)))
    for lineno, kind, _ in tokens:
        if kind != "block_begin":
            continue
        name = next((v for _, k, v in tokens if k != "whitespace"), "")
        if name in _OPENS:
            opened.append(lineno)
        elif name.startswith("end") and name[3:] in _OPENS and opened:
            opened.pop()
    return opened[-1] if opened else None


def per_channel(values: float | list[float], digits: int = 4) -> str:
    """Return one number per channel, `0.2860` or `0.4914, 0.4822, 0.4465` (a normalisation's
    mean or std; one number in a model.pt written before channels)."""
    numbers = values if isinstance(values, list) else [values]
    return ", ".join(f"{float(v):.{digits}f}" for v in numbers)
