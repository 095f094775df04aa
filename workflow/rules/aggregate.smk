rule aggregate:
    input:
        metrics=run_files("metrics.parquet"),
        predictions=run_files("predictions.parquet"),
    output:
        runs=f"{RESULTS}/runs.parquet",
        summary=f"{RESULTS}/summary.parquet",
        curves=f"{RESULTS}/curves.parquet",
        correct=f"{RESULTS}/correct.parquet",
    params:
        code_version=script_code("aggregate.py"),
        order=VARIANT_NAMES,
        experiments={v.name: v.experiment for v in VARIANTS},
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/aggregate.log",
    script:
        "../scripts/aggregate.py"
