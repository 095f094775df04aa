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


def escape(text: str) -> str:
    """Return `text` escaped for LaTeX, keeping `\\( ... \\)` segments as inline math."""
    out, pos = [], 0
    for m in _MATH_RE.finditer(text):
        out.append(escape_plain(text[pos : m.start()]))
        out.append(f"${m.group(1)}$")
        pos = m.end()
    out.append(escape_plain(text[pos:]))
    return "".join(out)
