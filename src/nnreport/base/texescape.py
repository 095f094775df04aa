"""LaTeX escaping of user-supplied text, with one explicit way to write math on purpose, and
what such text may hold: characters pdflatex can print, math that only typesets (no command
that reads or writes a file, defines a macro or changes how TeX reads its input)."""

from __future__ import annotations

import re
import unicodedata

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
# Math written on purpose: \( ... \) passes through unchanged (e.g. 'Variar \(n_1\).') when it
# holds only what math needs (math_problem); any other is printed as the text it is.
_MATH_RE = re.compile(r"\\\((.*?)\\\)", re.DOTALL)

# The characters beyond ASCII that pdflatex prints with the report's preamble (inputenc utf8,
# fontenc T1 with TS1 and OMS): those declared by LaTeX's t1enc.dfu, ts1enc.dfu, ot1enc.dfu,
# omsenc.dfu and utf8.def (TeX Live 2023, Debian's texlive-latex-base), as code-point ranges.
# tests/test_texts.py derives the same list from the installed files and compiles them all.
PRINTABLE_RANGES = (
    "00A0-0125 0128-0137 0139-013E 0141-0148 014A-0165 0168-017E 0192 01C4-01D4 01E2-01E3 "
    "01E6-01EB 01F0 01F4-01F5 0218-021B 0232-0233 0237 02C6-02C7 02D8-02D9 02DB-02DD 0E3F "
    "1E02-1E03 1E0D 1E1E-1E21 1E25 1E30-1E31 1E37 1E43 1E45 1E47 1E5B 1E63 1E6D 1E8E-1E91 1E9E "
    "1EF2-1EF3 200C 2010-2016 2018-201A 201C-201E 2020-2022 2026 2030-2031 2039-203B 203D 2044 "
    "204E 2052 20A1 20A4 20A6 20A9 20AB-20AC 20B1 2103 2116-2117 211E 2120 2122 2126-2127 212E "
    "2190-2193 2329-232A 2422-2423 25E6 25EF 266A 27E8-27E9 3008-3009 FB00-FB06 FEFF")


def _code_points(ranges: str) -> frozenset[int]:
    points: set[int] = set()
    for part in ranges.split():
        low, _, high = part.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(points)


PRINTABLE = _code_points(PRINTABLE_RANGES)

# What math on purpose may use: the commands of amsmath and amssymb that only typeset.
_MATH_WORDS = """
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi
varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi
Pi Sigma Upsilon Phi Psi Omega
times cdot pm mp div ast star circ bullet oplus otimes leq le geq ge neq ne approx sim simeq
cong equiv propto ll gg prec succ subset subseteq supset supseteq in notin ni cup cap setminus
emptyset varnothing forall exists neg lnot land lor wedge vee to rightarrow leftarrow
Rightarrow Leftarrow leftrightarrow Leftrightarrow mapsto implies iff uparrow downarrow infty
partial nabla ell hbar prime top bot mid parallel perp angle
sum prod int oint lim limsup liminf max min sup inf arg argmax argmin det exp log ln lg sin
cos tan sinh cosh tanh arcsin arccos arctan sec csc cot deg dim ker Pr gcd
frac dfrac tfrac sqrt binom dbinom tbinom mathrm mathbf mathit mathsf mathtt mathcal mathbb
mathfrak boldsymbol text textrm textit textbf operatorname hat widehat bar overline underline
tilde widetilde vec dot ddot check breve acute grave overbrace underbrace
left right big Big bigg Bigg bigl bigr Bigl Bigr langle rangle lfloor rfloor lceil rceil
lvert rvert lVert rVert vert Vert backslash
ldots cdots vdots ddots dots quad qquad
"""
MATH_COMMANDS = frozenset(_MATH_WORDS.split())
_MATH_SYMBOLS = set(",;:! {}|_%#&$")  # \, \; \: \! \  \{ \} \| and escaped specials
_MATH_FORBIDDEN = {"$": "a dollar sign (it leaves math)", "%": "a percent sign (it comments "
                   "out the rest of the line)", "#": "a hash sign", "&": "an ampersand",
                   "~": "a tilde"}


def math_problem(math: str) -> str | None:
    r"""Return why the math `\( math \)` cannot be typeset as written, with the fix; None when it
    holds only letters, digits, ASCII operators, balanced braces and MATH_COMMANDS."""
    if "^^" in math:
        return "'^^' (TeX reads it as another character); write a single ^ for a superscript"
    depth = 0
    i = 0
    while i < len(math):
        ch = math[i]
        if ch == "\\":
            name = re.match(r"[A-Za-z]+", math[i + 1 :])
            if name:
                if name.group() not in MATH_COMMANDS:
                    return (f"\\{name.group()}, which math on purpose does not allow (only the "
                            f"commands that typeset symbols: Greek letters, \\frac, \\sqrt, "
                            f"\\mathrm, \\times, \\leq, ...); write it differently")
                i += 1 + len(name.group())
                continue
            if i + 1 < len(math) and math[i + 1] in _MATH_SYMBOLS:
                i += 2
                continue
            return "a lone backslash; write \\backslash for the symbol"
        if ch in _MATH_FORBIDDEN:
            return f"{_MATH_FORBIDDEN[ch]}; leave it out of the math, or write \\{ch}"
        if not (ch.isascii() and (ch.isprintable() or ch in "\n\t")):
            return (f"'{ch}' (U+{ord(ch):04X}); math takes ASCII only: write its command (e.g. "
                    f"\\alpha for α, \\leq for ≤)")
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return "a '}' that closes no '{'; balance the braces"
        i += 1
    return "a '{' that is never closed; balance the braces" if depth else None


def math_segments(text: str) -> list[str]:
    """Return the math on purpose (`\\( ... \\)`) of `text`, without its delimiters."""
    return [m.group(1) for m in _MATH_RE.finditer(text)]


def without_math(text: str) -> str:
    """Return `text` with each math segment replaced by a space."""
    return _MATH_RE.sub(" ", text)


def is_control(ch: str) -> bool:
    """Whether `ch` is a control character (C0 but tab and newline, DEL, C1)."""
    code = ord(ch)
    return (code < 0x20 and ch not in "\n\t") or 0x7F <= code < 0xA0


def unprintable(text: str) -> list[str]:
    """Return each distinct character of `text` that pdflatex cannot print with the report's
    preamble (control characters, emoji, scripts its fonts lack), as it would be named."""
    found = []
    for ch in dict.fromkeys(text):
        code = ord(ch)
        if ch in "\n\t" or 0x20 <= code < 0x7F or code in PRINTABLE:
            continue
        name = unicodedata.name(ch, "a control character" if is_control(ch) else "unnamed")
        found.append(f"U+{code:04X} ({name})")
    return found


def escape_plain(text: str) -> str:
    """Return `text` with every LaTeX special character escaped."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], text)


_PLAIN = {v: k for k, v in _SPECIAL.items() if k not in "\\$"}  # what matplotlib prints as is
_PLAIN_RE = re.compile("|".join(re.escape(c) for c in _PLAIN))


def figure_text(label: str) -> str:
    """Return a LaTeX label (escaped text, `$...$` math) as matplotlib's text prints it: the
    characters escape() escaped outside math as themselves (`Tasa \\& 50\\%` -> `Tasa & 50%`),
    math unchanged (mathtext reads it)."""
    parts = label.split("$")  # a tie (`~`, never the text's own: that is escaped) is a space
    return "$".join(p if i % 2 else _PLAIN_RE.sub(lambda m: _PLAIN[m.group()],
                                                  p.replace("~", " "))
                    for i, p in enumerate(parts))


def escape(text: str) -> str:
    """Return `text` escaped for LaTeX, keeping `\\( ... \\)` segments as inline math when they
    hold only what math needs (math_problem; the checks refuse the others before any job, and
    here they print as the text they are, never as commands)."""
    out, pos = [], 0
    for m in _MATH_RE.finditer(text):
        out.append(escape_plain(text[pos : m.start()]))
        math = m.group(1)
        out.append(escape_plain(m.group()) if math_problem(math) else f"${math}$")
        pos = m.end()
    out.append(escape_plain(text[pos:]))
    return "".join(out)
