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
