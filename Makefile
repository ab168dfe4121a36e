# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PostgreSQL used by `make test` for the second pass; override to point elsewhere.
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2

.PHONY: install run demo test test-sqlite test-postgres lint openapi clean bench bench-scaling bench-instructions contract-tools

# npm tools of the contract tests (tests/contract/package.json: openapi-typescript,
# typescript, openapi-fetch, Spectral), installed from the lockfile when it changed.
CONTRACT := tests/contract
CONTRACT_STAMP := $(CONTRACT)/node_modules/.installed

$(STAMP): pyproject.toml scripts/bootstrap-venv.sh
	scripts/bootstrap-venv.sh $(VENV)
	touch $(STAMP)

install: $(STAMP)

$(CONTRACT_STAMP): $(CONTRACT)/package.json $(CONTRACT)/package-lock.json
	cd $(CONTRACT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONTRACT_STAMP)

contract-tools: $(CONTRACT_STAMP)

## Install, migrate the SQLite database (portfolio.db), create a first admin key if there is
## none, fill an empty database with the demo portfolio, and serve the API on
## http://127.0.0.1:8000 (docs at /docs).
run: install
	$(BIN)/portfolio serve --bootstrap-admin --demo-data

## Fill the configured (empty) database with the demonstration portfolio.
demo: install
	$(BIN)/portfolio migrate
	$(BIN)/portfolio demo-data

## Lint, type-check, then the whole suite on SQLite and again on PostgreSQL.
test: lint test-sqlite test-postgres

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/mypy

test-sqlite: install contract-tools
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

test-postgres: install contract-tools
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m pytest -n $(PYTEST_WORKERS)

openapi: install
	$(BIN)/portfolio openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

## Benchmark (bench/RESULTS.md): make bench SIZE=S|M|L DB=sqlite|postgres [BENCH_ARGS=--reuse]
## Generates the data, serves it pinned to core 0, loads it with wrk (installed if missing)
## from core 1, prints the ratios and writes bench/results/<db>-<size>.json.
SIZE ?= S
DB ?= sqlite
bench: install
	@command -v wrk >/dev/null || apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run --size $(SIZE) --db $(DB) $(BENCH_ARGS)

## Issue 17, target 1 in one run: every report right after a write at S and at L, asked in
## turn (PostgreSQL; load both sizes first: make bench SIZE=S DB=postgres, then SIZE=L).
bench-scaling: install
	$(BIN)/python -m bench.scaling $(BENCH_ARGS)

## Instructions per request (valgrind's callgrind; installed if missing) of a list page and
## an idempotent POST, the API's and the peer's, in process against the S data on PostgreSQL.
bench-instructions: install
	@command -v valgrind >/dev/null || apt-get install -y -qq valgrind || (apt-get update -qq && apt-get install -y -qq valgrind)
	$(BIN)/python -m bench.instructions $(BENCH_ARGS)
