import pytest

from nnreport.base.texescape import escape, escape_plain
from nnreport.reporting.labels import format_value, plain, power_of_ten, variant_label


@pytest.mark.parametrize(("x", "tex"), [(1e-3, "10^{-3}"), (1e-2, "10^{-2}"), (1e-4, "10^{-4}"),
                                        (5e-4, r"5 \times 10^{-4}"), (0.5, "0.5"), (3e-5,
                                        r"3 \times 10^{-5}")])
def test_power_of_ten(x, tex):
    assert power_of_ten(x) == tex


def test_values_are_written_as_in_the_reference_table():
    assert format_value("lr", 1e-3) == "$10^{-3}$"
    assert format_value("optimizer", "sgd") == "SGD"
    assert format_value("p", 0.0) == "0.0"
    assert format_value("p", 0.25) == "0.25"
    assert format_value("batch_size", 512) == "512"


def test_plain_labels_drop_tex_markup():
    assert plain("$n_1$ = 64") == "n1 = 64"
    assert plain(r"learning-rate = $5 \times 10^{-4}$") == "learning-rate = 5 × 10^-4"


def test_variant_labels():
    assert variant_label(None, None) == "base"
    assert variant_label("n1", 64) == "$n_1$~=~64"  # ties: never broken across lines
    assert variant_label("lr", 1e-2) == "tasa de aprendizaje~=~$10^{-2}$"


def test_every_latex_special_character_is_escaped():
    assert escape_plain(r"a & b % c _ d # e $ f { g } h ~ i ^ j \ k") == (
        r"a \& b \% c \_ d \# e \$ f \{ g \} h \textasciitilde{} i \textasciicircum{} j "
        r"\textbackslash{} k")


def test_math_on_purpose_is_written_between_backslash_parentheses():
    assert escape(r"Variar \(n_1\) y 50% de $") == r"Variar $n_1$ y 50\% de \$"


def test_signed_numbers_show_their_sign_and_zero_has_none():
    from nnreport.reporting.labels import plus_minus, signed

    assert [signed(0.154), signed(-0.84), signed(-0.0004, 3), signed(0.0)] == [
        "+0.15", "-0.84", "0.000", "0.00"]
    assert plus_minus(89.987, 0.291) == r"$89.99 \pm 0.29$"
    assert plus_minus(89.987, None) == plus_minus(89.987, float("nan")) == "$89.99$"


def test_a_run_reads_as_words_in_a_sentence_and_nouns_agree_with_their_number():
    from nnreport.reporting.labels import plural, variant_phrase

    assert variant_phrase("optimizer", "sgd") == "el optimizador SGD"
    assert variant_phrase("lr", 1e-2) == "una tasa de aprendizaje de $10^{-2}$"
    assert variant_phrase("batch_size", 128) == "mini-batches de 128 imágenes"
    assert variant_phrase("n1", 64) == "$n_1$~=~64"  # a symbol reads as its label
    assert (plural(1, "época", "épocas"), plural(30, "época", "épocas")) == ("1 época",
                                                                             "30 épocas")


def test_a_label_reads_in_a_figure_as_typed_outside_its_math():
    from nnreport.base.texescape import figure_text

    label = escape("Tasa & 50% #1 a_b \\(\\eta_0\\)")  # what report: knobs: gives, say
    assert label == r"Tasa \& 50\% \#1 a\_b $\eta_0$"
    assert figure_text(label) == r"Tasa & 50% #1 a_b $\eta_0$"
    assert figure_text(r"$\mathtt{canales\_x}$ = 8") == r"$\mathtt{canales\_x}$ = 8"  # math kept


def test_a_series_reads_as_a_sentence_lists_it():
    from nnreport.reporting.labels import series
    from nnreport.reporting.words import activate

    assert [series(x) for x in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "", "a", "a y b", "a, b y c"]
    activate("en")
    try:
        assert series(["a", "b", "c"]) == "a, b and c"
    finally:
        activate("es")


def test_the_best_group_is_named_in_a_sentence_not_by_its_labels():
    from nnreport.studies.experiments import best_group_text

    base = {"name": "base", "phrase": "base"}
    n1 = {"name": "n1~64", "phrase": "$n_1$ = 64"}
    sgd = {"name": "optimizer~sgd", "phrase": "el optimizador SGD"}
    assert best_group_text([]) == ""
    assert best_group_text([base]) == "del modelo base"
    assert best_group_text([n1, sgd]) == "de las corridas con $n_1$ = 64 y el optimizador SGD"
    assert best_group_text([base, n1]) == "del modelo base ni de las corridas con $n_1$ = 64"
