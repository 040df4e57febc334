"""Arrays on a GPU (issue 15): gradfit's fit of PyTorch tensors where they live, against one ``X.T @ X``
on the same device, with its error against the float64 answer on the host, ``torch.linalg.lstsq`` and
cuML's ``LinearRegression`` (where it installs) beside it, and a rank-deficient case.

Cases (the issue's): 25,000,000 × 100 float64; 50,000,000 × 100 float32 (its anchor timed with TF32 off,
and on, for reference: gradfit never lets TF32 decide, its products are float64); and a rank-deficient
design (a duplicated column and a sum of two others), where ``torch.linalg.lstsq`` on CUDA (driver
``gels``, full rank assumed) goes wrong and gradfit must not.

    python benchmarks/gpu.py [--device cuda] [--scale 1.0] [--repeats 3] [--json results.json]

``--scale`` multiplies the row counts (``--scale 0.001 --device cpu`` checks the script on any machine:
tests/test_array_api.py runs it so). Targets: the fit within 1.5× of one ``X.T @ X`` on the same device
(goal), float64 coefficients within 1e-10 of the host answer, float32 within 1e-6 of the host's least
squares of the same float32 values, and the rank-deficient answer within 1e-10 of the minimum-norm one.

The host answer is gradfit's fit of the same values copied to the host as float64 numpy (statistics,
refinement and QR there; tested against exact rational arithmetic in tests/test_real_data.py): code the
device path does not run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings

import numpy as np

from gradfit import LinearRegression

TARGET_RATIO = 1.5
FLOAT64_BAR = 1e-10
FLOAT32_BAR = 1e-6


def synchronize(torch, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_seconds(torch, device: str, function, *, repeats: int) -> tuple[float, object]:
    """Median wall time of ``function()`` over ``repeats`` runs after one warm-up, the device synchronised
    around each; and the last result."""
    result = function()
    synchronize(torch, device)
    samples = []
    for _ in range(repeats):
        synchronize(torch, device)
        start = time.perf_counter()
        result = function()
        synchronize(torch, device)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def relative_error(coef, intercept, reference_coef, reference_intercept) -> float:
    estimate = np.append(np.asarray(coef, dtype=np.float64), float(intercept))
    exact = np.append(reference_coef, reference_intercept)
    return float(np.max(np.abs(estimate - exact) / np.maximum(np.abs(exact), np.finfo(np.float64).tiny)))


def host_answer(X, y):
    """gradfit's fit of the float64 values on the host (the answer key)."""
    model = LinearRegression().fit(X.detach().cpu().double().numpy(), y.detach().cpu().double().numpy())
    return model.coef_, model.intercept_


def torch_lstsq(torch, X, y):
    """``torch.linalg.lstsq`` of ``[1, X]`` (its default driver: ``gels`` on CUDA, ``gelsy`` on CPU)."""
    ones = torch.ones((X.shape[0], 1), dtype=X.dtype, device=X.device)
    solution = torch.linalg.lstsq(torch.cat([ones, X], dim=1), y.reshape(-1, 1)).solution.reshape(-1)
    return solution[1:].double().cpu().numpy(), float(solution[0])


def release(torch, device: str) -> None:
    """Give back the device memory a method left cached (an out-of-memory failure included)."""
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def cuml_fit(X, y):
    """cuML's LinearRegression (its default algorithm), or None where cuML does not import."""
    try:
        from cuml.linear_model import LinearRegression as CumlLinearRegression
    except ImportError:
        return None
    model = CumlLinearRegression().fit(X, y)
    coef = np.asarray(model.coef_.get() if hasattr(model.coef_, "get") else model.coef_, dtype=np.float64)
    return coef, float(model.intercept_)


def make_problem(torch, *, rows: int, features: int, dtype, device: str, seed: int):
    """Columns with means and spreads of several sizes, a target with noise; generated on the device."""
    generator = torch.Generator(device=device).manual_seed(seed)
    scales = torch.rand(features, generator=generator, device=device, dtype=torch.float64) * 9.5 + 0.5
    means = torch.randn(features, generator=generator, device=device, dtype=torch.float64) * 10.0
    coef = torch.randn(features, generator=generator, device=device, dtype=torch.float64)
    X = torch.empty((rows, features), dtype=dtype, device=device)
    y = torch.empty(rows, dtype=dtype, device=device)
    step = 1_000_000
    for start in range(0, rows, step):  # in slices: no float64 copy of the whole X
        stop = min(start + step, rows)
        block = torch.randn((stop - start, features), generator=generator, device=device, dtype=torch.float64) * scales + means
        noise = torch.randn(stop - start, generator=generator, device=device, dtype=torch.float64)
        X[start:stop] = block.to(dtype)
        y[start:stop] = (block @ coef + 3.0 + noise).to(dtype)
    return X, y


def run_case(torch, name: str, X, y, *, device: str, repeats: int, bar: float, anchors: dict) -> dict:
    """Time gradfit's fit and the anchors, and every method's error against the host answer."""
    row = {"case": name, "rows": int(X.shape[0]), "features": int(X.shape[1]), "dtype": str(X.dtype).replace("torch.", "")}
    for label, anchor in anchors.items():
        row[f"anchor {label} s"], _ = median_seconds(torch, device, anchor, repeats=repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row["gradfit s"], model = median_seconds(torch, device, lambda: LinearRegression().fit(X, y), repeats=repeats)
    row["ratio"] = row["gradfit s"] / row[f"anchor {next(iter(anchors))} s"]
    reference = host_answer(X, y)
    row["gradfit error"] = relative_error(model.coef_, model.intercept_, *reference)
    row["gradfit passes"] = model.n_passes_
    row["gradfit message"] = model.message_
    row["bar"] = bar
    try:
        row["torch.linalg.lstsq s"], answer = median_seconds(torch, device, lambda: torch_lstsq(torch, X, y), repeats=1)
        row["torch.linalg.lstsq error"] = relative_error(*answer, *reference)
    except RuntimeError as error:  # out of memory (its copy of [1, X] and its QR's), or a driver that refuses it
        row["torch.linalg.lstsq error"] = f"failed: {str(error).splitlines()[0]}"
    release(torch, device)
    try:
        cuml = cuml_fit(X, y) if device.startswith("cuda") else None
        row["cuML error"] = "not installed" if cuml is None else relative_error(*cuml, *reference)
    except (RuntimeError, MemoryError) as error:  # cuML's own out-of-memory errors
        row["cuML error"] = f"failed: {str(error).splitlines()[0]}"
    release(torch, device)
    return row


def fitted_error(X, y_hat_reference, coef, intercept) -> float:
    """``‖ŷ − ŷ*‖/‖ŷ*‖``: unique even where the coefficients are not (computed on the device)."""
    coef = X.new_tensor(np.asarray(coef, dtype=np.float64)).to(X.dtype)
    return float((X @ coef + intercept - y_hat_reference).norm() / y_hat_reference.norm())


def rank_deficient_case(torch, *, rows: int, device: str) -> dict:
    """Two duplicated columns: the least squares has many answers, the minimum-norm one splits each
    duplicate's coefficient equally (in any units: a duplicate has its column's spread), and ``gels``
    assumes full rank. Errors of the coefficients against that answer, and of the fitted values (unique)."""
    X, y = make_problem(torch, rows=rows, features=20, dtype=torch.float64, device=device, seed=7)
    X = torch.cat([X, X[:, :2]], dim=1)
    reference = host_answer(X, y)  # QR in memory on the host, minimum norm
    y_hat = X @ X.new_tensor(reference[0]) + reference[1]
    model = LinearRegression().fit(X, y)
    row = {"case": "rank-deficient (2 duplicated columns)", "rows": rows, "features": int(X.shape[1]), "dtype": "float64",
           "gradfit error": relative_error(model.coef_, model.intercept_, *reference), "bar": FLOAT64_BAR,
           "gradfit fitted-values error": fitted_error(X, y_hat, model.coef_, model.intercept_),
           "gradfit message": model.message_}
    try:
        answer = torch_lstsq(torch, X, y)
        row["torch.linalg.lstsq error"] = relative_error(*answer, *reference)
        row["torch.linalg.lstsq fitted-values error"] = fitted_error(X, y_hat, *answer)
    except RuntimeError as error:
        row["torch.linalg.lstsq error"] = f"failed: {str(error).splitlines()[0]}"
    cuml = cuml_fit(X, y) if device.startswith("cuda") else None
    row["cuML error"] = "not installed" if cuml is None else relative_error(*cuml, *reference)
    if cuml is not None:
        row["cuML fitted-values error"] = fitted_error(X, y_hat, *cuml)
    return row


def float64_case(torch, *, rows: int, device: str, repeats: int) -> dict:
    X, y = make_problem(torch, rows=rows, features=100, dtype=torch.float64, device=device, seed=1)
    return run_case(torch, "float64", X, y, device=device, repeats=repeats, bar=FLOAT64_BAR,
                    anchors={"X.T @ X": lambda: X.T @ X})


def float32_case(torch, *, rows: int, device: str, repeats: int) -> dict:
    """float32 rows; the anchor timed with TF32 off (float32 products) and on (what PyTorch may use)."""
    X, y = make_problem(torch, rows=rows, features=100, dtype=torch.float32, device=device, seed=2)

    def gram(tf32: bool):
        def product():
            torch.backends.cuda.matmul.allow_tf32 = tf32
            try:
                return X.T @ X
            finally:
                torch.backends.cuda.matmul.allow_tf32 = False
        return product

    return run_case(torch, "float32", X, y, device=device, repeats=repeats, bar=FLOAT32_BAR,
                    anchors={"X.T @ X": gram(False), "X.T @ X (TF32)": gram(True)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the row counts (0.001: a check on any machine)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the rows here too")
    args = parser.parse_args()
    import torch

    device = args.device
    if device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        print(f"device: {device} ({platform.processor() or platform.machine()}), torch {torch.__version__}")
    rows64, rows32, rows_deficient = (max(2_000, int(args.scale * n)) for n in (25_000_000, 50_000_000, 1_000_000))
    results = []

    results.append(float64_case(torch, rows=rows64, device=device, repeats=args.repeats))
    results.append(float32_case(torch, rows=rows32, device=device, repeats=args.repeats))
    results.append(rank_deficient_case(torch, rows=rows_deficient, device=device))

    failed = []
    for row in results:
        print()
        for key, value in row.items():
            print(f"  {key:28s} {value:.3g}" if isinstance(value, float) else f"  {key:28s} {value}")
        if not row["gradfit error"] <= row["bar"]:
            failed.append(f"{row['case']}: gradfit's error {row['gradfit error']:.3g} above {row['bar']:g}")
        if "ratio" in row and row["ratio"] > TARGET_RATIO:
            print(f"  goal missed: {row['ratio']:.2f}× one X.T @ X (goal ≤ {TARGET_RATIO})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"device": device, "torch": torch.__version__, "results": results}, handle, indent=2)
    for line in failed:
        print("FAILED", line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
