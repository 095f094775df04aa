rule train:
    input:
        data=DATA_FILE,
        selection=get_train_selection,
    output:
        metrics=f"{RUNS}/{{variant}}/seed{{seed}}/metrics.parquet",
        model=f"{RUNS}/{{variant}}/seed{{seed}}/model.pt",
        predictions=f"{RUNS}/{{variant}}/seed{{seed}}/predictions.parquet",
        run=f"{RUNS}/{{variant}}/seed{{seed}}/run.json",
    params:
        run=get_run_params,
    threads: 1
    resources:
        gpu=GPUS_PER_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/train/{{variant}}/seed{{seed}}.log",
    script:
        "../scripts/train.py"
