# elsewhere — the two commands a newcomer needs are `make serve` and `make test`.
# Both create the virtual environment and install everything on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
DATA   ?= .elsewhere
PYTEST_ARGS ?=

.PHONY: serve test lint unit integration bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The runtime install (what `make serve` needs).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The development install (tests, linters, the AWS CLI used by the integration tests).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

serve: $(VENV)/.installed
	$(BIN)/elsewhere server --host $(HOST) --port $(PORT) --data-dir $(DATA)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(VENV)/.installed-dev
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(VENV)/.installed-dev
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

# Machine packages some tests use: SoftHSM2 (PKCS#11 tests) and PostgreSQL (storage on
# PostgreSQL). Installed with apt-get when missing and we are root; otherwise those tests skip
# and say why.
system-deps:
	@if ! command -v softhsm2-util >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing softhsm2 and postgresql with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 postgresql >/dev/null) \
	      || echo "could not install softhsm2/postgresql: their tests will skip"; \
	  else \
	    echo "softhsm2 or postgresql missing and not root: their tests will skip"; \
	  fi; \
	fi

test: $(VENV)/.installed-dev system-deps
	$(MAKE) lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
