"""The Jinja context of the report: every number, label and string the LaTeX may show."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import textwrap
import unicodedata
from pathlib import Path

from nnreport.base.families import constructor_arguments
from nnreport.base.texescape import escape
from nnreport.base.usercode import class_source, parse_target
from nnreport.data.registry import describe
from nnreport.reporting.labels import variant_label
from nnreport.reporting.words import entry, word


def long_date(day: dt.date) -> str:
    """Return `day` written out in the report's language: `25 de noviembre de 2026`."""
    return word("date", day=day.day, month=entry("months")[day.month - 1], year=day.year)


def duration(seconds: float | None) -> str:
    """Return a duration for prose: `43 ms`, `0.4 s`, `42 s`, `3 min 05 s`, `1 h 02 min` (the
    decimal point every number of the report uses)."""
    if seconds is None:
        return word("duration_unknown")
    if seconds < 0.095:  # four tiny runs are not "0.0 s"
        return f"{seconds * 1000:.2g}\\,ms"
    if seconds < 9.95:  # a quick run is not "0 s"
        return f"{seconds:.1f}\\,s"
    s = int(round(seconds))
    if s < 60:
        return f"{s}\\,s"
    if s < 3600:
        return f"{s // 60}\\,min {s % 60:02d}\\,s"
    return f"{s // 3600}\\,h {s % 3600 // 60:02d}\\,min"


def report_metadata(rep: dict) -> dict:
    """Return the report's title, authors, date and abstract, LaTeX-escaped."""
    authors = [{k: escape(str(a[k])) if a.get(k) else None
                for k in ("name", "affiliation", "email")} for a in rep.get("authors", [])]
    date = rep.get("date")
    return {"title": escape(rep.get("title", "")), "authors": authors,
            "date": escape(str(date)) if date else long_date(dt.date.today()),
            "abstract": escape(rep.get("abstract", ""))}


def provenance_context(provenance: dict) -> dict:
    """Return the provenance ready for the report: short commit, escaped devices, durations."""
    git = provenance["git"]
    return {
        **provenance,
        "commit": git["commit"][:12] if git["commit"] else word("no_git"),
        "dirty": git["dirty"],
        "devices": [escape(d) for d in provenance["devices"]],
        "total_train": duration(provenance["total_train_seconds"]),
        "grid_wall": duration(provenance["grid_wall_seconds"]),
    }


# What listings prints of code beyond ASCII: the characters the templates' listing set-up maps
# (`literate={á}{{\'a}}1 ...`; an editable install keeps the templates beside the package).
LISTINGS = Path(__file__).resolve().parents[3] / "report" / "templates" / "listados.tex.j2"
LISTING_LETTERS = set(re.findall(r"\{([^{}\x00-\x7f])\}\{\{", LISTINGS.read_text(encoding="utf-8")))


def listing_code(code: str) -> str:
    """Return code as a listing prints it: ASCII and the letters of LISTING_LETTERS as they
    are, any other character as its closest ASCII (its accent dropped) or `?`; a line that
    would close the listing (`\\end{lstlisting}`) keeps its text but not that effect."""
    out = []
    for ch in code:
        if ch.isascii() or ch in LISTING_LETTERS:
            out.append(ch)
            continue
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append(plain or "?")
    return "".join(out).replace("\\end{lstlisting}", "\\end {lstlisting}")


def model_sources(names: set[str]) -> list[dict]:
    """Return the source code of every model class used: a built-in's read from the package,
    after the functions and classes it builds its layers with (`helpers`: their names); a
    user's class as written in their file (`file`: its path)."""
    from nnreport.models.registry import family  # PyTorch's classes: the report job only

    sources: list[dict] = []
    for n in sorted(names):
        target = parse_target(n)
        if target is not None:
            code, helpers = class_source(target)
            sources.append({"name": escape(target.name), "key": n,
                            "helpers": helpers,
                            "file": escape(target.path), "code": listing_code(code)})
            continue
        fam = family(n)
        parts = [*fam.helpers, fam.module]
        sources.append({"name": fam.module.__name__, "key": n, "file": None,
                        "helpers": [h.__name__ for h in fam.helpers],
                        "code": "\n\n".join(inspect.getsource(h).rstrip("\n") for h in parts)
                        + "\n"})
    return sources


def gradient_steps(runs: list[dict], labels: dict[str, str]) -> dict:
    """What computed each run's gradients, for the appendix: the labels of the runs trained
    with the hand-written backward pass, with autograd and from scratch, and where the first
    is written and tested (runs written before this was recorded count as unknown)."""
    steps: dict[str, list[str]] = {"backprop": [], "autograd": [], "scratch": []}
    for run in runs:
        label = labels[run["variant"]]
        if run.get("gradients") in steps and label not in steps[run["gradients"]]:
            steps[run["gradients"]].append(label)
    # the step itself, shown in the appendix beside the model when a run used it
    code = ""
    if steps["backprop"]:
        from nnreport.training.backprop import BackpropStep  # imports PyTorch

        code = listing_code(textwrap.dedent(inspect.getsource(BackpropStep.__call__)))
    return {**steps, "code": code, "module": escape("nnreport/training/backprop.py"),
            "test": escape("tests/test_backprop.py"),
            "test_name": escape("test_hand_written_gradients_equal_autograd_in_float64")}


def user_model(hparams: dict, run: dict) -> dict | None:
    """Return what the prose says of a user's own class (None for a built-in family): its name
    and file, the base's constructor arguments (`canales = 8`) and its layers by kind, as
    trained (`run`: the base run's run.json)."""
    target = parse_target(hparams.get("model"))
    if target is None:
        return None
    layers = run.get("layers") or {}
    kinds = entry("layer_kinds")
    counted = [word("layer_count", n=n, kind=kinds[k][0 if n == 1 else 1])
               for k, n in layers.items() if k in kinds]
    check = run.get("gradient_check")
    return {"name": escape(target.name), "file": escape(target.path),
            "arguments": [variant_label(k, v) for k, v in constructor_arguments(hparams).items()],
            "layers": counted, "has": sorted(layers),
            "task": hparams.get("task", "classification"),
            "backend": hparams.get("backend", "torch"),
            "dtype": run.get("dtype"),  # a from-scratch class's arrays (float32, float64)
            # a from-scratch backward against finite differences, before training
            "gradient_check": None if not check else {
                "error": scientific(check["error"]), "coordinates": check["coordinates"],
                "parameters": check["parameters"], "worst": escape(check["parameter"]),
                "eps": scientific(check["eps"])}}


def scientific(x: float) -> str:
    """Return `x` in LaTeX math for prose: `$3.2 \\times 10^{-9}$`, `$0$`."""
    if x == 0:
        return "$0$"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"${mantissa} \\times 10^{{{int(exponent)}}}$"


def confusion_words(summary: dict) -> dict:
    """Return a confusion matrix's summary (confusion.json) with its class names escaped for
    the prose: the most frequent confusion, the best and the worst recognised classes (those
    it has: an autoencoder study's placeholder has none)."""
    out = dict(summary)
    if "confusion" in summary:
        out["confusion"] = {**summary["confusion"], "true": escape(summary["confusion"]["true"]),
                            "pred": escape(summary["confusion"]["pred"])}
    for k in ("easiest", "hardest"):
        if k in summary:
            out[k] = {**summary[k], "name": escape(summary[k]["name"])}
    return out


def dataset_context(dataset: dict) -> dict:
    """Return what the report says of the study's dataset, from the dataset registry: its name
    and citation, its images' size, channels and inputs, what they show, and whether they are
    the user's own (no citation, no one to thank for publishing them)."""
    info = describe(dataset)
    c, h, w = info.shape
    return {"key": info.key, "name": escape(info.title),
            "citation": f"~\\cite{{{info.cite}}}" if info.cite else "",
            "channels": c, "colour": c > 1, "height": h, "width": w, "inputs": c * h * w,
            "size": f"${h}\\times {w}$", "own": info.own,
            "test_part": info.sizes[1] > 0,  # its images come as a train and a test part
            # its raw files checked against their published MD5s, or the config's own
            "md5": "given" if dataset.get("md5") else ("published" if info.verified else None),
            # what the images show: the registry's words, or the user's own phrase (or none)
            "content": (escape(info.description or "") if info.own
                        else word(f"datasets.{info.key}"))}
