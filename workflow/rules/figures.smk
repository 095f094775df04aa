rule learning_curves:
    input:
        get_experiment_metrics,
    output:
        f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
    params:
        variants=get_experiment_variants,
        labels=get_experiment_labels,
    conda:
        ENV
    log:
        f"{LOGS}/figures/learning_curves_{{experiment}}.log",
    script:
        "../scripts/learning_curves.py"


rule confusion_matrix:
    input:
        runs=f"{RESULTS}/runs.parquet",
        predictions=run_files("predictions.parquet"),
        data=DATA_FILE,
    output:
        figure=f"{BUILD}/figures/confusion_matrix.pdf",
        summary=f"{RESULTS}/confusion.json",
    conda:
        ENV
    log:
        f"{LOGS}/figures/confusion_matrix.log",
    script:
        "../scripts/confusion_matrix.py"


rule sample_images:
    input:
        data=DATA_FILE,
    output:
        f"{BUILD}/figures/samples.pdf",
    conda:
        ENV
    log:
        f"{LOGS}/figures/samples.log",
    script:
        "../scripts/sample_images.py"
