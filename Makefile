# The README's two commands: `make report` builds report/informe.pdf, `make test` runs the tests.
# Both first install what is missing: Debian packages (TeX, FashionMNIST) and the Python venv.
VENV ?= .venv
PYTHON ?= python3
CORES ?= 4
BIN := $(VENV)/bin

.PHONY: report test setup system test-system lint clean gpu-check

# In a terminal, Snakemake's rich logger plugin shows the progress (jobs done, the running ones,
# time elapsed per rule and in all); piped into a file or a CI log, or with PROGRESS=plain, the
# plain job listing. Either way the full plain log is in .snakemake/log/.
report: setup
	@if [ -t 1 ] && [ "$(PROGRESS)" != plain ]; then logger=--logger=rich; else logger=; fi; \
	echo "$(BIN)/snakemake --cores $(CORES) $$logger report/informe.pdf"; \
	$(BIN)/snakemake --cores $(CORES) $$logger report/informe.pdf

test: setup test-system lint
	$(BIN)/pytest

# ruff; the layers of pyproject.toml's import-linter contracts; mypy on src/; Snakemake's lint.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/snakemake --lint

setup: system $(VENV)/.installed

system:
	@bash workflow/setup/system-packages.sh

# What only the tests need: SLURM, munge and MariaDB for tests/test_slurm.py's single-node cluster,
# which only root can start; so only root installs them (elsewhere that test is skipped).
test-system:
	@if [ "$$(id -u)" -eq 0 ]; then bash workflow/setup/system-packages.sh workflow/setup/debian-packages-test.txt; \
	else echo "not root: SLURM's test packages not installed (tests/test_slurm.py will be skipped)"; fi

# The .pth file of nnreport.config.snakemake_hook gives one-line messages for unreadable --configfile files.
$(VENV)/.installed: pyproject.toml src/nnreport/config/snakemake_hook.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m nnreport.config.snakemake_hook
	touch $@

# On a machine with a CUDA GPU: the CUDA tests, the benchmarks on the GPU, CuPy against NumPy and
# the default grid with device: cuda, within 8 minutes, into benchmarks/results-gpu.md; without
# one it says so and exits 0. It installs nothing (a lent GPU machine may have no network): it
# runs with .venv's Python when there is one.
gpu-check:
	@if [ -x $(BIN)/python ]; then $(BIN)/python benchmarks/gpu_check.py; \
	else $(PYTHON) benchmarks/gpu_check.py; fi

clean:
	rm -rf results report/build logs .snakemake report/informe.pdf
