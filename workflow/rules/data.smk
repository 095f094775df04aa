rule prepare_data:
    output:
        DATA_FILE,
    params:
        dataset=DATA_PARAMS,
    resources:
        **DATA_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/data/{DATASET}.log",
    script:
        "../scripts/prepare_data.py"
