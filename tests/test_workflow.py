"""The real Snakemake on a tiny config, all the way to a PDF, plus dry runs of the default."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import (
    ROOT,
    SNAKEMAKE,
    copy_study,
    job_counts,
    make_workdir,
    needs_fashion_mnist,
    pdf_text,
    snakemake,
    train_jobs,
)

TINY = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
# Every LaTeX special character in every user string: the report must print them as typed.
HOSTILE_TITLE = "Informe & prueba: 100% de $ y #1_{x} ~ ^ \\fin"
HOSTILE = {
    "title": HOSTILE_TITLE,
    "authors": [{"name": "Ana & Bruno_O'Neil", "affiliation": "Lab {A} #3 ~ 50% ^",
                 "email": "a_b@example.org"}],
    "abstract": "Texto con & % _ # $ { } ~ ^ \\ y nada más.",
}



def test_default_config_dry_run_lists_twelve_runs_with_three_seeds_each(tmp_path):
    make_workdir(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    out = snakemake(tmp_path, "-n", "report/informe.pdf")
    counts = job_counts(out)
    assert counts["train"] == 12 * 3
    assert counts["learning_curves"] == 6 and counts["report"] == 1


def test_training_jobs_never_outnumber_the_cpus_and_the_longest_start_first(tmp_path):
    import os

    make_workdir(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    cpus = len(os.sched_getaffinity(0))
    out = snakemake(tmp_path, "-n", "--cores", str(4 * cpus), "report/informe.pdf")
    jobs = train_jobs(out)
    assert len(jobs) == 12 * 3
    # 4 cores per CPU: each training job claims 4 of them, so at most `cpus` train at once,
    # each computing with 1 thread
    assert {j["threads"] for j in jobs} == {"4"}
    assert all("math_threads=1" in j["resources"] for j in jobs)
    priority = {j["wildcards"].split(",")[0].split("=")[1]: float(j["priority"]) for j in jobs}
    assert max(priority, key=priority.get) == "n1~256"
    assert min(priority, key=priority.get) == "n1~64"
    assert priority["batch_size~128"] > priority["base"] > priority["batch_size~512"]
    one_core = train_jobs(snakemake(tmp_path, "-n", "--cores", "1", "report/informe.pdf"))
    assert all("threads" not in j and "math_threads=1" in j["resources"] for j in one_core)




@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny study built once through the real workflow."""
    tmp = tmp_path_factory.mktemp("tiny")
    hostile = {**TINY, "report": {**TINY["report"], **HOSTILE}}
    hostile["experiments"] = [dict(e) for e in TINY["experiments"]]
    hostile["experiments"][1]["objective"] = "Variar \\(n_1\\) & ver 50% de $_#"
    # a run that diverges at once: the grid and the report must still complete
    hostile["experiments"].append({"id": "lr", "objective": "Divergir.", "vary": {"lr": [1e30]}})
    config = make_workdir(tmp, hostile)
    out = snakemake(tmp, "--cores", "2", "report/tiny.pdf", config=config)
    return tmp, config, out


@needs_fashion_mnist
def test_tiny_pipeline_builds_a_pdf_with_table_one_and_every_run(tiny_run):
    tmp, _, _ = tiny_run
    text = pdf_text(tmp / "report" / "tiny.pdf")
    assert "Tabla I. Lista de experimentos" in text and "Tabla II. Resultados" in text
    assert "Figura 1. Curvas de aprendizaje" in text
    assert "??" not in text and "[?]" not in text
    for label in ("base", "n1 = 16", "n1 = 64", "optimizador = SGD"):
        assert label in text, label
    raw = pdf_text(tmp / "report" / "tiny.pdf", raw=True)
    for section in ("Resumen", "I. INTRODUCCIÓN", "II. TEORÍA", "III. DATOS", "IV. MODELOS",
                    "V. RESULTADOS", "VI. DISCUSIÓN", "VII. CONCLUSIONES",
                    "VIII. AGRADECIMIENTOS", "Apéndice A: Modelos", "Apéndice B: Datos",
                    "Apéndice C: Reproducibilidad"):
        assert section in raw, section


@needs_fashion_mnist
def test_tiny_report_has_every_part_a_demanding_reader_checks(tiny_run):
    tmp, _, _ = tiny_run
    text = pdf_text(tmp / "report" / "tiny.pdf")
    # architecture from the model object, protocol and parameter count from the config and runs
    assert "Lineal 784→32" in text and "Dropout (p = 0.2)" in text
    assert "25 818 parámetros entrenables" in text
    assert "optimizador Adam (β1 = 0.9, β2 = 0.999, ϵ = 10" in text  # decimal point in math
    # written numbers: effects in percentage points, overfitting epoch, the best run
    assert "es mínima en la época" in text and "La mejor es la corrida con" in text
    # one seed: each accuracy with its binomial interval, each difference with the paired
    # interval over the images, corrected with Holm, said to miss the training's noise
    assert "intervalo de Wilson del 95 %" in text
    assert ("cada diferencia con el modelo base, el intervalo t pareado de las diferencias "
            "imagen por imagen entre las dos corridas") in text
    assert "Ese intervalo cubre solo el muestreo de las imágenes" in text
    assert "Las 3 comparaciones con el modelo base forman una familia corregida con el " \
           "procedimiento de Holm" in text
    # each effect named with its interval, on the side of zero the sentence says
    for side, sign in (("baja", "−"), ("sube", "\\+")):
        found = re.search(side + r" más allá del ruido de las imágenes con [^.;]*?\((" + sign
                          + r")[\d.]+ "
                          r"puntos porcentuales, intervalo \[(" + sign + r")[\d.]+, (" + sign
                          + r")[\d.]+\]\)", text)
        assert found, side
    assert "Figura 2. Diferencia de cada corrida con el modelo base en la exactitud de " \
           "validación final, en puntos porcentuales, con una semilla por lado" in text
    assert "no hay suficientes para juzgar tendencias" in text
    # the conclusions end with what the design cannot say
    assert ("Estas conclusiones tienen límites que el diseño impone. Cada configuración se "
            "entrenó con una sola semilla, de modo que el azar del entrenamiento no se midió"
            ) in text
    assert "el presupuesto fue fijo: 2 épocas" in text and "nada de sus interacciones" in text
    assert "evitaría" not in text and "Sobreajustan" not in text
    # the abstract states the findings: the base, what beats it, what hurts it most
    assert re.search(r"Resumen .* El experimento base alcanza [\d.]+ % de exactitud en "
                     r"validación tras 2 épocas", text)
    assert re.search(r"Lo empeoran? más el optimizador SGD con la tasa de aprendizaje del "
                     r"modelo base \(−", text)  # one or two; SGD at Adam's rate
    # the discussion, experiment by experiment: cost (parameters, time) and steps taken
    assert re.search(r"Experimento 2 \(Fig\. 1\(a\)\)\. El ancho de la primera capa oculta "
                     r"cambia la capacidad de la red y su costo\. Con n1 = 16 la red tiene "
                     r"13 002 parámetros \(0\.\d\d veces los del modelo base\)", text)
    assert re.search(r"Con el optimizador SGD, con la misma tasa de aprendizaje \(10−3 ?\) y sin "
                     r"momento, cada paso es proporcional al gradiente.* en sus 16 pasos", text)
    assert ("La comparación vale para este SGD, no para el método: la tasa de aprendizaje es la "
            "del modelo base, y SGD suele necesitar una mayor, y momento, para avanzar") in text
    # no test set: choosing and reporting on the same validation images is called optimistic
    assert "es una estimación optimista" in text and "dataset: n_test" not in text
    # the model code, extracted from the package, with line numbers
    assert "Código 1. Clase MLP" in text and "class MLP(nn.Module):" in text
    # and the hand-written backward pass it trained with: what it computes, and its code
    assert "los calculó el paso de retropropagación escrito a mano BackpropStep (Código 2)" in text
    assert re.search(r"g = \(softmax\(z\) ?− ?onehot\(y\)\)/B", text)
    assert "Código 2. El paso de retropropagación escrito a mano" in text
    assert "out=linear.weight.grad" in text
    # every run trained on the CPU here: the GPU's non-determinism is not discussed
    assert "todas las corridas de este informe se entrenaron en la CPU" in text
    # appendix B: samples and counts per class and split; provenance
    assert re.search(r"Figura \d\. Imágenes de ejemplo", text)
    assert "Tabla IV. Cantidad de imágenes por clase" in text and " 3 000 " in text
    assert re.search(r"versión [0-9a-f]{12}|sin repositorio git", text)
    assert "Snakemake 9." in text and "PyTorch 2." in text
    # bibliography, cited, in Spanish: revtex's style with its words translated
    assert "H. Xiao, K. Rasul y R. Vollgraf, Fashion-MNIST" in text
    assert " en Advances in Neural Information Processing Systems" in text
    assert " and " not in text[text.rindex("[1] H. Xiao"):]
    for ref in ("Fashion-MNIST", "Adam: A method", "Dropout: A simple way", "PyTorch: An",
                "Sustainable data analysis with Snakemake"):
        assert ref in text, ref


@needs_fashion_mnist
def test_the_source_bundle_compiles_on_its_own_in_an_empty_folder(tiny_run, tmp_path):
    import zipfile

    tmp, _, _ = tiny_run
    with zipfile.ZipFile(tmp / "report" / "tiny-source.zip") as z:
        names = set(z.namelist())
        z.extractall(tmp_path)
    assert {"informe.tex", "informe.bbl", "refs.bib", "figures/learning_curves.pdf",
            "figures/confusion_matrix.pdf", "tables/results.tex"} <= names
    proc = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                           "informe.tex"], cwd=tmp_path, capture_output=True, text=True,
                          errors="replace", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Tabla II. Resultados" in pdf_text(tmp_path / "informe.pdf")


@needs_fashion_mnist
def test_html_gallery_shows_every_figure_with_its_runs(tiny_run):
    tmp, config, _ = tiny_run
    snakemake(tmp, "--report", "report/tiny.html", config=config)
    html = (tmp / "report" / "tiny.html").read_text()
    for name in ("learning_curves.pdf", "learning_curves_n1.pdf", "learning_curves_optimizer.pdf",
                 "confusion_matrix.pdf", "samples.pdf"):
        assert name in html, name
    assert '"corridas": "n1 = 32 (base), n1 = 16, n1 = 64"' in html


@needs_fashion_mnist
def test_a_diverged_run_is_reported_as_such(tiny_run):
    tmp, _, _ = tiny_run
    text = pdf_text(tmp / "report" / "tiny.pdf")
    raw = pdf_text(tmp / "report" / "tiny.pdf", raw=True)  # the table's row in its order
    # the results table's row; its last column, the run's time in seconds, is whatever the
    # machine took for its one epoch (0.0 or 0.1 here)
    assert re.search(r"4 tasa de aprendizaje = 1030 divergió en la época 1 \d+\.\d\b", raw)
    assert re.search(r"Con una tasa de aprendizaje de 1030 ?, el entrenamiento divergió en la "
                     r"época 1 \(Fig\. 1\(c\)\)\.", text)  # "30": a superscript, maybe spaced


@needs_fashion_mnist
def test_latex_hostile_strings_print_as_typed(tiny_run):
    tmp, _, _ = tiny_run
    text = pdf_text(tmp / "report" / "tiny.pdf")
    assert HOSTILE_TITLE in text
    assert "Ana & Bruno_O’Neil" in text or "Ana & Bruno_O'Neil" in text
    assert "Lab {A} #3 ~ 50% ^" in text
    assert "Texto con & % _ # $ { } ~ ^ \\ y nada más." in text
    assert "Variar n1 & ver 50% de $_#" in text


@needs_fashion_mnist
def test_a_test_split_reports_the_chosen_configuration_on_images_no_choice_saw(tmp_path):
    config = {**TINY, "epochs": 1, "experiments": TINY["experiments"][:2], "max_test": 500,
              "dataset": {**TINY["dataset"], "n_train": None, "n_test": 3000}}
    config["report"] = {**TINY["report"], "pdf": "report/tiny.pdf"}
    snakemake(tmp_path, "--cores", "2", "report/tiny.pdf", config=make_workdir(tmp_path, config))
    results = tmp_path / "results" / "tiny"
    runs = pd.read_parquet(results / "runs.parquet")
    chosen = json.loads((results / "final" / "chosen" / "evaluation.json").read_text())
    assert chosen["variant"] == runs.loc[runs["final_val_accuracy"].idxmax(), "variant"]
    assert chosen["n_test"] == 500 and chosen["seeds"] == [0]
    confusion = json.loads((tmp_path / "report" / "build" / "tiny" / "confusion.json").read_text())
    assert confusion["split"] == "test" and confusion["variant"] == chosen["variant"]
    with np.load(tmp_path / "data" / "tiny" / "fashion_mnist.npz") as z:  # 3,000 held out
        assert len(z["test_idx"]) == 3000 and len(z["train_idx"]) == 70000 - 10000 - 3000
        assert not set(z["test_idx"]) & (set(z["train_idx"]) | set(z["val_idx"]))
    text = pdf_text(tmp_path / "report" / "tiny.pdf")
    assert "se midió luego sobre las 500 imágenes de prueba," in text  # a figure may come
    # (read in the rendered LaTeX: a float may split the sentence, even a word, in the PDF)
    tex = " ".join((tmp_path / "report" / "build" / "tiny" / "informe.tex").read_text().split())
    assert "imágenes de prueba, que no intervinieron en ninguna elección: alcanza" in tex
    assert f"{100 * chosen['test_accuracy']:.2f} % (intervalo de Wilson" in text
    assert "estimación optimista" not in text


@needs_fashion_mnist
def test_tiny_pipeline_writes_long_format_metrics(tiny_run):
    tmp, _, _ = tiny_run
    df = pd.read_parquet(tmp / "results" / "tiny" / "runs" / "n1~64" / "seed0" / "metrics.parquet")
    assert len(df) == TINY["epochs"] * 3  # fit, train (eval mode) and val
    assert set(df.columns) >= {"variant", "seed", "epoch", "split", "loss", "accuracy", "lr",
                               "seconds"}
    summary = pd.read_parquet(tmp / "results" / "tiny" / "summary.parquet")
    assert summary["variant"].tolist() == ["base", "n1~16", "n1~64", "optimizer~sgd", "lr~1e+30"]
    assert summary.set_index("variant").loc["lr~1e+30", "diverged_epoch"] == 1


@needs_fashion_mnist
def test_changing_one_value_reruns_that_run_and_its_dependents_only(tiny_run):
    tmp, config, _ = tiny_run
    assert "Nothing to be done" in snakemake(tmp, "-n", "report/tiny.pdf", config=config)
    changed = yaml.safe_load(config.read_text())
    changed["experiments"][1]["vary"]["n1"] = [16, 48]
    other = tmp / "changed.yaml"
    other.write_text(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False))
    counts = job_counts(snakemake(tmp, "-n", "report/tiny.pdf", config=other))
    assert counts.pop("train") == 1
    assert counts.pop("learning_curves") == 1
    assert "prepare_data" not in counts
    assert set(counts) <= {"aggregate", "confusion_matrix", "table_experiments", "table_results",
                           "learning_curves_grid", "effects",
                           "report", "publish_report", "all"}


@needs_fashion_mnist
def test_adding_a_seed_trains_only_the_new_runs(tiny_run):
    tmp, config, _ = tiny_run
    counts = job_counts(snakemake(tmp, "-n", "report/tiny.pdf", "--config", "seeds=[0,1]",
                                  config=config))
    assert counts.pop("train") == 5  # seed 1 of the 5 variants; seed 0's runs are kept
    assert "prepare_data" not in counts and counts.pop("aggregate") == 1


@needs_fashion_mnist
def test_an_unreferenced_figure_fails_a_strict_build_and_is_listed_beside_a_lenient_one(tiny_run):
    tmp, config, _ = tiny_run
    prose = tmp / "report" / "sections" / "apendice_datos.tex"
    original = prose.read_text()
    pdf = tmp / "report" / "tiny.pdf"
    before = pdf.read_bytes()
    prose.write_text(original.replace(r"La Fig.~\ref{fig:muestras} muestra", "Se muestran"))
    try:
        cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp), "--cores", "1",
               "report/tiny.pdf", "--configfile", str(config)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "never referenced in the text: fig:muestras" in out
        assert "report: strict: true turns these problems into failures" in out
        # no report claims to be current; the previous one waits beside it
        assert not pdf.exists() and pdf.with_name("tiny.previous.pdf").read_bytes() == before
        # without strict mode (the tests' environment sets it) the PDF is built and current,
        # and the problem is listed in the log and beside it
        env = {k: v for k, v in os.environ.items() if k != "NNREPORT_STRICT"}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert pdf.exists() and not pdf.with_name("tiny.previous.pdf").exists()
        problems = pdf.with_name("tiny-problems.txt").read_text()
        assert problems.startswith("- ")
        assert "never referenced in the text: fig:muestras" in problems
        log = (tmp / "logs" / "tiny" / "report.log").read_text()
        assert "report problem:" in log and "1 problem(s) with the report, listed in" in log
    finally:
        prose.write_text(original)
    snakemake(tmp, "--cores", "1", "report/tiny.pdf", config=config)  # fixed: built again
    assert pdf.exists() and not pdf.with_name("tiny.previous.pdf").exists()
    assert not pdf.with_name("tiny-problems.txt").exists()  # no problem left to list


def test_a_broken_config_stops_before_any_job_with_a_short_message(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["base"]["optimizer"] = "adamm"
    config["experiments"][1]["vary"] = {"n1": [64], "p": [0.5]}
    make_workdir(tmp_path, config)
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "-n"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "config.yaml: base.optimizer is 'adamm'; allowed: adam, adamw, sgd, rmsprop; " \
           "did you mean 'adam'?" in proc.stderr
    assert "config.yaml: experiments[1].vary changes n1 and p; vary one knob" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


@needs_fashion_mnist
def test_a_truncated_dataset_file_is_one_clear_line_not_a_traceback(tmp_path):
    from conftest import DEBIAN_FASHION

    folder = tmp_path / "fashion"
    folder.mkdir()
    for src in DEBIAN_FASHION.glob("*.gz"):
        (folder / src.name).symlink_to(src)
    broken = folder / "train-images-idx3-ubyte.gz"
    broken.unlink()
    broken.write_bytes((DEBIAN_FASHION / broken.name).read_bytes()[:1_000_000])
    config = {**TINY, "dataset": {**TINY["dataset"], "root": str(folder)}}
    make_workdir(tmp_path, config)
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                           "--cores", "1", "report/tiny.pdf"], capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert (f"{broken}: cannot read (Compressed file ended before the end-of-stream marker was "
            "reached); the file is corrupt or truncated, replace it with a fresh copy") in out
    assert "Traceback" not in out


@needs_fashion_mnist
def test_the_grid_benchmark_reads_every_job_of_a_real_snakemake_log(tiny_run):
    """benchmarks/bench_grid.py times the stages from Snakemake's log: every job of the Job
    stats table, each with a start no later than its end."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_grid import parse_jobs

    _, _, out = tiny_run
    jobs = parse_jobs(out)
    counted = collections.Counter(j["rule"] for j in jobs)
    assert counted == {k: v for k, v in job_counts(out).items() if k != "total"}
    assert all(j["start"] <= j["end"] for j in jobs) and counted["train"] == 5


@needs_fashion_mnist
def test_in_a_terminal_the_rich_logger_shows_the_progress_and_the_log_stays_plain(tiny_run,
                                                                                   tmp_path):
    # make report's display (Makefile): Snakemake's rich logger plugin, installed by the set-up,
    # on a terminal (a pseudo-terminal here); the forced jobs rerun and the report is published
    import threading

    tmp, config = copy_study(tiny_run[:2], tmp_path)
    pdf = tmp / "report" / "tiny.pdf"
    before = pdf.stat().st_mtime_ns
    master, slave = os.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp),
                           "--configfile", str(config), "--cores", "2", "--logger=rich",
                           "--forcerun", "aggregate", "--", "report/tiny.pdf"],
                          stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, timeout=600,
                          env={**os.environ, "COLUMNS": "100"})
    os.close(slave)
    reader.join(timeout=30)
    os.close(master)
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", b"".join(chunks).decode(errors="replace"))
    assert proc.returncode == 0, shown[-3000:]
    assert "Total Progress" in shown and "100%" in shown, shown[-3000:]
    for rule in ("aggregate", "table results", "report", "publish report"):
        assert f"✓ - {rule}" in shown, rule
    assert "Workflow Finished" in shown
    assert pdf.stat().st_mtime_ns > before
    # Snakemake's own log keeps the plain job listing
    log = max((tmp / ".snakemake" / "log").glob("*.snakemake.log"), key=os.path.getmtime)
    assert "rule aggregate:" in log.read_text()
