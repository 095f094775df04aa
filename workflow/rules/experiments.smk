# Rules of a Table I study (a base experiment and one-knob variations): the validation
# confusion matrix, Table I, the results table, the architecture table and the revtex report.


rule confusion_matrix:
    input:
        runs=f"{RESULTS}/runs.parquet",
        predictions=run_files("predictions.parquet"),
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
        "../scripts/confusion_matrix.py"


rule table_experiments:
    output:
        f"{BUILD}/tables/experiments.tex",
    params:
        base=config["base"],
        experiments=config["experiments"],
    conda:
        ENV
    log:
        f"{LOGS}/tables/experiments.log",
    script:
        "../scripts/table_experiments.py"


rule table_results:
    input:
        summary=f"{RESULTS}/summary.parquet",
    output:
        f"{BUILD}/tables/results.tex",
    params:
        base=config["base"],
        experiments=config["experiments"],
    conda:
        ENV
    log:
        f"{LOGS}/tables/results.log",
    script:
        "../scripts/table_results.py"



rule table_architecture:
    input:
        data=DATA_INPUT,
    output:
        f"{BUILD}/tables/architecture.tex",
    params:
        base=config["base"],
    conda:
        ENV
    log:
        f"{LOGS}/tables/architecture.log",
    script:
        "../scripts/table_architecture.py"


rule report:
    input:
        template=TEMPLATE,
        sections=get_section_files,
        bibliography=BIBLIOGRAPHY,
        tables=expand(f"{BUILD}/tables/{{table}}.tex", table=TABLES),
        figures=expand(f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
                       experiment=FIGURE_EXPERIMENTS),
        other_figures=[f"{BUILD}/figures/confusion_matrix.pdf", f"{BUILD}/figures/samples.pdf"],
        confusion=f"{RESULTS}/confusion.json",
        summary=f"{RESULTS}/summary.parquet",
        runs=f"{RESULTS}/runs.parquet",
        metrics=run_files("metrics.parquet"),
        base_run=f"{RUNS}/base/seed{SEEDS[0]}/run.json",
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
        "../scripts/report.py"
