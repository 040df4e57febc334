# Two entry points (see README): `make demo` and `make test`. Each sets up .venv as needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= demo-output

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gradfit demo --seed 0 --out $(OUT) --force

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/article.py
	$(BIN)/python benchmarks/tall.py
	$(BIN)/python benchmarks/solvers.py
	$(BIN)/python benchmarks/sparse_wide.py
	$(BIN)/python benchmarks/files.py
	$(BIN)/python benchmarks/dask_cluster.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
