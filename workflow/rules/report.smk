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
