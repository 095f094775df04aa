# Names and input functions shared by all rules; scripts never read `config` - each
# hyper-parameter reaches its job through `params:`, so a changed value reruns exactly its runs.
# One exception: train.py reads `device` and `tf32`, which retrain a run only when it trained
# otherwise than they now ask (rebuild_stale compares them with its run.json).
import json
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from nnreport.checks.paths import template_parts
from nnreport.config.templates import template_path
from nnreport.config.grid import code_digest, expand_grid, run_configs, training_cost, user_code
from nnreport.config.layout import CHOSEN, Layout, dataset_name
from nnreport.base.devices import gpu_visible
from nnreport.base.families import constructor_arguments
from nnreport.base.usercode import is_user_model
from nnreport.base.integrity import (
    damage_message,
    damaged_files,
    deleted_files,
    packed_params,
    mark_running,
    running_message,
    running_workflow,
    stale_runs,
)
from nnreport.data.registry import content_digest, describe
from nnreport.reporting.build import source_bundle_path
from nnreport.reporting.labels import (
    format_value,
    knob_name,
    panel_letters,
    plain,
    run_changes,
    run_label,
    study_knob_labels,
    variant_label,
)
from nnreport.reporting.words import activate, word
from nnreport.studies import resources as sizing
from nnreport.studies.kinds import model_ids, study_kind

STUDY = config["study"]
try:
    VARIANTS = expand_grid(config)
except ValueError as e:  # e.g. a model's `from` naming no earlier model
    sys.exit(f"{(workflow.configfiles or ['config.yaml'])[-1]}: {e}")
VARIANT_NAMES = [v.name for v in VARIANTS]
SEEDS = config["seeds"]
# What each job's code is, by content (profiles/default turns off Snakemake's own code trigger,
# which reruns a script's jobs when its file is merely newer: a touch, a fresh clone): a rule's
# `code_version` param is the digest of its script and of the package, so a change reruns its
# jobs. A run's identity holds the digest of what trains it (train.py and the training, models,
# data and base packages), so changing any other part of the package retrains nothing.
SRC = Path(workflow.basedir) / "src" / "nnreport"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
PACKAGE_CODE = code_digest([SRC])
TRAINER_CODE = code_digest([SCRIPTS / "train.py", SRC / "training", SRC / "models", SRC / "data",
                            SRC / "base"])


def script_code(name):
    """The digest of a rule's script and of the package it uses."""
    return code_digest([SCRIPTS / name]) + PACKAGE_CODE


RUN_CONFIGS = run_configs(config, TRAINER_CODE)  # (variant, seed) -> what its training needs
DATASET = dataset_name(config["dataset"])
DATA_INFO = describe(config["dataset"])  # its image shape (C, H, W), classes, file sizes
LANGUAGE = config["report"].get("language", "es")  # the report's words and templates
LAYOUT = Layout(STUDY, DATASET, LANGUAGE)
DATA_FILE = LAYOUT.data_file
# n_test: 0 is left out, so data packed before n_test existed still counts as current; the
# report's words for the user's own images (title, description) do not change the data; their
# content does (the SHA-256 of their bytes).
DATA_PARAMS = {k: v for k, v in sorted(config["dataset"].items())
               if (k, v) != ("n_test", 0) and k not in ("title", "description")}
CONTENT = content_digest(config["dataset"])
if CONTENT:
    DATA_PARAMS["content"] = CONTENT
RESULTS = LAYOUT.results
RUNS = LAYOUT.runs
BUILD = LAYOUT.build
LOGS = LAYOUT.logs
REPORT_PDF = config["report"]["pdf"]
REPORT_SOURCE = str(source_bundle_path(REPORT_PDF))
SECTIONS = config["report"]["sections"]
BIBLIOGRAPHY = config["report"]["bibliography"]
# The software of all rules (used with --use-conda) is the project's one environment.
ENV = str(Path(workflow.basedir) / "environment.yml")
# A Table I study (base + experiments) or a model study (models M0, M1, ... with searches):
# the kind names its tables, figures and template, and the inputs of its report.
KIND = study_kind(config)
MODEL_IDS = model_ids(config)
FIGURE_EXPERIMENTS = KIND.figure_experiments(config, VARIANTS)
TEMPLATE_NAME = config["report"].get("template") or KIND.template
# The report's language: its words (figures, tables, labels) and its templates, which for a
# language other than Spanish live in report/templates/<language>/ (a part not there: the
# Spanish folder's, e.g. paginas.tex.j2).
# The study's own knobs (a user's constructor arguments) are named as `report: knobs:` says,
# else by their name in code font.
KNOB_LABELS = study_knob_labels(config, sorted({k for v in VARIANTS if is_user_model(
    v.hparams.get("model")) for k in constructor_arguments(v.hparams)}))
activate(LANGUAGE, KNOB_LABELS)
TEMPLATE = template_path(Path(workflow.basedir) / "report" / "templates", TEMPLATE_NAME, LANGUAGE)
TEMPLATE_PARTS = template_parts(TEMPLATE) if TEMPLATE.is_file() else []  # e.g. determinismo
# A damaged file the workflow wrote stops the run before any job, with the command that
# rebuilds it: a job reading it would fail, and Snakemake deletes the outputs of failed jobs.
# While another workflow runs in this folder (started after --unlock) its files are being
# written: not damage; this one is refused before any job (rebuild_stale).
OTHER_WORKFLOW = running_workflow() if workflow.is_main_process else None
DAMAGED = {} if OTHER_WORKFLOW else damaged_files([
    DATA_FILE, *(p for p in Path(RESULTS).rglob("*") if p.suffix not in (".tmp", ".sha256"))])
if DAMAGED:
    sys.exit(damage_message(DAMAGED, [os.path.relpath(f) for f in
                                      workflow.overwrite_configfiles or []]))
# The packed data counts by the dataset config it was built from, not by its time: rebuilt
# from the same config (after damage) it retrains nothing; built from another, it retrains all.
PACKED_PARAMS = packed_params(DATA_FILE)  # None: no packed data (yet), or unreadable
PACKED_CURRENT = PACKED_PARAMS == json.loads(json.dumps(DATA_PARAMS, sort_keys=True))
DATA_INPUT = ancient(DATA_FILE) if PACKED_CURRENT else DATA_FILE
VARIANT_PATTERN = "|".join(re.escape(v) for v in VARIANT_NAMES)
MODEL_PATTERN = "|".join(re.escape(m) for m in MODEL_IDS) or "(?!)"
EXPERIMENT_PATTERN = "|".join(re.escape(e) for e in FIGURE_EXPERIMENTS) or "(?!)"
# A GPU job declares gpu=1 so several can share a GPU and SLURM can schedule them.
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0
# A training job's threads. Training is CPU-bound: more training jobs at once than CPUs slows
# the whole grid down (the default grid on 2 CPUs: --cores 4 ran 4 jobs at once, each 2.3x
# slower than 2 at once, 155 s against 137 s). So a local run's training job claims cores/CPUs
# of the given cores (at most one trains per CPU) and its math libraries use its share of the
# CPUs (1 thread unless --set-threads says more). A cluster run has no --cores: each training
# job asks the scheduler for 1 CPU (`--set-threads train=N` for N) and uses what it was given.
# Snakemake parses this file again inside each cluster job, on its node, with --cores all (the
# CPUs the job may run on): there CORES == CPUS and the job's math threads are its threads.
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
try:
    CORES = workflow.cores
except WorkflowError:  # no --cores: a cluster run's main process (or --unlock, a dry run)
    CORES = None
TRAIN_THREADS = max(1, CORES // CPUS) if CORES else 1


# What each job asks for besides its threads (memory in MB, wall time in minutes; a cluster
# job gets that from SLURM, a local run holds jobs to `--resources mem_mb=N`): a training or
# evaluation job from its model and data (get_train_mem_mb, get_train_runtime, ...); a job that
# loads the images or a model (packing the data, figures of images) the data's share; one that
# reads results (tables, figures of curves, the report) a light one.
# nnreport.studies.resources sizes them from measurements.
DATA_JOB = {"mem_mb": sizing.memory_mb(config), "runtime": lambda wildcards, attempt:
            sizing.LIGHT_MINUTES * attempt}
LIGHT_JOB = {"mem_mb": sizing.LIGHT_MB, "runtime": DATA_JOB["runtime"]}


def run_files(name, variants=None):
    """Paths of one file of every run (all seeds) of `variants` (default: all)."""
    return LAYOUT.run_files(name, variants or VARIANT_NAMES, SEEDS)


def get_run_params(wildcards):
    """The resolved config of one training run."""
    return RUN_CONFIGS[wildcards.variant, int(wildcards.seed)]


def get_base_code(wildcards):
    """The file and content hash of the base's class when it is the user's own (else None):
    editing the file redraws what shows the model."""
    return user_code(config.get("base") or {})


def get_run_hashes(wildcards):
    """The config hash of every run (`<run>/seed<k>`): the report refuses results without it."""
    return {f"{v}/seed{s}": run["hash"] for (v, s), run in RUN_CONFIGS.items()}


def get_math_threads(wildcards, threads):
    """Threads of a training job's math libraries: its share of the CPUs where it runs, at
    most its threads (a cluster job's main process submits it: its threads go to sbatch)."""
    return max(1, min(threads, threads * CPUS // CORES)) if CORES else threads


def counted_hparams(run):
    """The hyper-parameters that bound a run's cost: its own, or for a run that starts from
    another model's choice (`from: M1`) those of the dearest candidate of that model."""
    variant = next(v for v in VARIANTS if v.name == run["variant"])
    if not variant.source:
        return run["hparams"]
    merged = [{**v.hparams, **run["hparams"]} for v in VARIANTS if v.experiment == variant.source]
    return max(merged, key=lambda h: training_cost(h, 1, DATA_INFO.shape, DATA_INFO.n_classes),
               default=run["hparams"])


def get_train_mem_mb(wildcards, attempt):
    """Memory of a training job, in MB: its step, the images and the copies its back-end makes,
    its model's parameters, optimiser state and activations (twice that on a retry)."""
    run = RUN_CONFIGS[wildcards.variant, int(wildcards.seed)]
    return sizing.memory_mb(config, run["backend"], attempt, run["hparams"])


def evaluation_mem_mb(variants, attempt):
    """Memory of a job scoring `variants`' models, in MB: the dearest back-end's."""
    return max(sizing.memory_mb(config, RUN_CONFIGS[v, SEEDS[0]]["backend"], attempt)
               for v in variants)


def get_model_evaluation_mem_mb(wildcards, attempt):
    """Memory of a model's final evaluation (its candidates' back-end)."""
    return evaluation_mem_mb(get_model_variants(wildcards), attempt)


def get_chosen_evaluation_mem_mb(wildcards, attempt):
    """Memory of the chosen configuration's evaluation."""
    return evaluation_mem_mb(VARIANT_NAMES, attempt)


def get_train_runtime(wildcards, attempt):
    """Wall time of a training job, in minutes, from its model's cost, images and epochs (twice
    that on a retry)."""
    run = RUN_CONFIGS[wildcards.variant, int(wildcards.seed)]
    units = sizing.train_units(config, run, counted_hparams(run))
    return sizing.minutes(units, attempt)


def evaluation_runtime(variants, passes, attempt):
    """Wall time of a job scoring the dearest of `variants` `passes` times over the validation
    and test images, in minutes."""
    runs = [RUN_CONFIGS[v, SEEDS[0]] for v in variants]
    units = max(sizing.evaluation_units(config, counted_hparams(r), passes) for r in runs)
    return sizing.minutes(units, attempt)


def get_model_evaluation_runtime(wildcards, attempt):
    """A model's final evaluation: every seed on dev, test and each noise level."""
    passes = len(SEEDS) * (2 + len(config.get("noise", {}).get("sigmas", [])))
    return evaluation_runtime(get_model_variants(wildcards), passes, attempt)


def get_chosen_evaluation_runtime(wildcards, attempt):
    """The chosen configuration's evaluation: every seed on validation and test."""
    return evaluation_runtime(VARIANT_NAMES, 2 * len(SEEDS), attempt)


def run_cost(run):
    """A run's training time and that of the runs that wait for it (the classifiers on its
    encoder): the length of the chain it starts."""
    waiting = [r for r in RUN_CONFIGS.values() if r["hparams"].get("encoder") == run["variant"]
               and r["seed"] == run["seed"] and r["hparams"].get("model") == "encoder_classifier"]
    return training_cost(counted_hparams(run), run["epochs"], DATA_INFO.shape,
                         DATA_INFO.n_classes) + max(
        (run_cost(r) for r in waiting), default=0.0)


def get_train_priority(wildcards):
    """The longest chains of runs start first (a run and those that wait for it), so that no
    long run is left alone at the end."""
    return round(run_cost(RUN_CONFIGS[wildcards.variant, int(wildcards.seed)]), 1)


def get_experiment_variants(wildcards):
    """The base and the variants of one experiment (or the candidates of one model)."""
    return KIND.experiment_variants(VARIANTS, wildcards.experiment)


def get_experiment_labels(wildcards):
    """Legend labels of the base (with its value of the knob) and the variants of one experiment."""
    variants = [v for v in VARIANTS if v.experiment == wildcards.experiment]
    if MODEL_IDS:  # the figure is the model's: name only what each candidate changes
        return [run_changes(v) for v in variants]
    knob = variants[-1].knob
    base = f"{variant_label(knob, reference_hparams(variants)[knob])} (base)"
    return [base] + [variant_label(v.knob, v.value) for v in variants if v.reference]


def get_grid_experiments(wildcards):
    """The panels of the figure of every experiment's learning curves: per experiment, its
    title (`(a) $n_1$`), its runs (the base first) and their short labels (the values)."""
    panels = []
    for experiment, letter in panel_letters(FIGURE_EXPERIMENTS).items():
        variants = [v for v in VARIANTS if v.experiment == experiment]
        knob = variants[-1].knob
        panels.append({
            "title": f"({letter}) {knob_name(knob)}",
            "variants": KIND.experiment_variants(VARIANTS, experiment),
            "labels": [f"{format_value(knob, reference_hparams(variants)[knob])} (base)"]
            + [format_value(v.knob, v.value) for v in variants if v.reference]})
    return panels


def reference_hparams(variants):
    """The hyper-parameters an experiment's variants are compared with: the study's base, or
    the experiment's own base run (one of `variants`)."""
    own = next((v for v in variants if v.reference is None and v.name != "base"), None)
    return own.hparams if own else config["base"]


def get_autoencoder_models(wildcards):
    """model.pt (first seed) of every autoencoder run, in Table I order."""
    return [f"{RUNS}/{v.name}/seed{SEEDS[0]}/model.pt" for v in VARIANTS
            if v.hparams.get("model") == "conv_autoencoder"]


def get_autoencoder_labels(wildcards):
    """The label of every autoencoder run, in Table I order (as its figure rows read)."""
    return [run_label(v) for v in VARIANTS if v.hparams.get("model") == "conv_autoencoder"]


def get_learning_curves_report_labels(wildcards):
    """Labels of a learning-curve figure in the HTML report: the experiment and its runs."""
    return {word("html.experiment"): wildcards.experiment,
            word("html.runs"): ", ".join(plain(label) for label in get_experiment_labels(wildcards))}


def get_figure_report_labels(figure):
    """Labels of a figure in the HTML report: what it shows."""
    return {word("html.figure"): word(f"html.figures.{figure}")}


def get_experiment_metrics(wildcards):
    """Metrics files of the base and the variants of one experiment."""
    return run_files("metrics.parquet", get_experiment_variants(wildcards))


def get_section_files(wildcards):
    """The author's prose files that the report includes."""
    return sorted(str(p) for p in Path(SECTIONS).glob("*.tex"))


def get_report_config(wildcards):
    """The parts of the config that the report shows."""
    keys = ("study", "dataset", "epochs", "seeds", "base", "experiments", "models", "noise",
            "report", "max_train", "max_val", "max_test")
    return {k: config[k] for k in keys if k in config}


def get_train_selection(wildcards):
    """The selection file of the model a run starts from (`from: M1`), if any."""
    source = next(v.source for v in VARIANTS if v.name == wildcards.variant)
    return [f"{RESULTS}/selection/{source}.json"] if source else []


def get_train_encoder(wildcards):
    """The model.pt of the autoencoder run (same seed) whose encoder a classifier starts from."""
    hparams = RUN_CONFIGS[wildcards.variant, int(wildcards.seed)]["hparams"]
    if hparams.get("model") != "encoder_classifier":
        return []
    return [f"{RUNS}/{hparams['encoder']}/seed{wildcards.seed}/model.pt"]


def get_model_variants(wildcards):
    """The runs (candidates) of one model of a model study."""
    return [v.name for v in VARIANTS if v.experiment == wildcards.model]


def get_model_run_files(wildcards):
    """run.json of every candidate and seed of one model."""
    return run_files("run.json", get_model_variants(wildcards))


def get_model_files(wildcards):
    """model.pt of every candidate and seed of one model."""
    return run_files("model.pt", get_model_variants(wildcards))


def get_report_study_inputs(wildcards):
    """The results the study's kind adds to the report's inputs."""
    return KIND.report_inputs(config, LAYOUT, VARIANT_NAMES, SEEDS)


def get_confusion_inputs(wildcards):
    """What picks the run of the confusion matrix, and that run's predictions, by kind."""
    return KIND.confusion_inputs(config, LAYOUT, VARIANT_NAMES, SEEDS)


def get_noise_sigmas(wildcards):
    """The noise levels of the robustness evaluation of a model study."""
    return config["noise"]["sigmas"]


def get_noise_seed(wildcards):
    """The seed of the Gaussian noise of the robustness evaluation."""
    return config["noise"]["seed"]


def rebuild_stale():
    """Make the next invocation rebuild, then everything built from them: a result deleted by
    hand (a run's folder, results/, data/), a run whose run.json records another config than
    the config now gives, and packed data built from another dataset config. Snakemake alone
    leaves a missing file missing while what was built from it is present ("Nothing to be
    done"), and sees a changed config only through its .snakemake/ records; the results' own
    records make both visible without them. Called once every rule is defined (it reads the
    train rule's outputs)."""
    names = [Path(str(f)).name for f in rules.train.output]
    files = {key: [LAYOUT.run_file(*key, name) for name in names] for key in RUN_CONFIGS}

    def results_of(inputs):
        values = [v for vs in inputs.values() for v in ([vs] if isinstance(vs, str) else vs)]
        return [v for v in values if v.startswith(f"{RESULTS}/")]

    deleted = deleted_files(
        files, f"{RESULTS}/runs.parquet", f"{BUILD}/informe.pdf", DATA_FILE,
        results_of(KIND.report_inputs(config, LAYOUT, VARIANT_NAMES, SEEDS))
        + results_of(KIND.confusion_inputs(config, LAYOUT, VARIANT_NAMES, SEEDS)))
    stale_keys = stale_runs({k: (LAYOUT.run_file(*k, "run.json"), run["hash"])
                             for k, run in RUN_CONFIGS.items()},
                            config["device"], bool(config.get("tf32")))
    changed = [f for key in stale_keys for f in files[key]]
    if PACKED_PARAMS is not None and not PACKED_CURRENT:  # packed from another config
        changed.insert(0, DATA_FILE)
    stale = list(dict.fromkeys(deleted + changed))
    if not workflow.is_main_process:  # a job's own process builds its job
        return
    # `--forcerun <the stale files>` on the user's behalf (those of the runs a target names,
    # when every target is a run's file): Snakemake hands the workflow its DAG settings only
    # after reading this file, just before it prepares the DAG, and its executor with them.
    prepare = workflow._prepare_dag

    def prepare_with_stale(*args, **kwargs):
        settings = workflow.dag_settings
        # Workflow.execute runs the jobs (or dry-runs them); --unlock, --lint, ... only build
        # the DAG. While another workflow runs in this folder (Snakemake's lock no longer says
        # so after --unlock) this one is refused; a dry run is only warned.
        caller = sys._getframe(1).f_code.co_name
        if caller == "unlock" and OTHER_WORKFLOW:
            logger.warning(f"pid {OTHER_WORKFLOW['pid']} (`{OTHER_WORKFLOW.get('command')}`) "
                           f"still runs in this folder: its lock is removed as asked, but a "
                           f"workflow started here before it ends is refused")
        if caller == "execute" and OTHER_WORKFLOW and not workflow.dryrun:
            sys.exit(running_message(OTHER_WORKFLOW))
        if caller == "execute" and OTHER_WORKFLOW:
            logger.warning(running_message(OTHER_WORKFLOW).replace(" Nothing was run.", ""))
        if caller == "execute" and not workflow.dryrun:
            mark_running()
        targets = [str(t) for t in settings.targets]
        folders = {str(Path(t).parent) for t in targets}
        only_runs = bool(targets) and all(t.startswith(f"{RUNS}/") for t in targets)
        forced = [f for f in stale  # stale data: whatever the target, it trains on it
                  if not only_runs or f == DATA_FILE or str(Path(f).parent) in folders]
        untrained = [k for k, names in files.items()
                     if (k in stale_keys or not all(Path(f).exists() for f in names))
                     and (not only_runs or str(Path(names[0]).parent) in folders)]
        if (config["device"] == "cuda" and untrained and workflow.local_exec
                and not workflow.dryrun and not gpu_visible()):
            sys.exit(  # before the DAG and its lock: the user's config, not our traceback
                f"{(workflow.configfiles or ['config.yaml'])[-1]}: device: 'cuda' asks for a "
                f"CUDA GPU and this machine shows none (no /dev/nvidia*, or "
                f"CUDA_VISIBLE_DEVICES hides them), while {len(untrained)} run(s) would train "
                f"here, e.g. {untrained[0][0]} seed {untrained[0][1]}; set device: auto (the "
                f"GPU where there is one, else the CPU) or cpu, or submit the jobs to a "
                f"cluster's GPUs (--profile profiles/slurm)")
        if forced and caller == "execute":
            logger.warning(
                f"{len(forced)} result file(s) are gone or were built from another config "
                f"than the config now gives; they are built again, then what was built from "
                f"them: {', '.join(forced[:3])}" + (", ..." if len(forced) > 3 else ""))
            settings.forcerun = frozenset(settings.forcerun) | set(forced)
        return prepare(*args, **kwargs)

    workflow._prepare_dag = prepare_with_stale
