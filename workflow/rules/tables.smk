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


rule table_counts:
    input:
        data=DATA_FILE,
    output:
        f"{BUILD}/tables/counts.tex",
    params:
        max_train=config["max_train"],
        max_val=config["max_val"],
    conda:
        ENV
    log:
        f"{LOGS}/tables/counts.log",
    script:
        "../scripts/table_counts.py"


rule table_architecture:
    input:
        data=DATA_FILE,
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
