rule table_counts:
    input:
        data=DATA_INPUT,
    output:
        f"{BUILD}/tables/counts.tex",
    params:
        code_version=script_code("table_counts.py"),
        language=LANGUAGE,
        max_train=config["max_train"],
        max_val=config["max_val"],
        max_test=config.get("max_test"),
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/counts.log",
    script:
        "../scripts/table_counts.py"




# Tables of a Table I study.
rule table_experiments:
    output:
        f"{BUILD}/tables/experiments.tex",
    params:
        code_version=script_code("table_experiments.py"),
        language=LANGUAGE,
        knobs=KNOB_LABELS,
        base=config.get("base"),
        experiments=config.get("experiments"),
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/experiments.log",
    script:
        "../scripts/table_experiments.py"


rule table_results:
    input:
        summary=f"{RESULTS}/summary.parquet",
        runs=f"{RESULTS}/runs.parquet",  # with several seeds, the corrected differences
        correct=f"{RESULTS}/correct.parquet",
    output:
        f"{BUILD}/tables/results.tex",
    params:
        code_version=script_code("table_results.py"),
        language=LANGUAGE,
        knobs=KNOB_LABELS,
        base=config.get("base"),
        experiments=config.get("experiments"),
        kind=KIND.name,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/results.log",
    script:
        "../scripts/table_results.py"


# An autoencoder study's classifiers on its encoder.
rule table_classifiers:
    input:
        summary=f"{RESULTS}/summary.parquet",
    output:
        f"{BUILD}/tables/classifiers.tex",
    params:
        code_version=script_code("table_results.py"),
        language=LANGUAGE,
        knobs=KNOB_LABELS,
        base=config.get("base"),
        experiments=config.get("experiments"),
        kind=KIND.name,
        table="classifiers",
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/classifiers.log",
    script:
        "../scripts/table_results.py"


rule table_architecture:
    input:
        data=DATA_INPUT,
    output:
        f"{BUILD}/tables/architecture.tex",
    params:
        code_version=script_code("table_architecture.py"),
        language=LANGUAGE,
        base=config.get("base"),
        code=get_base_code,
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/architecture.log",
    script:
        "../scripts/table_architecture.py"


# Tables of a model study.
rule table_models:
    input:
        evaluations=expand(f"{RESULTS}/final/{{model}}/evaluation.json", model=MODEL_IDS),
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
    output:
        f"{BUILD}/tables/models.tex",
    params:
        code_version=script_code("table_models.py"),
        language=LANGUAGE,
        models=config.get("models"),
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/models.log",
    script:
        "../scripts/table_models.py"


rule table_search:
    input:
        selections=expand(f"{RESULTS}/selection/{{model}}.json", model=MODEL_IDS),
        runs=run_files("run.json"),
    output:
        f"{BUILD}/tables/search.tex",
    params:
        code_version=script_code("table_search.py"),
        language=LANGUAGE,
        knobs=KNOB_LABELS,
        models=config.get("models"),
    resources:
        **LIGHT_JOB,
    conda:
        ENV
    log:
        f"{LOGS}/tables/search.log",
    script:
        "../scripts/table_search.py"
