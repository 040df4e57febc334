"""The classical least-squares inference, from sufficient statistics alone.

:func:`summarize` takes the :class:`~gradfit.sources.SufficientStats` of a regression problem and the
coefficients some solver produced, and returns a :class:`~gradfit.summary.ModelSummary`: R², adjusted
R², the F test, standard errors, t statistics, p values and confidence intervals, log-likelihood, AIC
and BIC. The numbers follow statsmodels' ``OLS`` (``WLS`` when the statistics were gathered with sample
weights) with its default ``"nonrobust"`` covariance. The raw rows are never needed, so the table costs
O(d³) whatever the number of rows, and works for data that never fit in memory.

All algebra happens in the scaled units of the statistics (``X / x_scale``, ``y / y_scale``, whose
scales are powers of two); results are mapped back to the user's units at the very end by exact
power-of-two rescaling, so features near 1e±150 neither overflow nor underflow.

The table itself (its fields, JSON and text) is :mod:`gradfit.summary`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as scipy_stats

from gradfit.errors import DataError
from gradfit.sources.stats import SufficientStats
from gradfit.summary import CONFIDENCE_LEVEL, INTERCEPT_NAME, ModelSummary

__all__ = ["summarize"]

#: Quantile of Student's t that bounds a two-sided interval of that coverage (0.975 for 95 %).
_UPPER_QUANTILE = 1.0 - (1.0 - CONFIDENCE_LEVEL) / 2.0

_EPS = float(np.finfo(np.float64).eps)


def summarize(
    stats: SufficientStats,
    coef: ArrayLike,
    intercept: float,
    *,
    fit_intercept: bool,
    feature_names: list[str] | None = None,
) -> ModelSummary:
    r"""Classical OLS/WLS inference for given coefficients, from sufficient statistics alone.

    The model is ``y = β₀ + Xβ + ε`` (``β₀ = 0`` without intercept), with independent errors of
    variance ``σ²/wᵢ``. Write ``W = Σ wᵢ``, ``x̄``, ``ȳ`` for the weighted means and ``Sxx``, ``Sxy``,
    ``Syy`` for the centred weighted sums of products (all carried by ``stats``). At the given
    coefficients the residuals ``rᵢ = yᵢ − β₀ − xᵢᵀβ`` have

    .. math::

        \mathrm{RSS} = \sum w_i r_i^2 = S_{yy} - 2\beta^\top S_{xy} + \beta^\top S_{xx}\beta
                       + W\,(\bar y - \beta_0 - \bar x^\top\beta)^2 ,

    because the centred parts sum to zero. Then, with ``k = 1`` if the model has a constant:

    - ``TSS = Syy`` (``k = 1``) or ``Σ wᵢyᵢ² = Syy + Wȳ²`` (``k = 0``); ``ESS = TSS − RSS``;
      ``R² = 1 − RSS/TSS``; ``R̄² = 1 − (n − k)/df_resid · (1 − R²)``.
    - ``rank`` = rank of the design ``[1, X]`` (or ``X``); ``df_model = rank − k``;
      ``df_resid = n − rank``; ``σ̂² = RSS/df_resid``; ``F = (ESS/df_model)/σ̂²``.
    - Covariance ``σ̂² (AᵀWA)⁺`` of the parameters, ``A`` the design. With an intercept, block
      elimination of the constant gives, with ``P = Sxx⁺``,

      .. math::

          \operatorname{Cov}(\beta) = \hat\sigma^2 P, \quad
          \operatorname{Var}(\beta_0) = \hat\sigma^2 \left(\tfrac{1}{W} + \bar x^\top P \bar x\right),
          \quad \operatorname{Cov}(\beta_0, \beta) = -\hat\sigma^2 P \bar x ,

      which only involves the centred (well-conditioned) ``Sxx``; without, ``P = (Sxx + W x̄x̄ᵀ)⁺``.
    - ``tⱼ = βⱼ/seⱼ``, ``pⱼ = 2·P(T > |tⱼ|)`` with ``T ~ t(df_resid)``, interval
      ``βⱼ ± t_{0.975}(df_resid)·seⱼ``.
    - ``ℓ = −n/2·(log(2π RSS/n) + 1)``, ``AIC = −2ℓ + 2·rank``, ``BIC = −2ℓ + log(n)·rank``.

    Pseudo-inverses are taken in correlation form (the matrix divided by the square roots of its
    diagonal on both sides, which preserves the Moore–Penrose inverse for exactly duplicated
    columns), from a symmetric eigendecomposition; eigenvalues at or below
    ``λ_max · p · eps`` count as zero, the convention of ``numpy.linalg.matrix_rank`` applied to a
    Gram matrix. A design whose singular values span more than about 1e8 therefore counts as rank
    deficient here, while statsmodels (working on the rows themselves) would still call it full rank:
    such directions are not resolvable from float64 cross-products.

    Parameters
    ----------
    stats : SufficientStats
        Statistics of the data (weighted or not) the model was fitted to.
    coef : array_like of shape (d,)
        Slope coefficients in the user's units (the solver's output, not necessarily exact).
    intercept : float
        Intercept in the user's units; must be 0 when ``fit_intercept`` is False.
    fit_intercept : bool
        Whether the design has an intercept column.
    feature_names : list of str, optional
        Names of the d features; ``x0, x1, …`` by default.

    Returns
    -------
    ModelSummary

    Raises
    ------
    ValueError
        If ``coef`` or ``feature_names`` do not have d entries, ``coef`` is not finite, or an
        intercept is given with ``fit_intercept=False``.
    DataError
        If the statistics hold no rows or zero total weight.

    Notes
    -----
    Special cases produce no warnings. When RSS is zero to the rounding level of the statistics, it is
    taken as exactly 0 (a perfect fit): ``sigma = 0``, standard errors 0, ``t = ±inf`` (``nan`` for a
    zero coefficient), ``F = inf``, ``log_likelihood = inf``. When ``df_resid ≤ 0``, everything that
    divides by it is ``nan``. Without an intercept, if the columns of X span the constant (a constant
    column, or dummies that sum to one), the model still has a constant, as statsmodels detects:
    then ``k = 1`` and R² is centred.

    Examples
    --------
    >>> import numpy as np
    >>> from gradfit.sources.memory import MemorySource
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([1.0, 2.9, 5.1, 7.0])
    >>> summary = summarize(MemorySource(X, y).stats(), np.array([2.0]), 0.97, fit_intercept=True)
    >>> round(summary.r_squared, 4), summary.df_resid
    (0.9988, 2)
    """
    d = stats.n_features
    coef = np.asarray(coef, dtype=np.float64)
    if coef.shape != (d,):
        raise ValueError(f"coef has shape {coef.shape}; the statistics have {d} features, so (d,) = ({d},)")
    intercept = float(intercept)
    if not (np.all(np.isfinite(coef)) and math.isfinite(intercept)):
        raise ValueError("coef and intercept must be finite")
    if not fit_intercept and intercept != 0.0:
        raise ValueError(f"intercept is {intercept!r} but fit_intercept=False; a model without intercept has 0")
    names = [f"x{j}" for j in range(d)] if feature_names is None else [str(name) for name in feature_names]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names for {d} features")
    if stats.n_samples <= 0 or not stats.weight > 0:
        raise DataError("cannot summarise a fit to no data: the statistics hold no rows or zero total weight")

    n = int(stats.n_samples)
    total_weight = float(stats.weight)
    # Slopes and intercept in the scaled units of the statistics: β_scaled = β·x_scale/y_scale.
    scaled_coef = _rescale(coef, stats.x_scale, stats.y_scale)
    scaled_intercept = float(_rescale(np.float64(intercept), 1.0, stats.y_scale))
    x_mean = stats.x_mean
    y_mean = stats.y_mean
    notes: list[str] = []

    # ---- residual sum of squares at the given coefficients (scaled units) -----------------------
    # Centred part Σw((yᵢ−ȳ) − (xᵢ−x̄)ᵀβ)², and the residual mean m = ȳ − β₀ − x̄ᵀβ. Origins (large)
    # and offsets (small) are combined separately so the mean residual keeps its relative accuracy.
    xx_coef = stats.xx @ scaled_coef
    centred_rss = stats.yy - 2.0 * (scaled_coef @ stats.xy) + scaled_coef @ xx_coef
    mean_residual = (stats.y_origin - stats.x_origin @ scaled_coef - scaled_intercept) + (
        stats.y_offset - stats.x_offset @ scaled_coef
    )
    centred_noise, mean_noise = _rounding_levels(stats, scaled_coef, scaled_intercept)
    # Either part below its rounding level is indistinguishable from 0 (and would otherwise leak
    # rounding noise, even a negative sum of squares, into σ); both below is a perfect fit.
    if centred_rss <= centred_noise:
        centred_rss = 0.0
    if abs(mean_residual) <= mean_noise:
        mean_residual = 0.0
    rss = centred_rss + total_weight * mean_residual**2
    perfect_fit = rss == 0.0

    # ---- rank and pseudo-inverse factor ---------------------------------------------------------
    # P = F Fᵀ, so diag(P) = row norms² of F and x̄ᵀPx̄ = ‖Fᵀx̄‖² are non-negative by construction.
    centred_factor, centred_rank = _psd_pinv_factor(stats.xx)
    if fit_intercept:
        has_constant = True
        rank = centred_rank + 1
        factor = centred_factor
    else:
        factor, rank = _uncentred_pinv_factor(stats.xx, x_mean, total_weight)
        # statsmodels' test for an implicit constant: adding a ones column does not raise the rank.
        has_constant = rank == centred_rank + 1
        if has_constant:
            notes.append(
                "the columns of X span a constant (implicit intercept): R² is centred and df_model = rank − 1"
            )
    n_params = d + (1 if fit_intercept else 0)
    if rank < n_params:
        notes.append(
            f"the design is rank deficient (rank {rank} < {n_params} parameters): coefficients are not "
            "unique and standard errors use the pseudo-inverse (minimum-norm) covariance"
        )
    k_constant = 1 if has_constant else 0
    df_model = rank - k_constant
    df_resid = n - rank

    # ---- sums of squares and model-level statistics ---------------------------------------------
    tss = stats.yy if has_constant else stats.yy + total_weight * y_mean**2
    ess = tss - rss
    if tss > 0:
        r_squared = 1.0 - rss / tss
    else:
        r_squared = math.nan
        notes.append("the target has no variation (TSS = 0): R², adjusted R² and F are undefined")
    if df_resid > 0:
        sigma2 = rss / df_resid
        adj_r_squared = 1.0 - (n - k_constant) / df_resid * (1.0 - r_squared)
    else:
        sigma2 = math.nan
        adj_r_squared = math.nan
        notes.append(
            f"no residual degrees of freedom (n = {n} ≤ rank = {rank}): σ, standard errors, t, p values, "
            "intervals, adjusted R² and F are undefined"
        )
    f_statistic, f_pvalue = _f_test(ess, rss, df_model, df_resid, tss)
    if perfect_fit and df_resid > 0:
        notes.append(
            "perfect fit: the residual sum of squares is zero to the precision of the statistics, so "
            "σ = 0, t and F are infinite and the log-likelihood is +inf"
        )
    elif perfect_fit:
        notes.append("the residuals are zero, so the log-likelihood is +inf (AIC and BIC −inf)")

    # Log of RSS in the user's units without forming RSS itself (it may overflow): log RSS_scaled
    # plus 2·log y_scale.
    if rss > 0:
        log_rss = math.log(rss) + 2.0 * math.log(stats.y_scale)
        log_likelihood = -0.5 * n * (math.log(2.0 * math.pi) + log_rss - math.log(n) + 1.0)
    else:
        log_likelihood = math.inf
    aic = -2.0 * log_likelihood + 2.0 * rank
    bic = -2.0 * log_likelihood + math.log(n) * rank
    if total_weight != n:
        notes.append(
            "weighted fit: the log-likelihood, AIC and BIC omit the constant ½Σlog wᵢ that statsmodels "
            "WLS adds; compare them only between fits with the same weights"
        )

    # ---- standard errors (scaled units, then user units) ----------------------------------------
    slope_var_unit = np.einsum("ij,ij->i", factor, factor)
    if fit_intercept:
        projected_mean = factor.T @ x_mean
        intercept_var_unit = 1.0 / total_weight + float(projected_mean @ projected_mean)
        scaled_params = np.concatenate(([scaled_intercept], scaled_coef))
        var_unit = np.concatenate(([intercept_var_unit], slope_var_unit))
        params = np.concatenate(([intercept], coef))
        to_user = np.concatenate(([1.0], stats.x_scale))
        names = [INTERCEPT_NAME, *names]
    else:
        scaled_params = scaled_coef
        var_unit = slope_var_unit
        params = coef
        to_user = np.asarray(stats.x_scale, dtype=np.float64)

    # A zero unit variance means the pseudo-inverse left the term out entirely (a column with no
    # variation, whose effect the intercept already carries): it is not estimable, so its error is
    # undefined rather than 0.
    not_estimable = var_unit == 0
    if not_estimable.any():
        listed = ", ".join(name for name, flag in zip(names, not_estimable) if flag)
        notes.append(f"not estimable (a column without variation): {listed}; their errors are undefined")
    if df_resid > 0:
        scaled_std_err = np.where(not_estimable, math.nan, math.sqrt(sigma2) * np.sqrt(var_unit))
        sigma = float(_rescale(np.float64(math.sqrt(sigma2)), stats.y_scale, 1.0))
        t_values = _ratio(scaled_params, scaled_std_err)
        p_values = 2.0 * scipy_stats.t.sf(np.abs(t_values), df_resid)
        # sf(nan) is nan; sf(inf) is 0, the exact limit.
        quantile = float(scipy_stats.t.ppf(_UPPER_QUANTILE, df_resid))
    else:
        scaled_std_err = np.full(n_params, math.nan)
        sigma = math.nan
        t_values = np.full(n_params, math.nan)
        p_values = np.full(n_params, math.nan)
        quantile = math.nan
    # se_user = se_scaled · y_scale / x_scale (exact power-of-two rescaling).
    std_err = _rescale(scaled_std_err, stats.y_scale, to_user)
    half_width = quantile * std_err
    return ModelSummary(
        n_samples=n,
        df_model=int(df_model),
        df_resid=int(df_resid),
        rank=int(rank),
        r_squared=float(r_squared),
        adj_r_squared=float(adj_r_squared),
        f_statistic=float(f_statistic),
        f_pvalue=float(f_pvalue),
        sigma=sigma,
        log_likelihood=float(log_likelihood),
        aic=float(aic),
        bic=float(bic),
        names=tuple(names),
        coef=params,
        std_err=std_err,
        t=t_values,
        p_value=p_values,
        ci_low=params - half_width,
        ci_high=params + half_width,
        notes=tuple(notes),
    )


def _rescale(values: ArrayLike, numerator: ArrayLike, denominator: ArrayLike) -> NDArray[np.float64]:
    """``values · numerator / denominator`` without intermediate overflow or underflow.

    Each scale is split as ``mantissa · 2^exponent`` (``frexp``); the mantissas (equal, ½, for the
    powers of two that :class:`SufficientStats` uses, so their ratio is exactly 1) are applied by
    ordinary arithmetic and the exponents by ``ldexp``, which only rounds if the result itself is
    out of range.
    """
    top_mantissa, top_exponent = np.frexp(np.asarray(numerator, dtype=np.float64))
    bottom_mantissa, bottom_exponent = np.frexp(np.asarray(denominator, dtype=np.float64))
    return np.ldexp(np.asarray(values, dtype=np.float64) * (top_mantissa / bottom_mantissa), top_exponent - bottom_exponent)


def _rounding_levels(
    stats: SufficientStats, scaled_coef: NDArray[np.float64], scaled_intercept: float
) -> tuple[float, float]:
    """Rounding-error bounds of the centred RSS and of the mean residual (scaled units).

    The centred RSS ``Syy − 2βᵀSxy + βᵀSxxβ`` cancels; its error is about ``eps`` times the magnitude
    of its terms, ``(√Syy + Σ|βⱼ|√Sxxⱼⱼ)²``, times a growth factor: each statistic is a sum over n
    rows (random rounding grows like √n) and the form adds d + 2 terms. The mean residual
    ``ȳ − β₀ − x̄ᵀβ`` has the same relative error on the magnitudes of its terms plus the spread of
    the rows it averages. Below these levels the residual is indistinguishable from zero.
    """
    d = stats.n_features
    abs_coef = np.abs(scaled_coef)
    relative = _EPS * (d + 2 + math.sqrt(stats.n_samples))
    # Each entry of Sxx, Sxy, Syy is a sum over rows whose rounding scales with the sum of the
    # magnitudes of its products, bounded (Cauchy–Schwarz) by √(Sⱼⱼ Sₖₖ) rather than by |Sⱼₖ|.
    root_yy = math.sqrt(max(stats.yy, 0.0))
    root_xx = np.sqrt(np.maximum(np.diag(stats.xx), 0.0))
    centred_magnitude = (root_yy + float(abs_coef @ root_xx)) ** 2
    mean_magnitude = (
        abs(stats.y_origin)
        + abs(stats.y_offset)
        + abs(scaled_intercept)
        + float(abs_coef @ (np.abs(stats.x_origin) + np.abs(stats.x_offset)))
    )
    # The means are themselves sums over rows of offsets whose size is the spread √(magnitude/W).
    spread = math.sqrt(centred_magnitude / stats.weight)
    return relative * centred_magnitude, relative * (mean_magnitude + spread)


def _correlation_eigh(
    gram: NDArray[np.float64],
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Eigendecomposition of a PSD matrix in correlation form, keeping the numerically nonzero part.

    With ``D = diag(gram)^{1/2}`` over the ``active`` columns (zero-variance columns are left out:
    they carry no information), ``C = D⁻¹ gram D⁻¹`` has unit diagonal, so its condition is that of
    the problem rather than of the units. Eigenvalues ``λ ≤ λ_max · p · eps`` are dropped (the
    ``numpy.linalg.matrix_rank`` tolerance applied to a Gram matrix), so
    ``gram ≈ D V Λ Vᵀ D`` over the kept ones.

    Returns
    -------
    active : ndarray of int, the columns with positive diagonal
    root : ndarray of shape (len(active),), ``D`` on those columns
    eigenvalues : ndarray of shape (rank,)
    eigenvectors : ndarray of shape (len(active), rank)
    """
    diagonal = np.diag(gram)
    active = np.flatnonzero(diagonal > 0)
    if active.size == 0:
        return active, np.zeros(0), np.zeros(0), np.zeros((0, 0))
    root = np.sqrt(diagonal[active])
    correlation = gram[np.ix_(active, active)] / np.outer(root, root)
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    kept = eigenvalues > eigenvalues[-1] * active.size * _EPS
    return active, root, eigenvalues[kept], eigenvectors[:, kept]


def _psd_pinv_factor(gram: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
    """Factor ``F`` with ``F Fᵀ = gram⁺`` and the numerical rank: ``F = D⁻¹ V Λ^{-1/2}``.

    See :func:`_correlation_eigh`; zero-variance columns get zero rows.

    Returns
    -------
    factor : ndarray of shape (p, rank)
    rank : int
    """
    active, root, eigenvalues, eigenvectors = _correlation_eigh(gram)
    factor = np.zeros((gram.shape[0], eigenvalues.size))
    factor[active] = eigenvectors / np.sqrt(eigenvalues) / root[:, None]
    return factor, int(eigenvalues.size)


def _uncentred_pinv_factor(
    xx: NDArray[np.float64], x_mean: NDArray[np.float64], total_weight: float
) -> tuple[NDArray[np.float64], int]:
    """Factor ``F`` with ``F Fᵀ = (Sxx + W x̄x̄ᵀ)⁺``, the uncentred ``XᵀWX``, and its rank.

    Forming ``Sxx + W x̄x̄ᵀ`` and inverting it would square the ill-conditioning that large means
    bring (a "year" column: mean 1954, spread 5). Instead it is written as ``AᵀA`` with
    ``A = [Λ^{1/2} Vᵀ D; √W x̄ᵀ]`` (a square root of the centred part from :func:`_correlation_eigh`
    stacked on the mean row), and ``A`` — column-scaled to unit norm by ``E`` — is factored by SVD,
    ``A E = U S Qᵀ``, whose accuracy depends on ``cond(A)``, the square root of ``cond(AᵀA)``. Then
    ``F = E Q S⁻¹``. Singular values ``s ≤ s_max·√(p·eps)`` are dropped: the same Gram-level
    tolerance as :func:`_correlation_eigh`.

    Returns
    -------
    factor : ndarray of shape (d, rank)
    rank : int
    """
    size = xx.shape[0]
    active, root, eigenvalues, eigenvectors = _correlation_eigh(xx)
    centred_root = np.zeros((eigenvalues.size, size))
    centred_root[:, active] = (np.sqrt(eigenvalues)[:, None] * eigenvectors.T) * root[None, :]
    stacked = np.vstack([centred_root, math.sqrt(total_weight) * x_mean[None, :]])
    norms = np.sqrt(np.einsum("ij,ij->j", stacked, stacked))
    columns = np.flatnonzero(norms > 0)
    if columns.size == 0:
        return np.zeros((size, 0)), 0
    _, singular_values, right = np.linalg.svd(stacked[:, columns] / norms[columns], full_matrices=False)
    kept = singular_values > singular_values[0] * math.sqrt(columns.size * _EPS)
    factor = np.zeros((size, int(kept.sum())))
    factor[columns] = right[kept].T / singular_values[kept] / norms[columns, None]
    return factor, int(kept.sum())


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    """``numerator / denominator`` with the exact limits for a zero denominator and no warnings.

    A zero standard error arises for a perfect fit: t = ±inf, the limit of β/σ̂ as σ̂ → 0; 0/0 (and an
    undefined, nan, error) gives nan.
    """
    result = np.full(numerator.shape, math.nan)
    positive = denominator > 0
    result[positive] = numerator[positive] / denominator[positive]
    zero = (denominator == 0) & (numerator != 0)
    result[zero] = np.copysign(math.inf, numerator[zero])
    return result


def _f_test(ess: float, rss: float, df_model: int, df_resid: int, tss: float) -> tuple[float, float]:
    """Overall F statistic and its upper-tail p value, with explicit limits instead of 0-divisions."""
    if df_model <= 0 or df_resid <= 0 or not tss > 0:
        return math.nan, math.nan
    mean_model = ess / df_model
    if rss > 0:
        statistic = mean_model / (rss / df_resid)
    elif mean_model > 0:
        statistic = math.inf  # a perfect fit that explains something: F → ∞, p → 0.
    else:
        return math.nan, math.nan
    return statistic, float(scipy_stats.f.sf(statistic, df_model, df_resid))
