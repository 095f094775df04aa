rule learning_curves:
    input:
        get_experiment_metrics,
    output:
        report(
            f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
            caption="../report/learning_curves.rst",
            category=word("html.learning_curves"),
            labels=get_learning_curves_report_labels,
        ),
    params:
        code_version=script_code("learning_curves.py"),
        language=LANGUAGE,
        variants=get_experiment_variants,
        labels=get_experiment_labels,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/learning_curves_{{experiment}}.log",
    script:
        "../scripts/learning_curves.py"

# A Table I study's report shows every experiment's learning curves in one page-wide figure
# of panels (the per-experiment figures stay, as targets and in the HTML report).
rule learning_curves_grid:
    input:
        run_files("metrics.parquet"),
    output:
        report(
            f"{BUILD}/figures/learning_curves.pdf",
            caption="../report/learning_curves.rst",
            category=word("html.learning_curves"),
            labels=get_figure_report_labels("learning_curves"),
        ),
    params:
        code_version=script_code("learning_curves_grid.py"),
        language=LANGUAGE,
        experiments=get_grid_experiments,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/learning_curves.log",
    script:
        "../scripts/learning_curves_grid.py"


rule sample_images:
    input:
        data=DATA_INPUT,
    output:
        report(
            f"{BUILD}/figures/samples.pdf",
            caption="../report/samples.rst",
            category=word("html.data"),
            labels=get_figure_report_labels("samples"),
        ),
    params:
        code_version=script_code("sample_images.py"),
        language=LANGUAGE,
    resources:
        **DATA_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/samples.log",
    script:
        "../scripts/sample_images.py"


# The run a study shows (the best run on validation, or the best final model on test): one
# rule for both kinds, whose inputs come from get_confusion_inputs.
rule confusion_matrix:
    input:
        unpack(get_confusion_inputs),
        data=DATA_INPUT,
    output:
        figure=report(
            f"{BUILD}/figures/confusion_matrix.pdf",
            caption="../report/confusion_matrix.rst",
            category=word("html.evaluation"),
            labels=get_figure_report_labels("confusion_matrix"),
        ),
        summary=LAYOUT.confusion,
    params:
        code_version=script_code("confusion_matrix.py"),
        language=LANGUAGE,
        kind=KIND.name,
    resources:
        **DATA_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/confusion_matrix.log",
    script:
        "../scripts/confusion_matrix.py"


# A Table I study with several seeds: every run's difference from the base, with the corrected
# intervals the report states (the same families as the Results section).
rule effects:
    input:
        runs=f"{RESULTS}/runs.parquet",
        correct=f"{RESULTS}/correct.parquet",
    output:
        report(
            f"{BUILD}/figures/effects.pdf",
            caption="../report/effects.rst",
            category=word("html.evaluation"),
            labels=get_figure_report_labels("effects"),
        ),
    params:
        code_version=script_code("effects.py"),
        language=LANGUAGE,
        labels={v.name: run_label(v) for v in VARIANTS},
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/effects.log",
    script:
        "../scripts/effects.py"


rule final_learning_curves:
    input:
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
        metrics=run_files("metrics.parquet"),
    output:
        report(
            f"{BUILD}/figures/final_learning_curves.pdf",
            caption="../report/final_learning_curves.rst",
            category=word("html.learning_curves"),
            labels=get_figure_report_labels("final_learning_curves"),
        ),
    params:
        code_version=script_code("final_learning_curves.py"),
        language=LANGUAGE,
        models=MODEL_IDS,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/final_learning_curves.log",
    script:
        "../scripts/final_learning_curves.py"


rule noise_robustness:
    input:
        expand(f"{RESULTS}/final/{{model}}/noise.parquet", model=MODEL_IDS),
    output:
        report(
            f"{BUILD}/figures/noise_robustness.pdf",
            caption="../report/noise_robustness.rst",
            category=word("html.evaluation"),
            labels=get_figure_report_labels("noise_robustness"),
        ),
    params:
        code_version=script_code("noise_robustness.py"),
        language=LANGUAGE,
        models=MODEL_IDS,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/noise_robustness.log",
    script:
        "../scripts/noise_robustness.py"


# An autoencoder study: every autoencoder's reconstructions of the same validation images, and
# the base autoencoder's codes projected on their first two principal components.
rule reconstructions:
    input:
        data=DATA_INPUT,
        models=get_autoencoder_models,
    output:
        report(
            f"{BUILD}/figures/reconstructions.pdf",
            caption="../report/reconstructions.rst",
            category=word("html.evaluation"),
            labels=get_figure_report_labels("reconstructions"),
        ),
    params:
        code_version=script_code("figure_reconstructions.py"),
        language=LANGUAGE,
        labels=get_autoencoder_labels,
        n_images=10,
        seed=config["dataset"].get("split_seed", 0),
    resources:
        **DATA_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/reconstructions.log",
    script:
        "../scripts/figure_reconstructions.py"


rule latent_space:
    input:
        data=DATA_INPUT,
        model=f"{RUNS}/base/seed{SEEDS[0]}/model.pt",
    output:
        report(
            f"{BUILD}/figures/latent_space.pdf",
            caption="../report/latent_space.rst",
            category=word("html.evaluation"),
            labels=get_figure_report_labels("latent_space"),
        ),
    params:
        code_version=script_code("figure_latent.py"),
        language=LANGUAGE,
        seed=config["dataset"].get("split_seed", 0),
        max_points=5000,
    resources:
        **DATA_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/figures/latent_space.log",
    script:
        "../scripts/figure_latent.py"
