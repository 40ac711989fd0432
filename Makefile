# Every target bootstraps its own environment: a pinned uv in .tools/, the locked dependencies in .venv/.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: run test compose compose-check stack lint migrate seed bench bench-population clean help

help:
	@echo "make run      the whole graph in one process on SQLite: http://127.0.0.1:4000/graphql"
	@echo "make test     the whole test suite"
	@echo "make compose  regenerate schema.graphql from the subgraphs"
	@echo "make stack    one process per subgraph + router, on PostgreSQL and Redis"
	@echo "make lint     ruff + mypy"
	@echo "make bench    benchmarks (bench/), reported as ratios"
	@echo "make bench-population  10M persons by COPY into PostgreSQL, then latencies through the router vs SQL"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $@

run: .venv/.synced
	$(PY) -m subgraphs.launch embedded

# One worker per core, each test file on one worker (its module fixtures are built once). The schemathesis
# fuzz test gives every generated case the same test id, which parallel workers report as one: it runs on
# its own, in one process, so that every case is run and reported.
FUZZ_TESTS := tests/subgraphs/test_identity_oauth_openapi.py
test: .venv/.synced
	$(PY) -m pytest -n auto --dist loadfile --ignore=$(FUZZ_TESTS)
	$(PY) -m pytest $(FUZZ_TESTS)

compose: .venv/.synced
	$(PY) -m subgraphs.launch compose

compose-check: .venv/.synced
	$(PY) -m subgraphs.launch compose --check

stack: .venv/.synced
	$(PY) -m subgraphs.launch stack

migrate: .venv/.synced
	$(PY) -m db.migrate

seed: .venv/.synced
	$(PY) -m subgraphs.launch setup

lint: .venv/.synced
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: .venv/.synced
	$(PY) -m bench.gateways $(BENCH_ARGS)

bench-population: .venv/.synced
	$(PY) -m bench.population $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
