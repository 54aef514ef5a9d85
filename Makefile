# The two commands a newcomer needs: `make run` and `make test`.
# Both install everything into .venv/ first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(VENV)/bin/commune-bridge --config config.yaml

lint: install
	$(VENV)/bin/ruff check bridge rooms media web tests $(wildcard bench)
	$(VENV)/bin/mypy

test: install lint
	$(PY) -m pytest -q

bench: install
	$(PY) bench/relay_bench.py --out docs/benchmarks.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
