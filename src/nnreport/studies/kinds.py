"""The two kinds of study and what the workflow builds for each: template, tables, figures, and
the inputs of the report and of the confusion matrix. Read when the workflow is parsed: light."""

from __future__ import annotations

from nnreport.config.grid import Variant, expand_grid, has_test_set, is_model_study
from nnreport.config.layout import CHOSEN, Layout

Inputs = dict[str, "str | list[str]"]

# The names each kind's report context holds, which the templates and the author's prose may
# use: the config checks refuse a prose file that uses another before any job, and the report
# job checks every context it builds against them (a test build fails on a name left out).
TABLE_NAMES = frozenset({
    "base", "base_result", "base_run", "best", "best_group", "best_group_text", "classes",
    "convergence", "dataset", "diverged", "early_stopping", "epochs", "experiments", "family",
    "figure_experiments", "fixed_knobs", "gradients", "improvements", "loses_accuracy",
    "model_sources", "n_images", "n_train", "n_val", "not_converged", "optimizer",
    "overconfident", "overfitting", "pooled", "provenance", "ranking", "report", "runs",
    "seeds", "statistics", "study", "test", "train_images", "trends_known", "unstable",
    "user_model", "worsenings"
})
AUTOENCODER_NAMES = frozenset({
    "autoencoders", "base", "base_result", "base_run", "best", "classes", "classifiers",
    "dataset", "diverged", "epochs", "experiments", "family", "figure_experiments",
    "fixed_knobs", "gradients", "model_sources", "n_images", "n_train", "n_val", "noisy",
    "not_converged", "optimizer", "pooled", "provenance", "ranking", "report", "rising", "runs",
    "seeds", "sizes", "statistics", "study", "test", "train_images", "trends_known",
    "user_model"
})
MODEL_NAMES = frozenset({
    "best", "best_group", "by_id", "dataset", "epochs", "gradients", "max_sigma",
    "model_sources", "models", "most_robust", "provenance", "reimplementations", "report",
    "robust_group", "seeds", "sigmas", "statistics", "train_images", "user_models"
})
CONTEXT_NAMES = {"experiments": TABLE_NAMES, "autoencoder": AUTOENCODER_NAMES,
                 "models": MODEL_NAMES}


class StudyKind:
    """What the workflow builds for one kind of study (the interface both kinds implement)."""

    name: str
    template: str  # the default template of report/templates/
    tables: tuple[str, ...]  # report/build/<study>/tables/<name>.tex
    figures: tuple[str, ...]  # besides the learning curves: report/build/<study>/figures/
    bib_style = "apsrev4-2"  # the template's BibTeX style (revtex's)

    def figure_experiments(self, config: dict, variants: list[Variant]) -> list[str]:
        """The experiments (or models) that get a learning-curve figure."""
        raise NotImplementedError

    def experiment_variants(self, variants: list[Variant], experiment: str) -> list[str]:
        """The runs drawn in one experiment's learning-curve figure."""
        raise NotImplementedError

    def report_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                      seeds: list[int]) -> Inputs:
        """The results this kind's report reads besides those every report reads (the
        confusion matrix's summary among them, when it has one)."""
        raise NotImplementedError

    def confusion_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                         seeds: list[int]) -> Inputs:
        """What picks the run of the confusion matrix, and the predictions it reads."""
        raise NotImplementedError


class TableStudy(StudyKind):
    """A Table I study: a base experiment and one-knob variations, reported in revtex."""

    name, template = "experiments", "informe"
    tables = ("experiments", "results", "architecture", "counts")
    # effects: each variation's difference from the base with its corrected interval
    figures: tuple[str, ...] = ("learning_curves", "confusion_matrix", "samples", "effects")

    def figure_experiments(self, config: dict, variants: list[Variant]) -> list[str]:
        return [e["id"] for e in config["experiments"] if e.get("vary")]

    def experiment_variants(self, variants: list[Variant], experiment: str) -> list[str]:
        return ["base", *(v.name for v in variants
                          if v.experiment == experiment and v.name != "base")]

    def report_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                      seeds: list[int]) -> Inputs:
        # each run's correctness on each validation image: the comparisons' image noise
        inputs: Inputs = {"summary": f"{layout.results}/summary.parquet",
                          "correct": f"{layout.results}/correct.parquet",
                          "base_run": layout.run_file("base", seeds[0], "run.json"),
                          "confusion": layout.confusion}
        if has_test_set(config):  # the chosen configuration, measured on the test images
            inputs["evaluation"] = layout.final(CHOSEN, "evaluation.json")
        return inputs

    def confusion_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                         seeds: list[int]) -> Inputs:
        if has_test_set(config):  # the chosen configuration on the test images
            return {"evaluation": layout.final(CHOSEN, "evaluation.json"),
                    "predictions": layout.final(CHOSEN, "test_predictions.parquet")}
        # the best run on validation, from every run's validation predictions
        return {"runs": f"{layout.results}/runs.parquet",
                "predictions": layout.run_files("predictions.parquet", variant_names, seeds)}


class AutoencoderStudy(TableStudy):
    """A Table I study of a convolutional autoencoder (MSE, no accuracy), whose experiments may
    train classifiers on its encoder (an experiment with a base of its own)."""

    name, template = "autoencoder", "autoencoder"

    def __init__(self, config: dict):
        families = {run_family(h) for h in all_hparams(config)}
        self.classifies = bool(families - {"conv_autoencoder"})
        self.tables = ("experiments", "results", "architecture", "counts", *(
            ("classifiers",) if self.classifies else ()))
        self.figures = ("learning_curves", "reconstructions", "latent_space", "samples", *(
            ("confusion_matrix",) if self.classifies else ()))

    def experiment_variants(self, variants: list[Variant], experiment: str) -> list[str]:
        own = [v for v in variants if v.experiment == experiment]
        reference = next((v.reference for v in own if v.reference), "base")
        return [reference, *(v.name for v in own if v.name != reference)]

    def report_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                      seeds: list[int]) -> Inputs:
        # every run's validation predictions: each image's MSE pairs the autoencoders' scores
        inputs: Inputs = {"summary": f"{layout.results}/summary.parquet",
                          "base_run": layout.run_file("base", seeds[0], "run.json"),
                          "predictions": layout.run_files("predictions.parquet", variant_names,
                                                          seeds)}
        if self.classifies:
            inputs["confusion"] = layout.confusion
        return inputs

    def confusion_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                         seeds: list[int]) -> Inputs:
        classifiers = [v.name for v in expand_grid(config)
                       if run_family(v.hparams) != "conv_autoencoder"]
        return {"runs": f"{layout.results}/runs.parquet",
                "predictions": layout.run_files("predictions.parquet", classifiers, seeds)}


class ModelStudy(StudyKind):
    """A model study: models M0, M1, ... with searches, evaluated on dev, test and noisy test
    images, reported in an article-style template."""

    name, template = "models", "tp"
    bib_style = "unsrtnat"  # natbib's, in an article
    tables = ("models", "search", "counts")
    figures = ("final_learning_curves", "noise_robustness", "confusion_matrix", "samples")

    def figure_experiments(self, config: dict, variants: list[Variant]) -> list[str]:
        # the models whose search has more than one candidate
        return [m for m in model_ids(config) if sum(v.experiment == m for v in variants) > 1]

    def experiment_variants(self, variants: list[Variant], experiment: str) -> list[str]:
        return [v.name for v in variants if v.experiment == experiment]

    def report_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                      seeds: list[int]) -> Inputs:
        ids = model_ids(config)
        return {"evaluations": layout.finals("evaluation.json", ids),
                "selections": [layout.selection(m) for m in ids],
                "noise": layout.finals("noise.parquet", ids),
                # each image's correctness, which pairs the comparisons of models: on dev,
                # and on test (from the test predictions)
                "dev_correct": layout.finals("dev_correct.parquet", ids),
                "test_predictions": layout.finals("test_predictions.parquet", ids),
                "confusion": layout.confusion}

    def confusion_inputs(self, config: dict, layout: Layout, variant_names: list[str],
                         seeds: list[int]) -> Inputs:
        # the final model with the best dev accuracy, on the test images
        ids = model_ids(config)
        return {"evaluations": layout.finals("evaluation.json", ids),
                "predictions": layout.finals("test_predictions.parquet", ids)}


def model_ids(config: dict) -> list[str]:
    """The model ids of a model study, in order; none for a Table I study."""
    return [m["id"] for m in config.get("models") or []]


def run_family(hparams: dict) -> str:
    """The model family of a run's hyper-parameters."""
    return hparams.get("model", "mlp")


def all_hparams(config: dict) -> list[dict]:
    """The study's base and every experiment's own base (what sets each run's family)."""
    return [config.get("base") or {}, *(e["base"] for e in config.get("experiments") or []
                                         if isinstance(e, dict) and isinstance(e.get("base"),
                                                                               dict))]


def study_kind(config: dict) -> StudyKind:
    """Return the kind of the study `config` declares (`models:` makes a model study; a base
    autoencoder an autoencoder study)."""
    if is_model_study(config):
        return ModelStudy()
    if run_family(config.get("base") or {}) == "conv_autoencoder":
        return AutoencoderStudy(config)
    return TableStudy()
