"""The published report is always built from the current results: a failed build is retried
by the next invocation, and results of another config are refused (the real workflow)."""

from __future__ import annotations

import json
import shlex

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import (
    copy_study,
    job_counts,
    needs_fashion_mnist,
    run_snakemake,
    snakemake,
)
from nnreport.base.io import atomic_path


@pytest.fixture
def built(tiny_study, tmp_path):
    """A copy of the session's built tiny study, for one test to change."""
    return copy_study(tiny_study, tmp_path)


@needs_fashion_mnist
def test_a_failed_build_publishes_nothing_and_the_next_invocation_builds_again(built, tmp_path):
    workdir, config = built
    pdf, previous = workdir / "report" / "tiny.pdf", workdir / "report" / "tiny.previous.pdf"
    before = pdf.read_bytes()
    bundle = workdir / "report" / "tiny-source.zip"
    bundle_before = bundle.read_bytes()
    # a machine problem outside the sources: a broken package that LaTeX finds first
    broken = tmp_path / "broken-tex"
    broken.mkdir()
    (broken / "lmodern.sty").write_text("\\ProvidesPackage{lmodern}\\nnreportbrokenpackage\n")
    with open(workdir / "report" / "sections" / "datos.tex", "a") as prose:
        prose.write("\n%% the author edits the prose, with a LaTeX habit: %% comments\n")
    failed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config,
                           env={"TEXINPUTS": f"{broken}:"})
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "nnreportbrokenpackage" in out
    assert ("report/tiny.pdf is not built from the current results: the previous report is "
            "report/tiny.previous.pdf; the next run of the workflow builds it again") in out
    assert not pdf.exists() and previous.read_bytes() == before
    # nor its source bundle: that of the previous report waits beside it, named as such
    previous_bundle = workdir / "report" / "tiny-source.previous.zip"
    assert not bundle.exists() and previous_bundle.read_bytes() == bundle_before
    # the machine is fixed: the same command builds the report, it does not say "Nothing to do"
    fixed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert "localrule report:" in fixed.stdout + fixed.stderr
    assert pdf.read_bytes().startswith(b"%PDF-") and not previous.exists()
    assert bundle.is_file() and not previous_bundle.exists()


@needs_fashion_mnist
def test_results_of_another_config_are_not_reported(built):
    workdir, config = built
    metrics = workdir / "results" / "tiny" / "runs" / "n1~16" / "seed0" / "metrics.parquet"
    table = pq.read_table(metrics)  # as if another invocation had trained it with other values
    meta = dict(table.schema.metadata)
    run_config = json.loads(meta[b"nnreport.run"])
    expected, run_config["hash"] = run_config["hash"], "0123456789ab"
    meta[b"nnreport.run"] = json.dumps(run_config).encode()
    with atomic_path(metrics) as tmp:  # written (and sealed) as the workflow writes it
        pq.write_table(table.replace_schema_metadata(meta), tmp)
    failed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert (f"results/tiny: results of another config, not reported: n1~16/seed0 (trained with "
            f"config 0123456789ab, the config now gives {expected})") in out
    assert not (workdir / "report" / "tiny.pdf").exists()
    # the command the message gives retrains that run; then the report builds
    command = shlex.split(out.split("retrain them with `", 1)[1].split("`", 1)[0])
    assert command[:4] == ["snakemake", "--cores", "1", "--force"]
    assert run_snakemake(workdir, *command[1:], config=config).returncode == 0
    snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    assert (workdir / "report" / "tiny.pdf").read_bytes().startswith(b"%PDF-")


def test_a_second_build_of_the_same_report_at_once_is_refused(tmp_path):
    from nnreport.reporting.build import LatexError, build_lock

    with build_lock(tmp_path), pytest.raises(LatexError, match="another build of this report "
                                                               "is running"), build_lock(tmp_path):
        pass
    with build_lock(tmp_path):  # free again once the first build ends
        pass



@needs_fashion_mnist
def test_a_macro_that_never_ends_in_the_prose_is_stopped_by_the_time_limit(built):
    """Config math cannot hold \\def (checks/texts.py refuses it before any job); the author's
    prose files can, and a loop there is stopped by the time limit."""
    workdir, config = built
    study = yaml.safe_load(config.read_text())
    study["report"]["latex_timeout"] = 5
    config.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False))
    prose = workdir / "report" / "sections" / "discusion.tex"
    prose.write_text(prose.read_text() + "\n\\def\\x{\\x}\\x\n")
    failed = run_snakemake(workdir, "--cores", "1", "report/tiny.pdf", config=config)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "within 5 s (report: latex_timeout) and was stopped" in out
    assert "such as \\def\\x{\\x}\\x, in a prose file" in out
    assert "train" not in job_counts(out)  # nothing else was redone
    assert not (workdir / "report" / "tiny.pdf").exists()
