# The packed data counts by its dataset config (DATA_PARAMS), not by the code that packs it: with
# a code param it reran on a package change, and Snakemake 9 then dropped the training jobs
# forced downstream of its (ancient) output.
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
