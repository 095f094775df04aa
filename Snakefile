# From config.yaml to report/informe.pdf: data -> train -> aggregate (-> evaluate) -> figures,
# tables -> report. The study's kind (common.smk's KIND) chooses what each stage builds.
# Run: snakemake --cores 4 report/informe.pdf      (see README.md for more targets)
import sys

from snakemake.utils import min_version, validate

from nnreport.config.files import ConfigFileError, read_config_file
from nnreport.config.grid import coerce_numbers
from nnreport.config.templates import default_sections
from nnreport.checks.config import ConfigError, validate_config

min_version("9.17")  # a rule's priority may be a function


report: "workflow/report/workflow.rst"


# config.yaml is the default study; a study given with --configfile replaces it (not merged).
if not workflow.overwrite_configfiles:
    try:  # one line naming the file, its line and column (Snakemake's own message names neither)
        read_config_file("config.yaml")
    except ConfigFileError as e:
        sys.exit(f"{e}")

    configfile: "config.yaml"



SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"
coerce_numbers(config, SCHEMA)
default_sections(config)  # `language: en` alone: the English prose
# Every problem of the config in one short message (file, path, value, fix), no traceback;
# then Snakemake's own validation, which also fills in the schema's defaults.
try:
    validate_config(config, SCHEMA,
                    workflow.configfiles, workflow.config_settings.config)
except ConfigError as e:
    sys.exit(f"{e}")
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


# Only declared runs and experiments match, so a typo in a target is an error, not a new run.
wildcard_constraints:
    variant=VARIANT_PATTERN,
    seed="|".join(str(s) for s in SEEDS),
    experiment=EXPERIMENT_PATTERN,
    model=MODEL_PATTERN,


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/report.smk"


rebuild_stale()  # a deleted result, or one of another config, is built again


# On a cluster these run in the main Snakemake process (the login node), not as SLURM jobs:
# each takes seconds (reading results, the packed images or a model; the report needs LaTeX
# where Snakemake runs). Packing the data reads the dataset's files where the user put them
# (Debian's package, a download) and writes them to the shared folder. Training and the final
# evaluations go to the cluster.
localrules:
    all,
    prepare_data,
    aggregate,
    select_model,
    learning_curves,
    learning_curves_grid,
    sample_images,
    confusion_matrix,
    effects,
    final_learning_curves,
    noise_robustness,
    reconstructions,
    latent_space,
    table_counts,
    table_experiments,
    table_results,
    table_classifiers,
    table_architecture,
    table_models,
    table_search,
    report,
    publish_report,


rule all:
    default_target: True
    input:
        REPORT_PDF,
