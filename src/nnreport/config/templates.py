"""Where the report's templates are: one folder per language (Spanish at the top), and the
parts a language's folder shares with the Spanish one. Light: the Snakefile reads it."""

from __future__ import annotations

from pathlib import Path


def template_path(folder: Path, name: str, language: str = "es") -> Path:
    """The report template `name` in `language`: `folder/<name>.tex.j2` in Spanish, else
    `folder/<language>/<name>.tex.j2`."""
    return (folder if language == "es" else folder / language) / f"{name}.tex.j2"


def template_folders(template: Path) -> list[Path]:
    """Where a template's includes are looked for: its own folder, then, for a language's
    folder (report/templates/en/), the Spanish one above it (the parts it shares)."""
    folders = [template.parent]
    if (template.parent.parent / template.name).is_file():
        folders.append(template.parent.parent)
    return folders


def template_part(template: Path, name: str) -> Path | None:
    """The template part `name` as `template`'s loader finds it, or None (author's prose)."""
    return next((f / name for f in template_folders(template) if (f / name).is_file()), None)


def default_sections(config: dict) -> dict:
    """Give the report the prose of its language and kind when the config names none:
    report/sections/ for a Spanish Table I study, report/sections/<language>/ for another
    language (`report: language: en` alone, not the schema's Spanish default, which would put
    English headings over Spanish prose), and their tp/ folder for a model study (`models:`);
    returns `config`."""
    report = config.get("report")
    if isinstance(report, dict) and "sections" not in report:
        language = report.get("language", "es")
        folder = "report/sections" + ("" if language == "es" else f"/{language}")
        if "models" in config:
            folder += "/tp"
        if folder != "report/sections" and isinstance(language, str):
            report["sections"] = folder
    return config
