# dsts: two commands do everything on a fresh clone.
#   make repro   set-up + the default DVC pipeline (synthetic benchmarks, CPU)
#   make test    set-up + every test (clean/sync check, pytest: notebooks executed, docs site, pipeline smoke test)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export PYTHONHASHSEED := 0
export PYTHONWARNINGS := ignore:IProgress not found
# (tqdm.auto, which huggingface_hub imports, warns in every kernel that ipywidgets is missing: text bars are what we want)
export PATH := $(abspath $(VENV))/bin:$(PATH)

# Executed first, then converted with streams coalesced (nbconvert coalesces before it executes): a progress bar
# in the README shows as its final line, once. IPC transport: no "running over TCP" warning (nbs/00b_nbrun.ipynb).
README.md: nbs/index.ipynb results/results.md results/repro-time.json $(wildcard results/reproduction/*.json) $(STAMP)  # it quotes the last run's results and times
	@mkdir -p _exec
	$(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.kernel_manager_class=dsts.nbrun.IPCKernelManager --output-dir _exec --output index-readme nbs/index.ipynb --log-level WARN
	$(BIN)/jupyter nbconvert --to markdown --CoalesceStreamsPreprocessor.enabled=True --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags=remove_input --output-dir . --output README _exec/index-readme.ipynb --log-level WARN

readme: README.md ## render nbs/index.ipynb (executed) to README.md (nbdev_readme needs quarto)

.PHONY: exp-show readme help venv repro repro-check repro-full test test-fast test-slow nbtest pytest check-sync export clean lab bench synth docs browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.txt setup.py settings.ini
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name dsts --display-name "dsts (.venv)" >/dev/null
	@touch $@

venv: $(STAMP) ## create .venv from requirements.txt and install dsts editable

repro: ## set-up + the default pipeline (dvc pull data.dvc, dvc repro: timed into results/repro-time.json), then README.md
	@t0=$$(date +%s.%N); $(MAKE) --no-print-directory venv && $(BIN)/python tools/repro.py --started $$t0
	$(MAKE) --no-print-directory README.md

CHECK ?= threads
repro-check: ## the float-path check: the default run again in a clone with two threads per run (CHECK=fp32: in fp32), resumable, compared with the commit
	$(MAKE) --no-print-directory venv && $(BIN)/python tools/repro.py --check $(CHECK)
	$(MAKE) --no-print-directory README.md

repro-full: ## the default pipeline and every ablation row (pipeline.all_ablations), as a DVC experiment, timed too
	@t0=$$(date +%s.%N); $(MAKE) --no-print-directory venv && $(BIN)/python tools/repro.py --all-ablations --started $$t0
	$(MAKE) --no-print-directory README.md

# `dvc exp show` prints a column for every key of params.yaml: this one shows what defines a design (the epochs, the
# seeds) and each row's top-1, within 120 columns. Compare a budget: `dvc exp run -n e8 -S
# datasets.synthdive.train.epochs=8`, then `make exp-show`.
ROWS = $(BIN)/python -c "import yaml; from dsts.report import claim_rows; print('|'.join(claim_rows(yaml.safe_load(open('params.yaml')))))"
exp-show: $(STAMP) ## the experiments beside the committed run: each row's top-1, epochs, converged, seeds (dvc exp show)
	@$(BIN)/dvc exp show --no-pager --drop '.*' --keep "^(Experiment|$$($(ROWS))|epochs|converged|pipeline\.seeds)$$"

# The library notebooks' own tests run once, inside pytest: tests/test_docs.py builds the docs site, which executes
# every notebook top to bottom with the project's kernel under nbdev_test's rules (slow/cuda cells skipped).
# `make nbtest` runs the same cells through nbdev_test, for a quick check without the site.
test: $(STAMP) ## every test: notebooks clean and library in sync, then pytest (every notebook executed, docs site in Chromium)
	$(MAKE) --no-print-directory browser
	$(MAKE) check-sync
	$(MAKE) pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest -q tests

nbtest: $(STAMP) ## run the library notebooks as tests (slow/cuda cells skipped)
	$(BIN)/nbdev_test --n_workers 2 --timing

test-slow: $(STAMP) ## also the tests flagged slow
	$(BIN)/python -m pytest -q --runslow tests
	$(BIN)/nbdev_test --n_workers 2 --flags slow

check-sync: $(STAMP) ## fail if nbdev_export or nbdev_clean would change a file
	@bash .ci/check-sync $(BIN)

export: $(STAMP) ## notebooks -> dsts/, then clean the notebooks
	$(BIN)/nbdev_clean && $(BIN)/nbdev_export

synth: $(STAMP) ## only generate the synthetic benchmarks
	$(BIN)/dvc repro synth

bench: $(STAMP) ## throughput benchmarks (bench/*.py), printed as a table
	$(BIN)/python bench/data_throughput.py
	$(BIN)/python bench/model_overhead.py
	$(BIN)/python bench/train_step.py

docs: $(STAMP) ## the documentation site into _docs/ (notebooks executed with the project's kernel; no quarto needed)
	$(BIN)/python tools/docs.py

browser: ## headless Chromium for the docs test (Debian's chromium + chromium-driver; installs them when root)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { test "$$(id -u)" = 0 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } || \
	  echo "make browser: chromium could not be installed here (needs root and a Debian mirror): the browser test will be skipped"

lab: $(STAMP) ## jupyter lab with the project's kernel
	$(BIN)/jupyter lab --notebook-dir=nbs

clean: ## remove generated artefacts (keeps .venv; `make distclean` removes it too)
	rm -rf artifacts results/runs _exec _proc _docs .pytest_cache bench/out
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
