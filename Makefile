# Two entry points (see README): `make demo` and `make test`. Each sets up .venv as needed.
# `make test-kernel` (CI runs it after `make test`) reruns the numerical tests under other BLAS kernels;
# `make lint` (CI runs it last) checks the code with ruff, configured in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= demo-output

# The numerical test files, run again under other BLAS kernels by `make test-kernel`: the same
# sums in another order, with or without FMA, must still pass (a bound tighter than the maths allows
# fails here before it lands). Prescott is OpenBLAS's SSE kernel without FMA; Haswell its AVX2+FMA
# one, which AMD's Zen also runs (skipped on a CPU without AVX2). Not the CLI-subprocess
# (test_cli), Dask-cluster (test_dask), browser (test_report) or figure files: slow, and their
# numbers come from these paths. About a minute per kernel on 2 cores.
NUMERICAL_TESTS := tests/test_accuracy.py tests/test_arrow_source.py tests/test_article.py tests/test_core.py \
	tests/test_estimator_api.py tests/test_estimator_solvers.py tests/test_exact.py tests/test_solvers.py \
	tests/test_streaming.py tests/test_summary.py tests/test_cli_streaming.py tests/test_cli_sparse.py \
	tests/test_real_data.py tests/test_solver_table.py tests/test_stochastic_kernels.py tests/test_online.py \
	tests/test_stochastic_files.py tests/test_array_api.py
KERNELS ?= Prescott Haswell

.PHONY: demo test test-kernel lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gradfit demo --seed 0 --out $(OUT) --force

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

test-kernel: $(STAMP)
	@for kernel in $(KERNELS); do \
	    if [ "$$kernel" = Haswell ] && ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then \
	        echo "test-kernel: no AVX2 here, skipping OPENBLAS_CORETYPE=$$kernel"; continue; \
	    fi; \
	    echo "test-kernel: OPENBLAS_CORETYPE=$$kernel"; \
	    OPENBLAS_CORETYPE=$$kernel $(BIN)/python -m pytest -q -p no:cacheprovider $(NUMERICAL_TESTS) || exit 1; \
	done

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
