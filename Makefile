# The README's commands. Each sets up what it needs on a fresh machine.
#   make run    the desk on the embedded default (the bundled demo storm)
#   make test   make lint, then the whole test suite (installs CPU-only torch, flair and the test tools)
#   make lint   ruff (lint and format), the layers contract (import-linter) and the type checker (mypy)
#   make bench  the benchmarks, written to bench.json
#   make i18n   after marking or changing words shown to people: extract them, update the French
#               catalog (config/locale), and once it is translated, compile it (the .mo is committed)
#   make fuzz   the fuzz suites (test_fuzz_*) with random seeds and ten times the examples; make test runs
#               them too, bounded and derandomized (tests/conftest.py)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# torch must be the CPU build: on this kind of machine pip finds it in its find-links;
# elsewhere set TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_OPTS  := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test bench fuzz lint clean i18n

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# base install: no flair, so the first `make run` is quick
$(VENV)/.base-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e .
	touch $@

# test install: CPU-only torch first (pinned, with transformers<5 and huggingface-hub<1), then flair and dev tools
$(VENV)/.test-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -q $(TORCH_OPTS) -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[flair,dev]'
	touch $@ $(VENV)/.base-installed

run: $(VENV)/.base-installed
	$(BIN)/tocsin

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.test-installed
	$(BIN)/python -m pytest tests/bench -q -p no:cacheprovider --override-ini addopts= --import-mode=importlib -o timeout=0 -s
	@cat bench.json

fuzz: $(VENV)/.test-installed
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -k fuzz -o timeout=1800

LOCALE := config/locale
i18n: $(VENV)/.test-installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k N_plural:1,2 --no-location --sort-output --project tocsin \
		-o $(LOCALE)/tocsin.pot config sources scoring journal desk tui
	$(BIN)/pybabel update -i $(LOCALE)/tocsin.pot -d $(LOCALE) -D tocsin --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALE) -D tocsin --statistics

# The house's checks: ruff (lint and format), the layers contract (import-linter) and the type checker
# (mypy: the whole tree, strict on the model, the journal and config). import-linter and mypy find
# packages by folder, and ours are mapped by package-dir (config/ is tocsin.config), so both read a
# tree of links, $(LAYERS)/tocsin/<folder>, rebuilt on each run.
LAYERS  := $(CURDIR)/$(VENV)/layers
FOLDERS := config sources scoring journal desk tui
lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf $(LAYERS) && mkdir -p $(LAYERS)/tocsin && cp tocsin/__init__.py $(LAYERS)/tocsin/
	for d in $(FOLDERS); do ln -s $(CURDIR)/$$d $(LAYERS)/tocsin/$$d; done
	cd $(LAYERS) && PYTHONPATH=$(LAYERS) $(CURDIR)/$(BIN)/lint-imports --no-cache $(CURDIR)/pyproject.toml
	cd $(LAYERS) && MYPYPATH=$(LAYERS) $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/$(VENV)/mypy_cache -p tocsin

clean:
	rm -rf $(VENV) bench.json .pytest_cache .ruff_cache
