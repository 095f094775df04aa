"""The same study reported in English (`report: language: en`), through the real workflow."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT, job_counts, make_workdir, needs_fashion_mnist, pdf_text, snakemake

# two seeds: the reports compare each variant with the base as a family corrected by Holm
TINY = {**yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text()), "seeds": [0, 1]}
# words only the Spanish report has: none may reach the English one
SPANISH = ("exactitud", "época", "validación", "Tabla", "Figura", "Resumen", "entrenamiento",
           "pérdida", "Camiseta", "semilla", "Apéndice", " los ", " las ", " del ")


def english(config: dict) -> dict:
    """The study reported in English: the author's own strings (title, abstract, objectives)
    stay in the language the config gives them, so the test gives them in English."""
    return {**config,
            "experiments": [{**e, "objective": "Vary a knob."} for e in config["experiments"]],
            # no `sections`: `language: en` alone takes the English prose
            "report": {**config["report"], "language": "en",
                       "title": "Test report", "abstract": "A minimal report for the tests.",
                       "date": "January 1, 2026",
                       "pdf": config["report"]["pdf"].replace(".pdf", "-en.pdf")}}


@pytest.fixture(scope="module")
def english_run(tmp_path_factory):
    """The tiny study built in Spanish, then reported in English from the same results."""
    tmp = tmp_path_factory.mktemp("english")
    config = make_workdir(tmp, TINY)
    snakemake(tmp, "--cores", "2", "report/tiny.pdf", config=config)
    english_config = config.with_name("english.yaml")
    english_config.write_text(yaml.safe_dump(english(TINY), allow_unicode=True,
                                             sort_keys=False))
    dry = snakemake(tmp, "-n", "report/tiny-en.pdf", config=english_config)
    snakemake(tmp, "--cores", "2", "report/tiny-en.pdf", config=english_config)
    return tmp, dry


@needs_fashion_mnist
def test_the_english_report_reuses_every_run_and_redraws_only_its_words(english_run):
    _, dry = english_run
    counts = job_counts(dry)
    assert "train" not in counts and "aggregate" not in counts  # the same results
    assert counts["report"] == 1 and counts["learning_curves_grid"] == 1
    assert counts["table_experiments"] == 1 and counts["confusion_matrix"] == 1
    assert counts["effects"] == 1  # the forest plot's words


@needs_fashion_mnist
def test_the_english_report_reads_in_english_throughout(english_run):
    tmp, _ = english_run
    text = pdf_text(tmp / "report" / "tiny-en.pdf")
    raw = pdf_text(tmp / "report" / "tiny-en.pdf", raw=True)
    assert "??" not in text and "[?]" not in text
    for heading in ("Abstract", "I. INTRODUCTION", "II. THEORY", "III. DATA", "IV. MODELS",
                    "V. RESULTS", "VI. DISCUSSION", "VII. CONCLUSIONS"):
        assert heading in raw, heading
    assert "Table I. List of experiments" in text and "Figure 1. Learning curves" in text
    assert "accuracy" in text and "epoch" in text and "T-shirt/top" in text
    assert "These conclusions have limits the design imposes. Each configuration was trained " \
           "with 2 seeds, few to estimate the randomness of training precisely" in text
    assert "the study says nothing about their interactions" in text
    assert "computed by the hand-written backpropagation step BackpropStep (Listing 2)" in text
    assert "H. Xiao, K. Rasul, and R. Vollgraf, Fashion-MNIST" in text  # revtex's own style
    assert "Listing 2. The hand-written backpropagation step" in text
    leaks = [w for w in SPANISH if re.search(re.escape(w), text)]
    assert leaks == [], leaks


@needs_fashion_mnist
@pytest.mark.parametrize(("pdf", "words"), [
    ("tiny.pdf", ("procedimiento de Holm", "valor p corregido", "Respecto del modelo base (Fig. 2)",
                  "Figura 2. Diferencia de cada corrida con el modelo base", "Satterthwaite",
                  "imágenes de validación, medido imagen por imagen")),
    ("tiny-en.pdf", ("Holm’s procedure", "corrected p-value", "Relative to the base (Fig. 2)",
                     "Figure 2. Difference of each run from the base", "Satterthwaite",
                     "measured image by image and paired"))])
def test_with_seeds_the_effects_are_a_corrected_family_drawn_as_a_forest_plot(english_run, pdf,
                                                                              words):
    tmp, _ = english_run
    text = pdf_text(tmp / "report" / pdf)
    missing = [w for w in words if w not in text]
    assert missing == [], missing
    assert "Holm, A simple sequentially rejective" in text  # the method's reference
    assert (tmp / "report" / "build" / "tiny" / "figures" / "effects.pdf").is_file()
