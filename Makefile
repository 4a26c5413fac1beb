# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench generate clean

# The environment is created, and the project installed, only when missing or
# when the pinned dependencies change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Build the warehouse on the demo company (generated on first use), check it
# (data tests, and dbt's unit tests, which a scheduled `health run` leaves out),
# print the health summary.
run: $(STAMP)
	$(BIN)/health run --unit-tests

# The same set-up, then every test: lint, the demo build, pytest (which builds
# its own small warehouses, with bad rows, in temporary folders).
test: run lint
	$(BIN)/python -m pytest tests/python

# Figures, not a test: builds and baselines at 1,000, 10,000 and 100,000 accounts (about 12 minutes on
# 2 cores; generated data is kept in data/generated/bench and reused), written to BENCHMARKS.md.
# BENCH_SIZES=1000,10000 for a shorter run.
bench: $(STAMP)
	$(BIN)/python -m customer_health.bench.harness $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES))

lint: $(STAMP)
	$(BIN)/sqlfluff lint --processes 2 models macros tests analyses

clean:
	rm -rf warehouse/*.duckdb* target logs dbt_packages
