"""Arrays where they live: the fit of array-API arrays (numpy through array-api-compat, array-api-strict,
PyTorch CPU tensors where torch is installed), read on their device, against the numpy path and the
exact least squares.

Tolerances:
- *Against the numpy path, 1e-12 relative.* Both answers are certified by their own ``error_bound_``
  to be that close to the exact least squares, and the two bounds add up to less than 1e-12 here
  (asserted); two such answers are within the sum of the bounds of each other.
- *Against exact rationals, 1e-10* (the host's bar for the default answer, ``test_real_data.py``).
- *float32 input, 1e-6 of the exact least squares of those float32 values* (the issue's bar; the
  products of float32 values are exact in float64, so the answer is in fact float64's).
- *Iterative solvers, 1e-12 against the numpy path after the same updates (tol=0)*: the same updates
  on statistics that differ by their rounding, about m·ε·κ relative on these well-conditioned (κ < 10)
  problems of m ≤ 2,000 rows: 1e-12 leaves a factor of 20 at least.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gradfit.numerics.array_api as array_api_module
import gradfit.sources.arrays as arrays_module
from gradfit import LinearRegression
from gradfit.errors import DataError
from gradfit.sources import as_source
from gradfit.sources.arrays import ArraySource
from gradfit.sources.memory import MemorySource

from problems import nearly_constant_columns, random_problem
from references import exact_least_squares, polynomial_design, real_data_sets, worst_relative_error

pytest.importorskip("array_api_compat", reason="array-api-compat is not installed (pip install 'gradfit[test]')")

NUMPY_PATH_BAR = 1e-12
EXACT_BAR = 1e-10
FLOAT32_BAR = 1e-6


def _strict():
    return pytest.importorskip("array_api_strict", reason="array-api-strict is not installed (pip install 'gradfit[test]')")


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: pip install 'gradfit[torch]' runs these")


def on(kind: str, array: np.ndarray):
    """``array`` in the library ``kind``: "numpy" stays numpy (wrapped in an ArraySource by :func:`fit_on`)."""
    if kind == "numpy":
        return array
    if kind == "strict":
        return _strict().asarray(array)
    return _torch().tensor(np.array(array))


def fit_on(kind: str, X, y, sample_weight=None, **params) -> LinearRegression:
    """The fit of (X, y) given as arrays of ``kind``, through the array-API path (numpy: an ArraySource)."""
    model = LinearRegression(**params)
    if kind == "numpy":
        return model.fit(ArraySource(X, y, sample_weight))
    weight = None if sample_weight is None else on(kind, sample_weight)
    return model.fit(on(kind, X), on(kind, y), sample_weight=weight)


KINDS = ["numpy", "strict", "torch"]


def relative(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_direct_answer_is_the_numpy_paths(kind, fit_intercept, weighted):
    X, y = random_problem(3, n=2000, d=5, scale=1e3)
    X = X + 50.0  # means far from 0: the centring matters
    weight = np.random.default_rng(3).uniform(0.1, 3.0, size=len(y)) if weighted else None
    host = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=weight)
    device = fit_on(kind, X, y, weight, fit_intercept=fit_intercept)
    assert device.converged_ and device.solver_ == "exact" and device.engine_ == "statistics"
    assert host.error_bound_ + device.error_bound_ <= NUMPY_PATH_BAR
    assert relative(device.coef_, host.coef_) <= NUMPY_PATH_BAR
    if fit_intercept:
        assert relative(device.intercept_, host.intercept_) <= NUMPY_PATH_BAR
    # σ² of the summaries comes from the statistics, Σw(y − ȳ)² − bᵀθ: each rounded by about ε times the
    # centred sum of squares, which this near-perfect fit makes ~1e8 times the residual sum of squares.
    w = np.ones(len(y)) if weight is None else weight
    residual = y - X @ host.coef_ - host.intercept_
    centred = y - (np.average(y, weights=w) if fit_intercept else 0.0)
    rounding = 64 * np.finfo(np.float64).eps * float(w @ centred**2) / float(w @ residual**2)
    np.testing.assert_allclose(device.summary().std_err, host.summary().std_err, rtol=max(rounding, NUMPY_PATH_BAR))


REAL = {**real_data_sets(), "polynomial, degree 6 (κ ≈ 1e13)": polynomial_design(6, 400)}


@pytest.mark.parametrize("name", list(REAL))
def test_real_data_sets_on_the_array_api_path_are_the_least_squares_answer(name):
    """Every real set of test_real_data.py, ill-conditioned ones included (longley, the degree-6
    polynomial: refinement passes, computed on the device), to the host's bar, without a warning."""
    X, y = REAL[name]
    exact = exact_least_squares(X, y, fit_intercept=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = fit_on("numpy", X, y)
    assert model.converged_ and worst_relative_error([model.intercept_, *model.coef_], exact) <= EXACT_BAR


@pytest.mark.parametrize("kind", ["strict", "torch"])
@pytest.mark.parametrize("name", ["longley", "macrodata (realinv)", "polynomial, degree 6 (κ ≈ 1e13)"])
def test_ill_conditioned_sets_in_other_libraries(kind, name):
    X, y = REAL[name]
    exact = exact_least_squares(X, y, fit_intercept=True)
    model = fit_on(kind, X, y)
    assert model.n_passes_ > 1  # refined, on the device
    assert worst_relative_error([model.intercept_, *model.coef_], exact) <= EXACT_BAR


@pytest.mark.parametrize("kind", KINDS)
def test_rank_deficient_designs_get_the_minimum_norm_answer(kind):
    """A duplicated column (the case where torch.linalg.lstsq on CUDA goes wrong): the minimum-norm answer
    splits the coefficient equally; exact, from the rationals of the full-rank design."""
    X, y = random_problem(5, n=500, d=3)
    exact = exact_least_squares(X, y, fit_intercept=True)
    model = fit_on(kind, np.column_stack([X, X[:, 0]]), y)
    assert model.converged_
    expected = [exact[0], exact[1] / 2, exact[2], exact[3], exact[1] / 2]
    assert worst_relative_error([model.intercept_, *model.coef_], expected) <= EXACT_BAR
    # An exact combination of two columns: the same answer as the host's QR, normwise (the least norm
    # mixes the components' errors; both are within 1e-13 of it, by their bounds).
    combined = np.column_stack([X, X[:, 0] + X[:, 1]])
    host = LinearRegression().fit(combined, y)
    model = fit_on(kind, combined, y)
    assert np.linalg.norm(model.coef_ - host.coef_) <= NUMPY_PATH_BAR * np.linalg.norm(host.coef_)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha", [0.0, 1e-6])
def test_designs_beyond_the_normal_equations_are_refined_with_a_qr_factor_made_on_the_device(kind, alpha):
    """Degree 8 (G numerically singular): where rows in memory go to QR, rows on a device are factored
    there (a QR per chunk, only p × p to the host) and the refinement is preconditioned by that factor."""
    X, y = polynomial_design(8, 400)
    model = fit_on(kind, X, y, alpha=alpha)
    assert model.converged_
    if alpha == 0:
        assert "QR factor of the rows, computed on" in model.message_
        exact = exact_least_squares(X, y, fit_intercept=True)
        assert worst_relative_error([model.intercept_, *model.coef_], exact) <= EXACT_BAR
    else:  # (the ridge lets the statistics resolve it) both certified to 1e-11 of the ridge answer
        host = LinearRegression(alpha=alpha).fit(X, y)
        assert relative(model.coef_, host.coef_) <= 2e-11


def test_past_what_refinement_can_certify_the_fit_says_what_it_reached():
    """Degree 10 (κ(G) ≈ 1e22): the normal equations' refinement, whose gradients are good to about
    u²·|Z|ᵀ|Z||θ|, stops near κ·u² ≈ 1e-10; the fit says so, with a bound the error is within (the host's
    QR on the augmented system, for rows in memory, goes further)."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = polynomial_design(10, 400)
    with pytest.warns(ConvergenceWarning, match="resolved to about 10 significant digits"):
        model = fit_on("numpy", X, y)
    exact = exact_least_squares(X, y, fit_intercept=True)
    assert not model.converged_ and model.status_ == "precision"
    assert worst_relative_error([model.intercept_, *model.coef_], exact) <= model.error_bound_ <= 1e-9


@pytest.mark.parametrize("kind", KINDS)
def test_directions_the_statistics_drop_wrongly_go_to_the_qr_factor(kind):
    """Nearly constant columns without an intercept (κ(X) ≈ 2e9, κ(G) ≈ 4e18: found by the invariant
    below): G drops a direction a pass shows is not collinearity, and the rows' QR factor, made on the
    device, resolves it."""
    X, y = nearly_constant_columns()
    exact = exact_least_squares(X, y, fit_intercept=False)
    model = fit_on(kind, X, y, fit_intercept=False)
    assert model.converged_ and "QR factor of the rows" in model.message_
    assert worst_relative_error(model.coef_, exact) <= EXACT_BAR


@pytest.mark.parametrize("kind", ["strict", "torch"])
def test_float32_input_gets_the_least_squares_of_its_values(kind):
    X, y = REAL["longley"]
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    exact = exact_least_squares(X32.astype(np.float64), y32.astype(np.float64), fit_intercept=True)
    if kind == "torch":
        torch = _torch()
        model = LinearRegression().fit(torch.tensor(X32), torch.tensor(y32))
    else:
        xp = _strict()
        model = LinearRegression().fit(xp.asarray(X32), xp.asarray(y32))
    assert worst_relative_error([model.intercept_, *model.coef_], exact) <= FLOAT32_BAR
    assert model.coef_.dtype == np.float64


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", ["gd", "cg", "nesterov", "lbfgs", "momentum"])
def test_iterative_solvers_make_the_numpy_paths_updates(kind, solver):
    X, y = random_problem(8, n=1500, d=4)
    params = {"solver": solver, "tol": 0.0, "max_iter": 60}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 60 updates do not converge: both say so
        host = LinearRegression(**params).fit(X, y)
        device = fit_on(kind, X, y, **params)
    assert device.n_iter_ == host.n_iter_ == 60
    assert relative(device.coef_, host.coef_) <= NUMPY_PATH_BAR


@pytest.mark.parametrize("kind", ["strict", "torch"])
def test_stochastic_solvers_are_refused_on_a_device_naming_those_that_run(kind, monkeypatch):
    """Rows on a GPU (simulated: the arrays said not to be in host memory) are not drawn one by one."""
    monkeypatch.setattr(ArraySource, "in_host_memory", property(lambda self: False))
    X, y = random_problem(1, n=50, d=2)
    with pytest.raises(ValueError, match=r"solver='sgd' draws rows one at a time.*'exact', 'gd', 'cg', 'nesterov'"):
        fit_on(kind, X, y, solver="sgd")


@pytest.mark.parametrize("kind", ["strict", "torch"])
def test_predict_returns_the_inputs_namespace_in_float64(kind):
    X, y = random_problem(2, n=300, d=3)
    model = fit_on(kind, X, y)
    predicted = model.predict(on(kind, X))
    assert type(predicted) is type(on(kind, X))
    # Each prediction is a sum of d + 1 terms, rounded in another order: d·ε of the terms' magnitudes.
    magnitude = np.abs(X) @ np.abs(model.coef_) + abs(model.intercept_)
    np.testing.assert_allclose(np.asarray(array_api_module.to_host(predicted)), X @ model.coef_ + model.intercept_,
                               rtol=0, atol=4 * np.finfo(np.float64).eps * X.shape[1] * float(magnitude.max()))
    # float32 rows are predicted in float64, as numpy rows are (their products are exact).
    single = X.astype(np.float32)
    predicted = model.predict(on(kind, single))
    np.testing.assert_allclose(array_api_module.to_host(predicted), single.astype(np.float64) @ model.coef_ + model.intercept_,
                               rtol=0, atol=4 * np.finfo(np.float64).eps * X.shape[1] * float(magnitude.max()))
    with pytest.raises(DataError, match="X has 2 features, but LinearRegression is expecting 3"):
        model.predict(on(kind, X[:, :2]))


def test_coef_follows_scikit_learns_array_api_dispatch(monkeypatch):
    """Without dispatch, numpy float64 (what every other gradfit method reads); with
    ``array_api_dispatch=True``, arrays of X's namespace on X's device, float64, the intercept 0-d."""
    torch = _torch()
    from sklearn import config_context

    X, y = random_problem(4, n=200, d=3)
    model = LinearRegression().fit(torch.tensor(X), torch.tensor(y))
    assert isinstance(model.coef_, np.ndarray) and isinstance(model.intercept_, float)
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")  # scikit-learn asks for it before dispatching
    with config_context(array_api_dispatch=True):
        placed = LinearRegression().fit(torch.tensor(X), torch.tensor(y))
    assert isinstance(placed.coef_, torch.Tensor) and placed.coef_.dtype == torch.float64
    assert placed.intercept_.ndim == 0 and placed.coef_.device == torch.tensor(X).device
    np.testing.assert_array_equal(placed.coef_.numpy(), model.coef_)
    # The model's other methods read the host copy.
    assert placed.summary().rank == 4
    np.testing.assert_array_equal(placed.predict(X), model.predict(X))


@pytest.mark.parametrize("case", ["refined", "QR factor", "streaming"])
def test_only_d_sized_results_cross_to_the_host(case, monkeypatch):
    """Every array a fit brings to the host is d-sized, p × p, or the refinement's 32 × d terms, whatever
    path it takes (refinement passes on longley, the QR factor on a degree-8 polynomial, the streaming
    engine's passes); and no tensor is turned into numpy behind the path's back (``__array__`` refused)."""
    torch = _torch()
    import gradfit.engine as engine

    X, y = {"refined": REAL["longley"], "QR factor": polynomial_design(8, 400),
            "streaming": random_problem(15, n=400, d=6)}[case]
    X, y = np.tile(X, (40, 1)), np.tile(y, 40)
    if case == "streaming":
        monkeypatch.setattr(engine, "STATISTICS_MAX_FEATURES", 4)
    sizes = []
    original = array_api_module.to_host

    def counted(value):
        sizes.append(int(np.prod(getattr(value, "shape", ()))))
        return original(value)

    monkeypatch.setattr(array_api_module, "to_host", counted)
    monkeypatch.setattr(arrays_module, "to_host", counted)

    def refuse(self, *args, **kwargs):
        raise AssertionError("a tensor was converted to numpy")

    monkeypatch.setattr(torch.Tensor, "__array__", refuse)
    model = LinearRegression(tol=1e-10).fit(torch.tensor(X), torch.tensor(y))
    assert model.converged_ and model.n_passes_ > 1 and sizes
    assert model.engine_ == ("streaming" if case == "streaming" else "statistics")
    p = X.shape[1] + 1
    assert max(sizes) <= max(p * p, 32 * p) < len(y)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_wide_data_stream_on_the_device(kind, monkeypatch):
    """Past the width for d × d statistics (lowered here to 4 columns), the streaming engine's passes run
    on the device: the same answer as the host's streaming fit, to within both bounds (tol)."""
    import gradfit.engine as engine

    monkeypatch.setattr(engine, "STATISTICS_MAX_FEATURES", 4)
    X, y = random_problem(6, n=800, d=7)
    host = LinearRegression(tol=1e-10).fit(X, y)
    device = fit_on(kind, X, y, tol=1e-10)
    assert host.engine_ == device.engine_ == "streaming" and device.converged_
    assert relative(device.coef_, host.coef_) <= 4e-10  # each within tol = 1e-10 of the optimum, componentwise


@pytest.mark.parametrize("kind", ["strict", "torch"])
def test_partial_fit_of_device_batches_is_the_fit(kind):
    X, y = random_problem(7, n=900, d=3)
    whole = LinearRegression().fit(X, y)
    model = LinearRegression()
    for rows in (slice(0, 300), slice(300, 900)):
        model.partial_fit(on(kind, X[rows]), on(kind, y[rows]))
    # Both within their certified bounds of the answer (partial_fit has no rows to refine with).
    bound = (whole.error_bound_ + model.error_bound_)
    assert relative(model.coef_, whole.coef_) <= max(bound, NUMPY_PATH_BAR)


@pytest.mark.parametrize("kind", ["strict", "torch"])
def test_bad_input_is_named(kind):
    X, y = random_problem(9, n=40, d=3)
    bad = X.copy()
    bad[17, 2] = np.nan
    with pytest.raises(DataError, match=r"Input X contains NaN at row 17, column 2"):
        fit_on(kind, bad, y)
    y_bad = y.copy()
    y_bad[5] = np.inf
    with pytest.raises(DataError, match=r"Input y contains infinity at row 5"):
        fit_on(kind, X, y_bad)
    with pytest.raises(DataError, match=r"y has shape \(39,\) but X has 40 rows"):
        fit_on(kind, X, y[:39])
    with pytest.raises(DataError, match="sample_weight is -1 at row 3"):
        fit_on(kind, X, y, np.where(np.arange(40) == 3, -1.0, 1.0))
    with pytest.raises(DataError, match=r"X must be 2-D.*X.reshape\(-1, 1\)"):
        LinearRegression().fit(on(kind, X[:, 0]), on(kind, y))


def test_y_and_weights_from_another_library_are_moved_to_xs():
    """scikit-learn's rule for mixed inputs: y and sample_weight go to X's namespace and device."""
    torch, xp = _torch(), _strict()
    X, y = random_problem(9, n=40, d=3)
    weight = np.linspace(0.5, 2.0, 40)
    reference = LinearRegression().fit(X, y, sample_weight=weight)
    for y_given, weight_given in ((xp.asarray(y), xp.asarray(weight)), (y, weight), (torch.tensor(y), weight)):
        model = LinearRegression().fit(torch.tensor(X), y_given, sample_weight=weight_given)
        assert relative(model.coef_, reference.coef_) <= NUMPY_PATH_BAR


def test_scikit_learns_array_api_checks(monkeypatch):
    """scikit-learn's own checks of array-API support (namespace, device, dtype and values of the fitted
    arrays and of predict; same-namespace and mixed inputs; predict refusing X of another namespace than
    the fit's under dispatch), for array-api-strict and PyTorch on the CPU.

    Their data come from make_classification, whose redundant columns make the design rank-deficient:
    numpy rows are then solved by QR on the augmented system and device rows by passes preconditioned
    with their QR factor (each recorded in loss_history_: another length; the minimum-norm answers
    agree, tested above), so the checks run here on its full-rank variant."""
    _strict()
    from sklearn.datasets import make_classification
    from sklearn.utils import estimator_checks

    def full_rank(**kwargs):
        return make_classification(**kwargs, n_redundant=0)

    monkeypatch.setattr(estimator_checks, "make_classification", full_rank)
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    namespaces = [("array_api_strict", None)]
    try:
        import torch  # noqa: F401 - run the checks on PyTorch tensors too, where it is installed
        namespaces.append(("torch", "cpu"))
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks' tiny fits warn of nothing that matters here
        for namespace, device in namespaces:
            for dtype in ("float64", "float32"):
                estimator_checks.check_array_api_input_and_values(
                    "LinearRegression", LinearRegression(), namespace, device_name=device, dtype_name=dtype,
                    check_sample_weight=True)
                estimator_checks.check_array_api_input("LinearRegression", LinearRegression(), namespace,
                                                       device_name=device, dtype_name=dtype)
            estimator_checks.check_array_api_same_namespace("LinearRegression", LinearRegression(), namespace,
                                                            device_name=device)
        if len(namespaces) > 1:
            from sklearn.utils._array_api import yield_mixed_namespace_input_permutations

            ran = []
            for X_side, other_side, label in yield_mixed_namespace_input_permutations():
                sides = (X_side, other_side)
                if all(side.xp in ("numpy", "array_api_strict", "torch") and str(side.device) not in ("cuda", "mps")
                       for side in sides):  # the pairs this CPU can hold
                    estimator_checks.check_array_api_mixed_inputs("LinearRegression", LinearRegression(), X_side, other_side)
                    ran.append(label)
            assert ran  # array_api_strict to torch cpu, at least


def test_device_statistics_are_the_memory_sources():
    """The statistics gathered on the device against those of MemorySource (same rows, other chunks):
    within the bounds of tests/references.py (2m·u, Cauchy–Schwarz)."""
    from references import assert_same_statistics

    X, y = random_problem(11, n=3000, d=4, scale=1e4)
    X = X + 1e3
    reference = MemorySource(X, y).stats()
    stats = ArraySource(X, y).stats()
    assert_same_statistics(stats, reference, X, y)


def test_extreme_columns_are_scaled_on_the_device():
    """Columns near 1e200 and 1e-200 (beyond 2^±400) are gathered again divided by powers of two, as on the host."""
    X, y = random_problem(12, n=400, d=3)
    X = X * np.array([1e200, 1.0, 1e-200])
    host, device = LinearRegression().fit(X, y), fit_on("numpy", X, y)
    assert relative(device.coef_, host.coef_) <= NUMPY_PATH_BAR


def test_as_source_dispatches_device_arrays():
    torch = _torch()
    X, y = random_problem(1, n=20, d=2)
    assert isinstance(as_source(torch.tensor(X), torch.tensor(y)), ArraySource)
    assert isinstance(as_source(X, y), MemorySource)


def test_device_residual_sums_are_the_hosts():
    """The refinement's residual sums (:mod:`gradfit.numerics.array_api`) against the host's: both within
    about u² of the exact sums, so within a few u² of each other, relative to the sums of magnitudes."""
    import array_api_compat

    from gradfit.numerics.array_api import residual_sums_on_device
    from gradfit.numerics.residuals import residual_sums

    rng = np.random.default_rng(13)
    X = rng.normal(size=(2500, 6)) * np.array([1.0, 1e3, 1e-3, 5.0, 1.0, 1e6]) + 100.0
    coef = rng.normal(size=6)
    y = X @ coef + 0.3 + rng.normal(size=2500) * 1e-9  # near the optimum: the sums cancel
    weight = rng.uniform(0.0, 2.0, size=2500)
    xp = array_api_compat.array_namespace(X)
    for w in (None, weight):
        host = residual_sums(X, y, w, coef=coef, intercept=0.3, x_scale=np.ones(6), y_scale=1.0, weight_scale=2.0)
        device = residual_sums_on_device(xp, X, y, w, coef=coef, intercept=0.3, x_scale=np.ones(6), y_scale=1.0,
                                         weight_scale=2.0)
        magnitude = np.abs(X).T @ (np.abs(y) + np.abs(X) @ np.abs(coef)) * (1.0 if w is None else 2.0)
        gap = np.abs((host.gradient[0] - device.gradient[0]) + (host.gradient[1] - device.gradient[1]))
        assert np.all(gap <= 64 * np.finfo(np.float64).eps ** 2 * magnitude)


def test_dask_arrays_of_device_blocks_fit_on_the_workers():
    """Dask blocks that are device arrays (CuPy on a GPU cluster; PyTorch CPU tensors here) are read
    where they are, through the Dask source's own path: statistics, refinement and streaming passes."""
    torch = _torch()
    dask = pytest.importorskip("dask")
    import dask.array as da

    from gradfit.sources.dask import DaskSource

    X, y = REAL["longley"]
    exact = exact_least_squares(X, y, fit_intercept=True)
    tensors = {"meta": np.empty((0, 0)), "dtype": np.float64}
    X_blocks = da.from_array(X, chunks=(6, -1)).map_blocks(lambda block: torch.tensor(block), **tensors)
    y_blocks = da.from_array(y, chunks=6).map_blocks(lambda block: torch.tensor(block), meta=np.empty(0), dtype=np.float64)
    with dask.config.set(scheduler="synchronous"):
        model = LinearRegression().fit(X_blocks, y_blocks)
        assert model.n_passes_ > 1 and worst_relative_error([model.intercept_, *model.coef_], exact) <= EXACT_BAR
        on_device, on_host = DaskSource(X_blocks, y_blocks), DaskSource(da.from_array(X, chunks=(6, -1)), da.from_array(y, chunks=6))
        moments, reference = on_device.columns(), on_host.columns()
        np.testing.assert_allclose(moments.x_mean, reference.x_mean, rtol=16 * np.finfo(np.float64).eps)
        v = np.linspace(-1.0, 1.0, X.shape[1])
        passes = on_device.residual_pass(v, 0.5, 1.0), on_host.residual_pass(v, 0.5, 1.0)
        # r's rounding is u·(|X||v| + |a| + |y|) a row; 16 rows a block: far below 1e-12 of the sums here.
        np.testing.assert_allclose(passes[0][1], passes[1][1], rtol=1e-12)
        # Each block predicted on its device, in float64 (gathered block by block: Dask joins blocks with
        # the meta's library, numpy here, which CuPy's registration does for CuPy blocks).
        blocks = dask.compute(*model.predict(X_blocks).to_delayed().ravel())
        assert all(isinstance(block, torch.Tensor) and block.dtype == torch.float64 for block in blocks)
        predicted = np.concatenate([array_api_module.to_host(block) for block in blocks])
        np.testing.assert_allclose(predicted, X @ model.coef_ + model.intercept_,
                                   rtol=0, atol=8 * np.finfo(np.float64).eps * float(np.abs(X).max(axis=0) @ np.abs(model.coef_)))
        bad = X.copy()
        bad[8, 1] = np.nan
        nan_blocks = da.from_array(bad, chunks=(6, -1)).map_blocks(lambda block: torch.tensor(block), **tensors)
        with pytest.raises(DataError, match=r"NaN at row 8, column 1; remove or impute it \(block 1\)"):
            LinearRegression().fit(nan_blocks, y_blocks)


def test_a_device_without_float64_says_what_precision_it_reached(monkeypatch):
    """Apple's MPS has no float64: simulated by a namespace that reports none, the statistics are gathered
    in float32 and the fit states the precision reached (a warning and error_bound_), never 1e-16."""
    X, y = random_problem(14, n=2000, d=3)
    monkeypatch.setattr(arrays_module, "has_float64", lambda xp, device: False)
    with pytest.warns(UserWarning, match="has no float64"):
        model = fit_on("numpy", X, y)
    exact = exact_least_squares(X, y, fit_intercept=True)
    error = worst_relative_error([model.intercept_, *model.coef_], exact)
    assert error <= model.error_bound_ <= 1e-3
    assert model.error_bound_ > 1e-10


def test_the_core_suite_needs_none_of_the_array_libraries():
    """``import gradfit`` and a numpy fit import neither array-api-compat nor torch (optional extras)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, gradfit; gradfit.LinearRegression().fit(np.eye(3), np.ones(3)); "
            "print(sorted(m for m in ('array_api_compat', 'torch', 'cupy', 'array_api_strict') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.stdout.strip() == "[]"


def test_the_gpu_benchmark_runs_its_comparisons(tmp_path):
    """benchmarks/gpu.py at a thousandth of its sizes on the CPU: every case and comparison runs (the
    script is the one a GPU session runs whole), and gradfit meets its bars in each."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    _torch()
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"
    out = tmp_path / "gpu.json"
    subprocess.run([sys.executable, str(script), "--device", "cpu", "--scale", "0.0005", "--repeats", "1", "--json", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    rows = json.loads(out.read_text())["results"]
    assert [row["case"] for row in rows] == ["float64", "float32", "rank-deficient (2 duplicated columns)"]
    for row in rows:
        assert row["gradfit error"] <= row["bar"]
        assert isinstance(row["torch.linalg.lstsq error"], float)
    assert {"anchor X.T @ X s", "anchor X.T @ X (TF32) s", "ratio"} <= set(rows[1])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(8, 300), d=st.integers(1, 6),
       magnitude=st.integers(0, 6), fit_intercept=st.booleans(), standardize=st.booleans(), weighted=st.booleans())
@settings(max_examples=40, deadline=None)
def test_the_array_api_path_agrees_with_the_numpy_path_within_both_bounds(seed, n, d, magnitude, fit_intercept,
                                                                           standardize, weighted):
    """Invariant: whatever the shape, scale, weights and coordinates, the device path's answer and the numpy
    path's are each within their certified relative bound (error_bound_) of the least squares, so within
    the sum of the two of each other, coefficient by coefficient."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-magnitude, magnitude, size=d) + rng.normal(size=d) * 10.0**magnitude
    y = X @ rng.normal(size=d) + rng.normal() + rng.normal(size=n)
    weight = rng.uniform(0.1, 2.0, size=n) if weighted else None
    params = {"fit_intercept": fit_intercept, "standardize": standardize}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        host = LinearRegression(**params).fit(X, y, sample_weight=weight)
        device = fit_on("numpy", X, y, weight, **params)
    assume(host.converged_ and device.converged_)
    bound = host.error_bound_ + device.error_bound_
    assert relative(device.coef_, host.coef_) <= bound
    if fit_intercept:
        assert relative(device.intercept_, host.intercept_) <= bound


def test_every_kind_of_input_beside_a_device_x_is_taken_or_named():
    """What a user passes beside a tensor: weights as a number, a numpy scalar, a 0-d array of either
    library; y as a pandas Series or a tensor that requires grad; and what is refused, by name."""
    torch = _torch()
    import pandas as pd

    X, y = random_problem(21, n=60, d=3)
    reference = LinearRegression().fit(X, y, sample_weight=np.full(60, 2.0))
    for weight in (2.0, np.float64(2.0), np.array(2.0), torch.tensor(2.0)):
        model = LinearRegression().fit(torch.tensor(X), torch.tensor(y), sample_weight=weight)
        assert relative(model.coef_, reference.coef_) <= NUMPY_PATH_BAR
    model = LinearRegression().fit(torch.tensor(X), pd.Series(y))
    assert relative(model.coef_, reference.coef_) <= NUMPY_PATH_BAR
    model = LinearRegression().fit(torch.tensor(X, requires_grad=True), torch.tensor(y, requires_grad=True))
    assert relative(model.coef_, reference.coef_) <= NUMPY_PATH_BAR
    with pytest.raises(DataError, match=r"sample_weight has shape \(60, 1\): give one weight per row"):
        LinearRegression().fit(torch.tensor(X), torch.tensor(y), sample_weight=torch.ones(60, 1, dtype=torch.float64))
    with pytest.raises(DataError, match=r"X must be 2-D \(n_samples, n_features\); got shape \(60, 3, 1\)$"):
        LinearRegression().fit(torch.tensor(X).reshape(60, 3, 1), torch.tensor(y))


def test_extreme_targets_fit_on_the_device():
    """y near 1e307 (its mean overflows unless taken after the scaling) and near 1e-310 (subnormal)."""
    X, y = random_problem(22, n=50, d=2)
    for scale in (1e306, 1e-310):
        host, device = LinearRegression().fit(X, y * scale), fit_on("numpy", X, y * scale)
        assert relative(device.coef_, host.coef_) <= 1e-10  # subnormal targets keep fewer digits, on both paths


@pytest.mark.parametrize("kind", ["numpy", "strict"])
def test_the_qr_factor_of_two_rows(kind):
    """A chunk of two rows (the last of a pass, or two rows in all): R is 2 × p, whatever the library."""
    import array_api_compat

    from gradfit.sources.arrays import _r_factor

    rows = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])
    given = on(kind, rows)
    R = array_api_module.to_host(_r_factor(array_api_compat.array_namespace(given), given))
    assert R.shape == (2, 3)
    np.testing.assert_allclose(R.T @ R, rows.T @ rows, rtol=0, atol=8 * np.finfo(np.float64).eps * float((rows**2).sum()))


def test_predict_refuses_what_fit_refuses():
    torch = _torch()
    X, y = random_problem(23, n=30, d=3)
    model = LinearRegression().fit(torch.tensor(X), torch.tensor(y))
    bad = torch.tensor(X)
    bad[4, 1] = float("nan")
    with pytest.raises(DataError, match=r"Input X contains NaN at row 4, column 1"):
        model.predict(bad)
    with pytest.raises(DataError, match="complex"):
        model.predict(torch.tensor(X, dtype=torch.complex128))
    with pytest.raises(DataError, match="0 rows"):
        model.predict(torch.zeros((0, 3), dtype=torch.float64))


@pytest.mark.parametrize("solver", ["sgd", "minibatch", "adam"])
def test_stochastic_solvers_take_cpu_tensors_as_the_host_arrays_they_are(solver):
    """A CPU tensor is host memory: the solvers that draw rows one by one read it as numpy (no copy), as
    they did before the array-API path; on a GPU they are refused (test above, by the simulated device)."""
    torch = _torch()
    X, y = random_problem(24, n=400, d=3)
    params = {"solver": solver, "max_iter": 20, "tol": 0.0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        host = LinearRegression(**params).fit(X, y)
        tensor = LinearRegression(**params).fit(torch.tensor(X), torch.tensor(y))
    np.testing.assert_array_equal(tensor.coef_, host.coef_)


def test_streaming_moments_of_a_target_far_from_zero():
    """The columns' pass of the streaming engine on y = 1e9 + N(0, 1): the moments of values far from
    zero, taken about the first row, keep their variance (a one-pass Σy² − (Σy)² would lose it all)."""
    from gradfit.sources.passes import StreamingSource

    X, y = random_problem(25, n=500, d=3)
    y = y + 1e9
    device, host = ArraySource(X, y).columns(), StreamingSource(X, y).columns()
    # Sums about the first row are of values within a few spreads of it: the variance within m·ε of itself.
    bound = len(y) * np.finfo(np.float64).eps * 16
    np.testing.assert_allclose(device.y_var, np.var(y), rtol=bound)
    np.testing.assert_allclose(device.x_var, np.var(X, axis=0), rtol=bound)
    np.testing.assert_allclose(host.y_var, np.var(y), rtol=1e-3)  # the host's pass, for comparison


def test_distance_to_optimum_of_device_rows_is_measured_where_they_are(monkeypatch):
    """The optimum by the exact fit on the device and the losses by passes there, under dispatch too;
    against the host's measure of the same model on the same values."""
    torch = _torch()
    from sklearn import config_context

    X, y = random_problem(26, n=300, d=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(solver="gd", learning_rate=1e-3, max_iter=30, tol=0.0).fit(X, y)  # far from the optimum
    host = model.distance_to_optimum(X, y)
    device = model.distance_to_optimum(torch.tensor(X), torch.tensor(y))
    np.testing.assert_allclose(device.coef_optimum, host.coef_optimum, rtol=NUMPY_PATH_BAR)
    assert relative(device.coef_error, host.coef_error) <= 1e-10  # a difference of two close vectors
    # Each loss is a float64 sum over 300 rows: the gap (a difference of two) within 300·ε of the losses.
    assert abs(device.loss_gap - host.loss_gap) <= 300 * np.finfo(np.float64).eps * model.final_loss_ * 4
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    with config_context(array_api_dispatch=True):
        placed = LinearRegression(solver="gd", learning_rate=1e-3, max_iter=30, tol=0.0).fit(torch.tensor(X), torch.tensor(y))
        assert relative(placed.distance_to_optimum(torch.tensor(X), torch.tensor(y)).coef_error, host.coef_error) <= 1e-10


@pytest.mark.parametrize("kind", ["strict", "torch"])
def test_score_of_device_rows_is_scikit_learns_r2(kind):
    """R² on the device, against scikit-learn's r2_score of the numpy predictions (weighted too):
    each sum of squares a float64 sum of n terms, so within n·ε of each other, relatively."""
    from sklearn.metrics import r2_score

    X, y = random_problem(27, n=200, d=3)
    weight = np.linspace(0.5, 1.5, 200)
    model = LinearRegression(solver="gd", learning_rate=1e-3, max_iter=20, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    predicted = X @ model.coef_ + model.intercept_
    for w in (None, weight):
        expected = r2_score(y, predicted, sample_weight=w)
        got = model.score(on(kind, X), on(kind, y), sample_weight=None if w is None else on(kind, w))
        assert abs(got - expected) <= 200 * np.finfo(np.float64).eps * 4


def test_a_weighted_constant_column_is_centred_to_exact_zeros():
    """With weights, a constant column's statistics are exactly 0 (so it is inert), on the host and on the
    device: its weighted mean is taken about the chunk's first row, where ``w·x/Σw`` of equal values was
    not always that value, and the rounding left a spread of 1e-15 relative, whose α/σ² ridge (1e60 in
    θ's units) once made every other coefficient 0, certified (a review's case, on torch)."""
    torch = _torch()
    rng = np.random.default_rng(2345)
    for trial in range(40):
        n = int(rng.integers(2, 60))
        X = np.column_stack([rng.normal(size=n), np.full(n, rng.normal() * 10.0 ** rng.uniform(-5, 8))])
        y, weight = rng.normal(size=n), 10.0 ** rng.uniform(-3, 3, size=n)
        for stats in (MemorySource(X, y, weight).stats(), ArraySource(torch.tensor(X), torch.tensor(y), torch.tensor(weight)).stats()):
            assert stats.xx[1, 1] == 0.0 and stats.xx[0, 1] == 0.0 and stats.xy[1] == 0.0, trial


def test_the_ridge_does_not_decide_what_the_rows_factor_drops():
    """The level below which a direction of the rows' factor is rounding comes from the rows' own factor:
    a ridge of 1e60 on one coordinate (exact rows) must not make the others look like rounding."""
    from gradfit.objective import LeastSquares
    from gradfit.solvers.direct import factor_preconditioner

    X, y = random_problem(28, n=200, d=3)
    source = ArraySource(X, y)
    objective = LeastSquares.from_source(source, fit_intercept=True, standardize=True, alpha=1.0)
    huge = objective.ridge.copy()
    huge[1] = 1e60
    objective.ridge = huge  # (the ridge a tiny spread gives a column: α/σ² in θ's units)
    solve, null_spread = factor_preconditioner(objective, source)
    assert null_spread is None  # nothing dropped: every direction of these full-rank rows is kept
    theta = solve(objective.b)
    assert np.all(np.isfinite(theta)) and np.count_nonzero(theta[2:]) == 2


def test_weighted_ridge_with_a_constant_column_and_tiny_spreads():
    """A constant column, columns whose spreads span 1e-8 to 1e5, weights from 1e-3 to 1e3 and a ridge:
    the ridge's rows in θ's coordinates reach α/σ² ≈ 1e17, which must not decide which directions of the
    rows' factor are rounding (they once made every coefficient 0, certified); the constant column,
    centred about its chunk's first row, stays exactly inert with weights. Against exact rationals."""
    torch = _torch()
    rng = np.random.default_rng(2345)
    n = 36
    X = np.column_stack([rng.normal(size=n) * 1e-8, rng.integers(0, 2, size=n) * 1e-2, rng.normal(size=n) * 0.05,
                         6.9e7 + rng.normal(size=n) * 1e5, np.full(n, 18.9063433)])
    y = X[:, :4] @ np.array([1e3, -10.0, 2.0, -1e-3]) + 2e5 + rng.normal(size=n)
    weight = 10.0 ** rng.uniform(-3, 3, size=n)
    exact = exact_least_squares(X, y, fit_intercept=True, sample_weight=weight, alpha=4.2)
    for model in (LinearRegression(alpha=4.2).fit(X, y, sample_weight=weight),
                  LinearRegression(alpha=4.2).fit(torch.tensor(X), torch.tensor(y), sample_weight=torch.tensor(weight))):
        # the constant column carries nothing beside the intercept (its coefficient at rounding level)
        assert model.converged_ and abs(model.coef_[4]) * 18.9063433 <= np.finfo(np.float64).eps * abs(model.intercept_)
        assert worst_relative_error([model.intercept_, *model.coef_[:4]], exact[:5]) <= EXACT_BAR
