# Trợ lý Dịch vụ công — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY311 ?= python3.11
VENV := .venv
RVENV := .venv-rasa
PIP_FLAGS := --disable-pip-version-check -q
RASA := PYTHONPATH=$(CURDIR) TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false $(RVENV)/bin/rasa
TRAIN_DATA := nlu_data/nlu nlu_data/rules.yml nlu_data/stories.yml
# The model is retrained only when one of these changed.
MODEL_INPUTS := config.yml domain.yml $(shell find nlu_data -name '*.yml' -not -path 'nlu_data/tests/*' 2>/dev/null) \
	bot/nlu/vietnamese_tokenizer.py bot/nlu/sentence_featurizer.py bot/nlu/linear_intent_classifier.py knowledge/normalize.py knowledge/abbreviations.py
MODEL := models/congdan.tar.gz

# Python 3.10 for Rasa: $PYTHON310, else python3.10 if it runs, else pyenv's 3.10.
define find_python310
py="$${PYTHON310:-}"; \
if [ -z "$$py" ] && python3.10 -c 'import sys' >/dev/null 2>&1; then py=$$(command -v python3.10); fi; \
if [ -z "$$py" ] && command -v pyenv >/dev/null 2>&1; then \
  for cand in $$(pyenv root)/versions/3.10.*/bin/python3.10; do [ -x "$$cand" ] && py="$$cand"; done; fi; \
if [ -z "$$py" ]; then echo "Python 3.10 is needed for Rasa 3.6.21. Install it (e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv') or set PYTHON310=/path/to/python3.10." >&2; exit 1; fi
endef

.PHONY: help setup model run test test-python test-rasa browser deploy-tools lint bench clean

help:
	@echo "make run    install what is missing, train if needed, start everything, print the URL"
	@echo "make test   install what is missing and run every test"
	@echo "make lint   ruff + mypy     make bench   benchmarks -> var/bench/     make clean"

setup: $(VENV)/.installed $(RVENV)/.installed

$(VENV)/.installed: pyproject.toml requirements/app.lock
	@start=$$(date +%s); \
	test -x $(VENV)/bin/python || $(PY311) -m venv $(VENV); \
	$(VENV)/bin/pip install $(PIP_FLAGS) pip==24.3.1 && \
	$(VENV)/bin/pip install $(PIP_FLAGS) -c requirements/app.lock -e '.[dev]' && \
	mkdir -p var/bench && echo "{\"app_venv_s\": $$(( $$(date +%s) - start ))}" > var/bench/setup_app.json && \
	touch $@

$(RVENV)/.installed: requirements/rasa.lock
	@start=$$(date +%s); $(find_python310); \
	test -x $(RVENV)/bin/python || "$$py" -m venv $(RVENV); \
	$(RVENV)/bin/pip install $(PIP_FLAGS) pip==24.3.1 && \
	$(RVENV)/bin/pip install $(PIP_FLAGS) -r requirements/rasa.lock && \
	mkdir -p var/bench && echo "{\"rasa_venv_s\": $$(( $$(date +%s) - start ))}" > var/bench/setup_rasa.json && \
	touch $@

$(MODEL): $(RVENV)/.installed $(MODEL_INPUTS)
	@echo "Training the Rasa model (the data or the config changed)…"
	@start=$$(date +%s); \
	$(RASA) train --config config.yml --domain domain.yml --data $(TRAIN_DATA) \
		--out models --fixed-model-name congdan --quiet && \
	mkdir -p var/bench && echo "{\"train_s\": $$(( $$(date +%s) - start ))}" > var/bench/train.json

model: $(MODEL)

run: setup $(MODEL)
	$(VENV)/bin/congdan run

test: setup $(MODEL) test-rasa test-python

test-rasa: $(RVENV)/.installed $(MODEL)
	$(RASA) data validate --config config.yml --domain domain.yml --data $(TRAIN_DATA) --quiet
	$(RASA) test core --model $(MODEL) --stories nlu_data/tests --fail-on-prediction-errors \
		--out var/rasa-results --quiet

# Headless chromium for the widget's browser tests (Debian's package; Playwright downloads nothing).
browser:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# Debian's docker-compose: tests/deploy validates deploy/docker-compose.yml with `docker-compose config`.
deploy-tools:
	@command -v docker-compose >/dev/null || (apt-get update && apt-get install -y docker-compose)

# The optional sentence-transformers backend (extra `st`): `make run` needs neither it nor torch;
# `make test` installs it to test that backend, torch's CPU wheel first (else pip pulls a CUDA build).
$(VENV)/.st-installed: $(VENV)/.installed
	$(VENV)/bin/pip install $(PIP_FLAGS) torch==2.13.0 && \
	$(VENV)/bin/pip install $(PIP_FLAGS) -c requirements/app.lock -e '.[dev,st]' && \
	touch $@

test-python: $(VENV)/.installed $(VENV)/.st-installed $(MODEL) browser deploy-tools
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot knowledge actions tests
	$(VENV)/bin/ruff format --check bot knowledge actions
	$(VENV)/bin/mypy bot knowledge actions
	@# known vulnerabilities in both lock files (PyPI's JSON API; findings explained in README.md)
	$(VENV)/bin/pip-audit --progress-spinner off --no-deps --disable-pip -r requirements/app.lock
	$(VENV)/bin/pip-audit --progress-spinner off --no-deps --disable-pip -r requirements/rasa.lock

bench: setup $(MODEL) browser
	$(VENV)/bin/python tests/benchmarks/bench_search.py
	$(VENV)/bin/python tests/benchmarks/bench_decision.py
	$(VENV)/bin/python tests/benchmarks/bench_publish.py
	$(VENV)/bin/python tests/benchmarks/bench_foundation.py
	$(VENV)/bin/python tests/benchmarks/bench_widget.py
	$(VENV)/bin/python tests/benchmarks/bench_handoff.py
	$(VENV)/bin/python tests/benchmarks/bench_zalo.py
	$(VENV)/bin/python tests/benchmarks/bench_nlu.py
	@echo "Results in var/bench/"

clean:
	rm -rf var/index var/eval-index var/rasa-results var/bench models .pytest_cache .mypy_cache .ruff_cache
