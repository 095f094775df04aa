"""LaTeX escaping of user-supplied text, with one explicit way to write math on purpose."""

from __future__ import annotations

import re

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))
# Math written on purpose: \( ... \) passes through unchanged (e.g. 'Variar \(n_1\).').
_MATH_RE = re.compile(r"\\\((.*?)\\\)", re.DOTALL)


def escape_plain(text: str) -> str:
    """Return `text` with every LaTeX special character escaped."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], text)


_PLAIN = {v: k for k, v in _SPECIAL.items() if k not in "\\$"}  # what matplotlib prints as is
_PLAIN_RE = re.compile("|".join(re.escape(c) for c in _PLAIN))


def figure_text(label: str) -> str:
    """Return a LaTeX label (escaped text, `$...$` math) as matplotlib's text prints it: the
    characters escape() escaped outside math as themselves (`Tasa \\& 50\\%` -> `Tasa & 50%`),
    math unchanged (mathtext reads it)."""
    parts = label.split("$")
    return "$".join(p if i % 2 else _PLAIN_RE.sub(lambda m: _PLAIN[m.group()], p)
                    for i, p in enumerate(parts))


def escape(text: str) -> str:
    """Return `text` escaped for LaTeX, keeping `\\( ... \\)` segments as inline math."""
    out, pos = [], 0
    for m in _MATH_RE.finditer(text):
        out.append(escape_plain(text[pos : m.start()]))
        out.append(f"${m.group(1)}$")
        pos = m.end()
    out.append(escape_plain(text[pos:]))
    return "".join(out)
