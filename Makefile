# The README's two commands are `make run` and `make test`.
.PHONY: run test lint format bench clean

VENV := .venv
PY := $(VENV)/bin/python

run:
	@scripts/bootstrap.sh runtime
	@$(PY) -m dsar.launcher

test:
	@scripts/bootstrap.sh dev
	@$(PY) -m pytest

lint:
	@scripts/bootstrap.sh dev
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/lint-imports --no-cache

format:
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

clean:
	rm -rf instance/
