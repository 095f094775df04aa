rule table_counts:
    input:
        data=DATA_INPUT,
    output:
        f"{BUILD}/tables/counts.tex",
    params:
        max_train=config["max_train"],
        max_val=config["max_val"],
        max_test=config.get("max_test"),
    conda:
        ENV
    log:
        f"{LOGS}/tables/counts.log",
    script:
        "../scripts/table_counts.py"


