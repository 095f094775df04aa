# Rules of a model study (M0, M1, ... with searches): choosing each model's best candidate,
# evaluating the final models on dev, test and noisy test images, and the article report.


rule select_model:
    input:
        get_model_run_files,
    output:
        f"{RESULTS}/selection/{{model}}.json",
    conda:
        ENV
    log:
        f"{LOGS}/selection/{{model}}.log",
    script:
        "../scripts/select_model.py"


rule evaluate_model:
    input:
        selection=f"{RESULTS}/selection/{{model}}.json",
        models=get_model_files,
        data=DATA_INPUT,
    output:
        evaluation=f"{RESULTS}/final/{{model}}/evaluation.json",
        noise=f"{RESULTS}/final/{{model}}/noise.parquet",
        predictions=f"{RESULTS}/final/{{model}}/test_predictions.parquet",
    params:
        max_val=config["max_val"],
        max_test=config["max_test"],
        sigmas=config["noise"]["sigmas"],
        noise_seed=config["noise"]["seed"],
    threads: 1
    conda:
        ENV
    log:
        f"{LOGS}/final/{{model}}.log",
    script:
        "../scripts/evaluate_model.py"


rule final_learning_curves:
    input:
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
        metrics=run_files("metrics.parquet"),
    output:
        report(
            f"{BUILD}/figures/final_learning_curves.pdf",
            caption="../report/final_learning_curves.rst",
            category="Curvas de aprendizaje",
            labels={"figura": "modelos finales"},
        ),
    params:
        models=MODEL_IDS,
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
            category="Evaluación",
            labels={"figura": "robustez frente al ruido"},
        ),
    params:
        models=MODEL_IDS,
    conda:
        ENV
    log:
        f"{LOGS}/figures/noise_robustness.log",
    script:
        "../scripts/noise_robustness.py"


rule confusion_matrix_test:
    input:
        evaluations=expand(f"{RESULTS}/final/{{model}}/evaluation.json", model=MODEL_IDS),
        predictions=expand(f"{RESULTS}/final/{{model}}/test_predictions.parquet",
                           model=MODEL_IDS),
        data=DATA_INPUT,
    output:
        figure=report(
            f"{BUILD}/figures/confusion_matrix.pdf",
            caption="../report/confusion_matrix.rst",
            category="Evaluación",
            labels={"figura": "matriz de confusión"},
        ),
        summary=f"{RESULTS}/confusion.json",
    conda:
        ENV
    log:
        f"{LOGS}/figures/confusion_matrix.log",
    script:
        "../scripts/confusion_matrix_test.py"


rule table_models:
    input:
        evaluations=expand(f"{RESULTS}/final/{{model}}/evaluation.json", model=MODEL_IDS),
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
    output:
        f"{BUILD}/tables/models.tex",
    params:
        models=config["models"],
    conda:
        ENV
    log:
        f"{LOGS}/tables/models.log",
    script:
        "../scripts/table_models.py"


rule table_search:
    input:
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
        runs=run_files("run.json"),
    output:
        f"{BUILD}/tables/search.tex",
    params:
        models=config["models"],
    conda:
        ENV
    log:
        f"{LOGS}/tables/search.log",
    script:
        "../scripts/table_search.py"


rule report:
    input:
        template=TEMPLATE,
        sections=get_section_files,
        bibliography=BIBLIOGRAPHY,
        tables=expand(f"{BUILD}/tables/{{table}}.tex", table=TABLES),
        figures=expand(f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
                       experiment=FIGURE_EXPERIMENTS),
        other_figures=[f"{BUILD}/figures/{name}.pdf" for name in
                       ("final_learning_curves", "noise_robustness", "confusion_matrix",
                        "samples")],
        confusion=f"{RESULTS}/confusion.json",
        evaluations=expand(f"{RESULTS}/final/{{model}}/evaluation.json", model=MODEL_IDS),
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
        noise=expand(f"{RESULTS}/final/{{model}}/noise.parquet", model=MODEL_IDS),
        runs=f"{RESULTS}/runs.parquet",
        metrics=run_files("metrics.parquet"),
        data=DATA_INPUT,
    output:
        f"{BUILD}/informe.pdf",
    params:
        config=get_report_config,
        sections=SECTIONS,
        published=REPORT_PDF,
        run_hashes=get_run_hashes,
    conda:
        ENV
    log:
        f"{LOGS}/report.log",
    script:
        "../scripts/report_models.py"
