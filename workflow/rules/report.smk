# One report for every kind of study: the kind's own inputs come from get_report_study_inputs.
rule report:
    input:
        unpack(get_report_study_inputs),
        template=TEMPLATE,
        template_parts=TEMPLATE_PARTS,
        sections=get_section_files,
        bibliography=BIBLIOGRAPHY,
        tables=expand(f"{BUILD}/tables/{{table}}.tex", table=KIND.tables),
        figures=expand(f"{BUILD}/figures/learning_curves_{{experiment}}.pdf",
                       experiment=FIGURE_EXPERIMENTS),
        other_figures=expand(f"{BUILD}/figures/{{figure}}.pdf", figure=KIND.figures),
        runs=f"{RESULTS}/runs.parquet",
        metrics=run_files("metrics.parquet"),
        data=DATA_INPUT,
    output:
        f"{BUILD}/informe.pdf",
    params:
        code_version=script_code("report.py"),
        language=LANGUAGE,
        knobs=KNOB_LABELS,
        kind=KIND.name,
        config=get_report_config,
        sections=SECTIONS,
        published=REPORT_PDF,
        run_hashes=get_run_hashes,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/report.log",
    script:
        "../scripts/report.py"


# The PDF reaches its final place only after LaTeX and the report check succeed, so a failed
# build leaves the previous report/informe.pdf in place; its source bundle (report/informe-
# source.zip: the .tex, figures, tables, .bib and .bbl, which compile on their own) goes with it.
rule publish_report:
    input:
        f"{BUILD}/informe.pdf",
    output:
        pdf=REPORT_PDF,
        source=REPORT_SOURCE,
    params:
        code_version=script_code("publish_report.py"),
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/publish_report.log",
    script:
        "../scripts/publish_report.py"
