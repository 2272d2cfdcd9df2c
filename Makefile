# The two commands of the README: `make run` (the demo when nothing is configured) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ADDRESS ?= 127.0.0.1
PORT ?= 8501

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/streamlit run serve.py --server.address $(ADDRESS) --server.port $(PORT)

test: $(VENV)/.test-installed
	bash scripts/install-test-servers.sh
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(VENV)/.test-installed
	bash scripts/install-test-servers.sh
	$(BIN)/python bench/collect.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/database.py
	$(BIN)/python bench/prometheus.py
	$(BIN)/python bench/health_page.py
	$(BIN)/python bench/packet.py
	$(BIN)/python bench/packet_read.py
	$(BIN)/python bench/log_insights.py
	$(BIN)/python bench/rollout.py
	$(BIN)/python bench/incidents.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts .demo
