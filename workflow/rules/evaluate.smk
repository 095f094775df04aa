# A model study's evaluation: each model's best candidate on dev, then the final models on dev,
# test and noisy test images.


rule select_model:
    input:
        get_model_run_files,
    output:
        f"{RESULTS}/selection/{{model}}.json",
    params:
        code_version=script_code("select_model.py"),
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/selection/{{model}}.log",
    script:
        "../scripts/select_model.py"


rule evaluate_model:
    input:
        selection=f"{RESULTS}/selection/{{model}}.json",
        models=get_model_files,
        data=DATA_INPUT,
    output:
        evaluation=f"{RESULTS}/final/{{model}}/evaluation.json",
        noise=f"{RESULTS}/final/{{model}}/noise.parquet",
        predictions=f"{RESULTS}/final/{{model}}/test_predictions.parquet",
        dev_correct=f"{RESULTS}/final/{{model}}/dev_correct.parquet",
    params:
        code_version=script_code("evaluate_model.py"),
        max_val=config["max_val"],
        max_test=config.get("max_test"),
        sigmas=get_noise_sigmas,
        noise_seed=get_noise_seed,
    threads: 1
    resources:
        mem_mb=get_model_evaluation_mem_mb,
        runtime=get_model_evaluation_runtime,
    conda:
        ENV
    log:
        f"{LOGS}/final/{{model}}.log",
    script:
        "../scripts/evaluate_model.py"


# A Table I study with a test set: the configuration chosen on validation (best mean final
# accuracy over seeds), every seed of it, on the test images no choice has seen.
rule evaluate_chosen:
    input:
        runs=f"{RESULTS}/runs.parquet",
        models=run_files("model.pt"),
        data=DATA_INPUT,
    output:
        evaluation=LAYOUT.final(CHOSEN, "evaluation.json"),
        predictions=LAYOUT.final(CHOSEN, "test_predictions.parquet"),
    params:
        code_version=script_code("evaluate_chosen.py"),
        max_val=config["max_val"],
        max_test=config.get("max_test"),
    threads: 1
    resources:
        mem_mb=get_chosen_evaluation_mem_mb,
        runtime=get_chosen_evaluation_runtime,
    conda:
        ENV
    log:
        f"{LOGS}/final/{CHOSEN}.log",
    script:
        "../scripts/evaluate_chosen.py"
