"""Config text that reaches the report, checked before any job: no control character anywhere,
in the report's prose only characters pdflatex prints, no word too long to break across a
line, and math on purpose (`\\( ... \\)`) that only typesets: a config can never make TeX read
or write a file, define a macro or fail on an undefined one after all the training."""

from __future__ import annotations

from collections.abc import Iterator

from nnreport.base.texescape import (
    is_control,
    math_problem,
    math_segments,
    unprintable,
    without_math,
)
from nnreport.config.messages import ConfigPath, Problem, format_path, leaves

LONGEST_WORD = 40  # characters: wider than a column of the report, it sticks out of it
# Values that name files or folders: checked for control characters only (they are not prose).
PATH_KEYS = {("dataset", "root"), ("dataset", "download_dir"), ("dataset", "path"),
             ("dataset", "test_root"), ("report", "pdf"), ("report", "sections"),
             ("report", "bibliography"), ("report", "template")}
# The report's prose typed in the config: its words must break across lines.
PROSE = {("report", "title"), ("report", "abstract"), ("report", "date"),
         ("report", "authors", "*", "*"), ("report", "knobs", "*"),
         ("experiments", "*", "objective"), ("models", "*", "description"),
         ("dataset", "title"), ("dataset", "description")}


def _matches(path: ConfigPath, patterns: set[tuple]) -> bool:
    return any(len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path, strict=True))
               for p in patterns)


def _control(text: str) -> str | None:
    for i, ch in enumerate(text):
        if is_control(ch):
            return f"the control character U+{ord(ch):04X} at character {i + 1}"
    return None


def text_problems(config: dict) -> Iterator[Problem]:
    """Yield every config string the report cannot print as it is, naming its key and the fix."""
    for path, text in leaves(config):
        if not isinstance(text, str):
            continue
        at = format_path(path)
        control = _control(text)
        if control:
            yield Problem(path, f"{at} holds {control}; remove it (it cannot be printed or "
                                f"used in a file name)")
            continue
        if path in PATH_KEYS or (len(path) > 1 and path[0] == "dataset" and path[1] == "md5"):
            continue
        bad = unprintable(text)
        if bad:
            yield Problem(path, f"{at} holds {', '.join(bad[:3])}, which pdflatex cannot print "
                                f"with the report's fonts; write it with Latin letters, or in "
                                f"words")
            continue
        wrong = next(((m, p) for m in math_segments(text) if (p := math_problem(m))), None)
        if wrong:
            yield Problem(path, f"{at}: the math \\({wrong[0]}\\) holds {wrong[1]}")
            continue
        if _matches(path, PROSE):
            words = without_math(text).split()
            word = max(words or [""], key=len)
            if len(word) > LONGEST_WORD:
                yield Problem(path, f"{at} holds a word of {len(word)} characters "
                                    f"({word[:20]}...), too long to break across a line of "
                                    f"the report; split it with spaces or shorten it to "
                                    f"{LONGEST_WORD} at most")
