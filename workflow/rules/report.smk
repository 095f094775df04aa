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
        data=DATA_FILE,
    output:
        f"{BUILD}/informe.pdf",
    params:
        config=get_report_config,
        sections=SECTIONS,
    conda:
        ENV
    log:
        f"{LOGS}/report.log",
    script:
        "../scripts/report.py"


# The PDF reaches its final place only after LaTeX and the report check succeed, so a failed
# build leaves the previous report/informe.pdf in place.
rule publish_report:
    input:
        f"{BUILD}/informe.pdf",
    output:
        REPORT_PDF,
    conda:
        ENV
    log:
        f"{LOGS}/publish_report.log",
    script:
        "../scripts/publish_report.py"
