rule train:
    input:
        data=DATA_INPUT,
        selection=get_train_selection,
        encoder=get_train_encoder,
    output:
        metrics=f"{RUNS}/{{variant}}/seed{{seed}}/metrics.parquet",
        model=f"{RUNS}/{{variant}}/seed{{seed}}/model.pt",
        predictions=f"{RUNS}/{{variant}}/seed{{seed}}/predictions.parquet",
        run=f"{RUNS}/{{variant}}/seed{{seed}}/run.json",
    params:
        run=get_run_params,
    threads: TRAIN_THREADS
    priority: get_train_priority
    resources:
        gpu=GPUS_PER_JOB,
        math_threads=get_math_threads,
        mem_mb=get_train_mem_mb,
        runtime=get_train_runtime,
    conda:
        ENV
    log:
        f"{LOGS}/train/{{variant}}/seed{{seed}}.log",
    script:
        "../scripts/train.py"
