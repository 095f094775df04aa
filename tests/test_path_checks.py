"""What a study writes and what its report reads stay inside the project (issue 10)."""


import pytest
from test_validation import SCHEMA, only_problem, problems

from conftest import make_workdir, run_snakemake
from nnreport.checks.config import validate_config


@pytest.mark.parametrize("study", ["..", ".", ".hidden"])
def test_a_study_name_cannot_leave_or_hide_its_folders(default_config, study):
    default_config["study"] = study
    assert only_problem(default_config) == (
        f"config.yaml: study is {study!r}; it names the folders results/<study>/, data/<study>/, "
        "logs/<study>/ and report/build/<study>/, so it must start with a letter or digit, e.g. "
        "'fashion_mnist'")


@pytest.mark.parametrize(("pdf", "says"), [
    ("/etc/passwd.pdf", "a path outside the project; give a path inside the project, e.g. "
                        "report/informe.pdf"),
    ("~/informe.pdf", "a path outside the project"),
    ("../informe.pdf", "which leads outside the project through '..'"),
    ("report/../../x.pdf", "which leads outside the project through '..'"),
    ("report/informe.tex", "the report is a PDF: end it in .pdf, e.g. report/informe.pdf"),
    ("results/informe.pdf", "inside results/, which the workflow manages itself"),
    ("./report/build/x.pdf", "inside report/build/, which the workflow manages itself"),
    (".git/x.pdf", "inside .git/"),
])
def test_the_published_report_stays_inside_the_project(default_config, pdf, says):
    default_config["report"]["pdf"] = pdf
    line = only_problem(default_config)
    assert line.startswith(f"config.yaml: report.pdf is {pdf!r}")
    assert says in line


@pytest.mark.parametrize(("key", "value"), [("sections", "/etc"),
                                            ("bibliography", "../../refs.bib")])
def test_the_report_reads_its_prose_and_references_from_inside_the_project(default_config,
                                                                             key, value):
    default_config["report"][key] = value
    assert "outside the project" in only_problem(default_config)


def test_paths_inside_the_project_are_fine(default_config):
    from test_validation import SCHEMA

    from nnreport.checks.config import validate_config

    default_config["report"].update(pdf="./out/mi informe.pdf", sections="report/sections",
                                    bibliography="report/refs.bib")
    default_config["study"] = "estudio.v2"
    validate_config(default_config, SCHEMA, ["config.yaml"])


def test_a_study_named_dotdot_is_refused_before_any_job(tmp_path, default_config):
    default_config["study"] = ".."
    path = make_workdir(tmp_path, default_config)
    (tmp_path / "report" / "informe.pdf").write_bytes(b"%PDF previous")
    proc = run_snakemake(tmp_path, "--cores", "1", "report/informe.pdf", config=path)
    assert proc.returncode != 0
    assert "study is '..'; it names the folders" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".snakemake", "config.yaml", "report"]
    assert (tmp_path / "report" / "informe.pdf").read_bytes() == b"%PDF previous"


def test_prose_the_template_includes_must_be_there_before_any_job(tmp_path, default_config,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "introduccion.tex").write_text("Hola.\n")
    default_config["report"].update(sections="mine", bibliography="refs/mine.bib")
    lines = problems(default_config)
    assert lines[0].startswith(
        "config.yaml: report.sections is 'mine', which lacks teoria.tex, datos.tex, modelos.tex, "
        "resultados.tex, discusion.tex, conclusiones.tex, agradecimientos.tex, "
        "apendice_modelos.tex, apendice_datos.tex (the report's template informe.tex.j2 includes "
        "them); copy them from the repository's report/sections/")
    assert lines[1] == ("config.yaml: report.bibliography is 'refs/mine.bib', which is not a "
                        "file; copy the repository's report/refs.bib there or name your own .bib "
                        "file")


def test_a_jinja_error_in_a_prose_file_is_refused_with_its_line_before_any_job(
        tmp_path, default_config, monkeypatch):
    import shutil

    from conftest import ROOT

    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "report" / "sections", tmp_path / "mine")
    discussion = tmp_path / "mine" / "discusion.tex"
    lines = discussion.read_text().splitlines()
    lines.insert(2, r"Un cambio mío \BLOCK{if best.resolved}sin cerrar.")  # no \BLOCK{endif}
    discussion.write_text("\n".join(lines) + "\n")
    (tmp_path / "report").mkdir()
    shutil.copy(ROOT / "report" / "refs.bib", tmp_path / "report" / "refs.bib")
    mine = default_config | {"report": default_config["report"] | {"sections": "mine"}}
    found = problems(mine)
    # named at the line that opens the block, not at the file's end where Jinja notices
    assert len(found) == 1 and found[0].startswith(
        "config.yaml: report.sections is 'mine': mine/discusion.tex, line 3: Unexpected end of "
        "template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'.")
    assert "Fix the \\VAR{...} or \\BLOCK{...} tag there" in found[0]
    # a tag never closed is named at its line
    lines[2] = r"Un cambio mío \VAR{runs|length sin cerrar."
    discussion.write_text("\n".join(lines) + "\n")
    assert "mine/discusion.tex, line 3: " in problems(mine)[0]
    # once closed, the same file passes
    lines[2] = r"Un cambio mío \BLOCK{if best.resolved}cerrado.\BLOCK{endif}"
    discussion.write_text("\n".join(lines) + "\n")
    validate_config(mine, SCHEMA, ("config.yaml",), None)  # raises nothing


def test_a_name_the_report_does_not_define_in_a_prose_file_is_refused_before_any_job(
        tmp_path, default_config, monkeypatch):
    import shutil

    from conftest import ROOT

    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "report" / "sections", tmp_path / "report" / "sections")
    shutil.copy(ROOT / "report" / "refs.bib", tmp_path / "report" / "refs.bib")
    discussion = tmp_path / "report" / "sections" / "discusion.tex"
    lines = discussion.read_text().splitlines()
    lines.insert(2, r"La mejor es \VAR{bset.label}, de \VAR{ruuns|length}.")
    discussion.write_text("\n".join(lines) + "\n")
    # the schema's default prose folder is checked too (report: sections not given)
    default_config["report"].pop("sections", None)
    found = problems(default_config)
    assert found == [
        f"config.yaml: report.sections is 'report/sections': report/sections/discusion.tex, "
        f"line 3: the name '{typo}' is not one the report defines (did you mean '{name}'?). "
        "Use a name of the README's 'Writing the prose' (or set it first with "
        "\\BLOCK{set name = ...})" for typo, name in (("bset", "best"), ("ruuns", "runs"))]
    # a name the file sets itself, or guards with `is defined`, is the author's own
    lines[2] = (r"\BLOCK{if best}\BLOCK{set mio = best.label}\BLOCK{endif}\VAR{mio}"
                r"\BLOCK{if otro is defined}\VAR{otro}\BLOCK{endif}")
    discussion.write_text("\n".join(lines) + "\n")
    validate_config(default_config, SCHEMA, ("config.yaml",), None)  # raises nothing


@pytest.mark.parametrize("kind", ["experiments", "autoencoder", "models"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_name_the_shipped_templates_and_prose_use_is_one_the_report_defines(kind,
                                                                                 language):
    """The check refuses no name the project's own prose uses: each kind's prose files, in
    both languages, use only names its context holds or its templates set (the report job
    checks each context it builds against the same list). An autoencoder study's prose is its
    own three files where its template replaces the Table I study's blocks."""
    from conftest import ROOT
    from nnreport.checks.paths import TEMPLATES, included_prose, report_names
    from nnreport.config.templates import template_path
    from nnreport.reporting.jinja import unknown_names
    from nnreport.studies.kinds import CONTEXT_NAMES

    default = {"experiments": "informe", "autoencoder": "autoencoder", "models": "tp"}[kind]
    template = template_path(TEMPLATES, default, language)
    prose = ROOT / "report" / "sections" / ("" if language == "es" else language)
    prose = prose / "tp" if kind == "models" else prose
    known = report_names(kind, template)
    files = [prose / f for f in included_prose(template)]
    assert len(files) > 5 and CONTEXT_NAMES[kind] <= known
    assert ("resultados_autoencoder.tex" in included_prose(template)) == (
        "resultados.tex" not in included_prose(template)) == (kind == "autoencoder")
    assert [p for f in files for p in unknown_names(f, known)] == []
