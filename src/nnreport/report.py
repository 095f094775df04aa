"""Fill the Jinja LaTeX template from the results and compile it with latexmk."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import re
import shutil
import subprocess
from pathlib import Path

import jinja2
import pandas as pd

from nnreport import models
from nnreport.grid import Variant
from nnreport.io import atomic_path, write_text
from nnreport.labels import format_value, knob_name, variant_label
from nnreport.texescape import escape

log = logging.getLogger(__name__)

MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre"]


class LatexError(RuntimeError):
    """LaTeX failed; the message holds the relevant lines of its log."""


def spanish_date(day: dt.date) -> str:
    """Return `day` written in Spanish: `25 de noviembre de 2026`."""
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


def thousands(n: int) -> str:
    """Return an integer with thin-space thousands separators for LaTeX: `60\\,000`."""
    return f"{int(n):,}".replace(",", r"\,")


def latex_env(*folders: str | Path) -> jinja2.Environment:
    """Return a Jinja environment whose delimiters do not clash with LaTeX."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix="%%", line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    env.filters["tex"] = escape
    env.filters["thousands"] = thousands
    return env


def model_sources(names: set[str]) -> list[dict]:
    """Return the source code of every model class used, read from the package."""
    out = []
    for name in sorted(names):
        cls = models.MODELS[name]
        out.append({"name": cls.__name__, "key": name, "code": inspect.getsource(cls)})
    return out


def build_context(config: dict, variants: list[Variant], summary: pd.DataFrame,
                  base_run: dict, classes: list[str], figures: dict[str, str],
                  best: dict) -> dict:
    """Return everything the template and the author's prose may use, ready for LaTeX."""
    rep = config.get("report", {})
    stats = summary.set_index("variant")
    base_acc = stats.loc["base", "final_val_accuracy_mean"]
    runs = []
    for v in variants:
        s = stats.loc[v.name]
        runs.append({
            "name": v.name, "label": variant_label(v.knob, v.value), "experiment": v.experiment,
            "final_accuracy": 100 * s["final_val_accuracy_mean"],
            "best_accuracy": 100 * s["best_val_accuracy_mean"],
            "best_epoch": int(round(s["best_epoch_mean"])),
            "delta_pp": 100 * (s["final_val_accuracy_mean"] - base_acc),
            "seconds": s["train_seconds_mean"], "diverged": bool(s["diverged"]),
        })
    by_exp = {}
    for r in runs:
        by_exp.setdefault(r["experiment"], []).append(r)
    experiments = []
    for i, exp in enumerate(config["experiments"], start=1):
        knob = next(iter(exp["vary"])) if exp.get("vary") else None
        experiments.append({
            "number": i, "id": exp["id"], "objective": escape(exp.get("objective", "")),
            "knob": knob, "knob_name": knob_name(knob) if knob else None,
            "figure": figures.get(exp["id"]), "runs": by_exp.get(exp["id"], []),
        })
    authors = [{k: escape(str(a[k])) if a.get(k) else None
                for k in ("name", "affiliation", "email")} for a in rep.get("authors", [])]
    date = rep.get("date")
    base = config["base"]
    return {
        "report": {
            "title": escape(rep.get("title", "")),
            "authors": authors,
            "date": escape(str(date)) if date else spanish_date(dt.date.today()),
            "abstract": escape(rep.get("abstract", "")),
        },
        "study": config["study"],
        "epochs": int(config["epochs"]),
        "seeds": list(config.get("seeds", [0])),
        "base": {k: format_value(k, v) for k, v in base.items() if k != "model"},
        "base_raw": base,
        "experiments": experiments,
        "runs": runs,
        "base_run": base_run,
        "classes": [escape(c) for c in classes],
        "n_train": base_run["normalisation"]["n_train"],
        "n_val": base_run["normalisation"]["n_val"],
        "best": best,
        "model_sources": model_sources({base["model"]}),
        "device": escape(base_run.get("device_name", "")),
    }


def render(template: str | Path, sections: str | Path, context: dict, out: str | Path) -> None:
    """Render `template` (which includes the author's files from `sections`) to `out`."""
    template, sections = Path(template), Path(sections)
    env = latex_env(template.parent, sections)
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


def compile_pdf(tex: str | Path, pdf: str | Path) -> None:
    """Compile `tex` with latexmk in its own folder and move the PDF to `pdf` atomically."""
    tex = Path(tex)
    if shutil.which("latexmk") is None:
        raise LatexError("latexmk is not installed; install it with `apt-get install latexmk "
                         "texlive-publishers texlive-lang-spanish texlive-latex-extra "
                         "texlive-science` (or run `make setup`)")
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           tex.name]
    proc = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True)
    log_path = tex.with_suffix(".log")
    log_text = log_path.read_text(errors="replace") if log_path.exists() else proc.stdout
    if proc.returncode != 0:
        raise LatexError(f"LaTeX failed on {tex} (full log: {log_path}):\n"
                         f"{log_excerpt(log_text)}")
    with atomic_path(pdf) as tmp:
        shutil.copyfile(tex.with_suffix(".pdf"), tmp)
