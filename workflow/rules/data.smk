rule prepare_data:
    output:
        DATA_FILE,
    params:
        dataset=dict(sorted(config["dataset"].items())),
    conda:
        ENV
    log:
        f"{LOGS}/data/{DATASET}.log",
    script:
        "../scripts/prepare_data.py"
