SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
NODE_BIN := node_modules/.bin
# The first Python able to make the virtual environment: 3.11 if present, else python3.
BOOT_PYTHON := $(shell command -v python3.11 || command -v python3)
# Stamps live inside what they stand for, so removing that folder re-installs it.
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
NPM_LOCK := $(wildcard package-lock.json)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install chromium postgresql run test lint gas bench gauntlet compile clean distclean

help:
	@echo "make install   set up .venv, node_modules (solc, Anvil, Hardhat, solhint), Chromium and PostgreSQL; once"
	@echo "make run       start the local chain, deploy, seed the demo and serve (NO_SEED=1 to skip the demo;"
	@echo "               DB=postgres keeps the store and the index in a PostgreSQL server of the data folder's own)"
	@echo "make test      lint, then run the test suite, then the gateway and index tests again on PostgreSQL"
	@echo "make lint      ruff, mypy, solhint, Slither (high or medium fails), and the compiler's warnings as errors"
	@echo "make gas       print the gas of every ledger operation beside token baselines"
	@echo "make bench     every benchmark on a fresh chain and gateway: bench/REPORT.md (QUICK=1: under a minute)"
	@echo "make gauntlet  fuzzers, invariants, fault tests and the soak at full strength, then their table"
	@echo "make compile   Hardhat artifacts in artifacts/ (for static analysers)"
	@echo "make clean     remove build output and caches (keeps .venv, node_modules and the data in .scf)"
	@echo "make distclean clean, and remove .venv and node_modules too"

install: $(PY_STAMP) $(NPM_STAMP) chromium postgresql

$(BIN)/python:
	$(BOOT_PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# npm ci installs exactly the lockfile. Install scripts are not needed (Anvil's binary
# comes in its platform package) and are skipped, so npm 10 and 11 behave alike.
$(NPM_STAMP): package.json $(NPM_LOCK)
	if [ -f package-lock.json ]; then \
		npm ci --ignore-scripts --no-audit --no-fund; \
	else \
		npm install --ignore-scripts --no-audit --no-fund; \
	fi
	touch $@

# The explorer's browser test drives Debian's Chromium (Playwright's own browser download
# is not used). Installed when missing and we are root, as on a fresh CI machine; otherwise
# that one test is skipped, with its reason.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "note: /usr/bin/chromium is missing and this is not root; the explorer's browser test will be skipped"; \
		fi; \
	fi

# Debian's PostgreSQL, for the tests (each run makes its own servers with initdb) and DB=postgres. Installed
# when missing and we are root; otherwise the PostgreSQL pass of the tests is skipped, with its reason.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
		else \
			echo "note: PostgreSQL is missing and this is not root; the tests on PostgreSQL will be skipped"; \
		fi; \
	fi

run: install
	$(BIN)/scf run $(if $(NO_SEED),--no-seed) $(if $(DB),--database $(DB))

# Two workers, a test module to each in turn: most tests wait on a chain or a gateway process, and the
# suite takes half the time it takes in one process.
PYTEST_WORKERS := -n 2 --dist loadfile

# The tests of what keeps data (the gateway's store and the index) run a second time on PostgreSQL, and
# with them those that need it by nature (replicas sharing a database), which the first pass skips.
POSTGRES_TESTS := tests/api tests/library/index

test: install lint
	$(BIN)/pytest -q $(PYTEST_WORKERS)
	$(BIN)/pytest -q $(PYTEST_WORKERS) --database=postgres $(POSTGRES_TESTS)

# Every check runs, even after one fails, so that one run shows every problem.
LINT_CHECKS := \
	"$(BIN)/ruff check ." \
	"$(BIN)/ruff format --check ." \
	"$(BIN)/mypy" \
	"$(BIN)/mypy --follow-imports=silent scripts" \
	"$(NODE_BIN)/solhint --disc --noPoster --max-warnings 0 'contracts/**/*.sol'" \
	"$(BIN)/python scripts/check_contracts.py" \
	"$(BIN)/python scripts/slither.py" \
	"$(BIN)/lint-imports"

lint: install
	@failed=(); \
	for check in $(LINT_CHECKS); do \
		echo "+ $$check"; \
		eval "$$check" || failed+=("$$check"); \
	done; \
	if (( $${#failed[@]} )); then printf 'lint failed: %s\n' "$${failed[@]}"; exit 1; fi

gas: install
	$(BIN)/python scripts/gas_report.py

# The full run takes about a quarter of an hour and rewrites bench/ and the README's Performance section;
# QUICK=1 writes a small run into bench/quick/ in under a minute.
bench: install
	$(BIN)/scf bench $(if $(QUICK),--quick)

# The gauntlet's tests run in make test too, at their quick strength.
gauntlet: install
	rm -rf test-artifacts/gauntlet
	SCF_GAUNTLET=full $(BIN)/pytest -q -m gauntlet -o timeout=3600 $(PYTEST_WORKERS)
	$(BIN)/python scripts/gauntlet_report.py

compile: install
	$(NODE_BIN)/hardhat compile

clean:
	rm -rf artifacts cache .cache test-artifacts .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -path ./node_modules -prune -o -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) node_modules
