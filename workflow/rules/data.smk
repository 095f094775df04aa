rule prepare_data:
    output:
        DATA_FILE,
    params:
        dataset=config["dataset"],
    conda:
        ENV
    log:
        f"logs/data/{DATASET}.log",
    script:
        "../scripts/prepare_data.py"
