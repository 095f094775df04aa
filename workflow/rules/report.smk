rule report:
    input:
        template=TEMPLATE,
        sections=get_section_files,
        bibliography=BIBLIOGRAPHY,
        tables=[f"{BUILD}/tables/experiments.tex", f"{BUILD}/tables/results.tex"],
        figures=expand(f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
                       experiment=FIGURE_EXPERIMENTS),
        confusion_figure=f"{BUILD}/figures/confusion_matrix.pdf",
        confusion=f"{RESULTS}/confusion.json",
        summary=f"{RESULTS}/summary.parquet",
        runs=f"{RESULTS}/runs.parquet",
        base_run=f"{RUNS}/base/seed{SEEDS[0]}/run.json",
        data=DATA_FILE,
    output:
        REPORT_PDF,
    params:
        config=get_report_config,
        sections=SECTIONS,
    conda:
        ENV
    log:
        f"{LOGS}/report.log",
    script:
        "../scripts/report.py"
