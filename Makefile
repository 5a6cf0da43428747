# elsewhere — the two commands a newcomer needs are `make serve` and `make test`.
# Both create the virtual environment and install everything on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
DATA   ?= .elsewhere
PYTEST_ARGS ?=

.PHONY: serve test lint unit integration bench clean system-deps lock models helper

# Every install comes from a lock file with hashes (requirements/*.lock): pip, setuptools and
# uv themselves (tools.lock), what the server needs (runtime.lock), the development tools on
# top (dev.lock), and only what the credential helper needs on a workload host (helper.lock).
# elsewhere itself is then installed without resolving anything.
PIP_LOCKED := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.tools: requirements/tools.lock | $(BIN)/python
	$(PIP_LOCKED) -r requirements/tools.lock
	touch $@

# The runtime install (what `make serve` needs).
$(VENV)/.installed: pyproject.toml requirements/runtime.lock $(VENV)/.tools
	$(PIP_LOCKED) -r requirements/runtime.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The development install (tests, linters, the AWS CLI used by the integration tests).
$(VENV)/.installed-dev: pyproject.toml requirements/dev.lock $(VENV)/.tools
	$(PIP_LOCKED) -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(VENV)/.installed $@

# A workload host's install (README, "A workload host"): the credential helper and what it needs
# (cryptography, click, filelock), none of the server's dependencies, in $(HELPER_VENV).
HELPER_VENV ?= .venv-helper
helper: requirements/helper.lock requirements/tools.lock
	$(PYTHON) -m venv $(HELPER_VENV)
	$(HELPER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
	  --no-deps -r requirements/tools.lock -r requirements/helper.lock
	$(HELPER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  --no-build-isolation .
	@echo "the helper: $(HELPER_VENV)/bin/elsewhere credential-process ..."

# Refresh the lock files after a change to pyproject.toml's dependencies: versions already locked
# stay as they are. `make lock UPGRADE=1` moves everything to the newest release; commit that on
# its own, with `make test` green (README, "Dependencies").
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	$(if $(UPGRADE),--upgrade)
lock: $(VENV)/.tools
	$(UV_COMPILE) requirements/tools.in -o requirements/tools.lock
	$(UV_COMPILE) pyproject.toml --all-extras -o requirements/dev.lock
	$(UV_COMPILE) pyproject.toml --extra postgres -c requirements/dev.lock -o requirements/runtime.lock
	$(UV_COMPILE) requirements/helper.in -c requirements/runtime.lock -o requirements/helper.lock

# Copy the served AWS API models from the locked botocore into the package (after a botocore bump).
models: $(VENV)/.installed-dev
	$(BIN)/python tools/refresh_models.py

serve: $(VENV)/.installed
	$(BIN)/elsewhere server --host $(HOST) --port $(PORT) --data-dir $(DATA)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(VENV)/.installed-dev
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(VENV)/.installed-dev
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

# Machine packages some tests use: SoftHSM2 (PKCS#11 tests), PostgreSQL (storage on
# PostgreSQL), Prometheus's promtool (the metrics format check) and nginx (auth_request in front
# of the authorizer). Installed with apt-get when missing and we are root; otherwise those tests
# skip and say why.
system-deps:
	@if ! command -v softhsm2-util >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || ! command -v promtool >/dev/null 2>&1 || ! ls /usr/sbin/nginx >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing softhsm2, postgresql, prometheus (promtool) and nginx with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      softhsm2 postgresql prometheus nginx >/dev/null) \
	      || echo "could not install softhsm2/postgresql/prometheus/nginx: their tests will skip"; \
	  else \
	    echo "softhsm2, postgresql, promtool or nginx missing and not root: their tests will skip"; \
	  fi; \
	fi

test: $(VENV)/.installed-dev system-deps
	$(MAKE) lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(HELPER_VENV) .pytest_cache .mypy_cache .ruff_cache
