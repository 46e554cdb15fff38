# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
# Where `make run` listens: `make run PORT=8100` (HOST=0.0.0.0 to listen on every interface).
HOST   ?= 127.0.0.1
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint demo bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/vidonate serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

demo: $(STAMP)
	rm -rf demo-run && $(BIN)/vidonate demo --workdir demo-run

bench: $(STAMP)
	$(BIN)/python bench/upload.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/dedupe.py
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/detector.py

clean:
	rm -rf $(VENV) var demo-run
