rule learning_curves:
    input:
        get_experiment_metrics,
    output:
        report(
            f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
            caption="../report/learning_curves.rst",
            category="Curvas de aprendizaje",
            labels=get_learning_curves_report_labels,
        ),
    params:
        variants=get_experiment_variants,
        labels=get_experiment_labels,
    conda:
        ENV
    log:
        f"{LOGS}/figures/learning_curves_{{experiment}}.log",
    script:
        "../scripts/learning_curves.py"

rule sample_images:
    input:
        data=DATA_INPUT,
    output:
        report(
            f"{BUILD}/figures/samples.pdf",
            caption="../report/samples.rst",
            category="Datos",
            labels={"figura": "imágenes de ejemplo"},
        ),
    conda:
        ENV
    log:
        f"{LOGS}/figures/samples.log",
    script:
        "../scripts/sample_images.py"
