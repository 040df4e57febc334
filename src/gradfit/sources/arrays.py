"""Arrays of the array API standard, read where they live: PyTorch tensors, CuPy arrays, array-api-strict's
(and numpy's, through array-api-compat, to test this path against the numpy one).

Every pass runs on the arrays' device: the statistics (float64 products of chunks of rows, centred on
a shared origin as :class:`~gradfit.sources.memory.MemorySource` does), the direct solver's refinement
passes (:mod:`gradfit.numerics.array_api`: the residual in double-double, there), and the streaming
engine's passes for wide data. Only d-sized and d × d results cross to the host, where they merge
and where the small solve runs. float32 (or integer) rows are taken to float64 chunk by chunk, on
the device, so their products are exact and the answer is the least squares of the values given;
TF32 never enters (it applies to float32 products only). A device without float64 (Apple's MPS)
gathers in float32 and its fit says what precision that reached.

The namespace comes from ``array-api-compat`` (``pip install gradfit[torch]``, ``gradfit[cupy]``),
imported only when such an array is given.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gradfit.errors import DataError, non_finite
from gradfit.numerics.array_api import to_host
from gradfit.numerics.scaling import safe_scale
from gradfit.sources.memory import CHUNK_BYTES
from gradfit.sources.passes import ColumnMoments
from gradfit.sources.stats import SufficientStats, TreeReduce

__all__ = ["ArraySource", "DEVICE_CHUNK_BYTES", "array_namespace", "predict_on_device"]

#: Bytes of float64 rows per chunk on an accelerator. Large, so that each chunk's product keeps the
#: device busy (a 100-column chunk is 335,544 rows: about 0.3 ms of XᵀX at the 19 ms per 25M rows an
#: H100 takes, against tens of µs to start a kernel), and small beside its memory (0.2% of 80 GB), as
#: the centred copy and, for refinement, its four slices (5× the chunk) must fit beside the data.
#: Not yet measured on a GPU (benchmarks/gpu.py is the script that will). On the host's CPU a chunk
#: is MemorySource's (CHUNK_BYTES, measured there).
DEVICE_CHUNK_BYTES = 256 * 2**20

#: Fewest rows a chunk holds (wide rows): 1,024 rows of 4,100 float64 columns are 34 MB.
MIN_CHUNK_ROWS = 1024

#: How many times over the statistics' rounding bound is taken on a device (see ArraySource.statistics_epsilon).
DEVICE_SUMMATION = 4.0

#: The array-API kinds of dtype a design may have: taken to float64 (or float32) chunk by chunk.
_NUMERIC_KINDS = ("real floating", "integral", "bool")


def array_namespace(*arrays):
    """The array-API namespace of some arrays (``array_api_compat.array_namespace``), or a DataError
    saying what to install."""
    try:
        import array_api_compat
    except ImportError:
        kind = type(arrays[0]).__module__.split(".")[0]
        raise DataError(
            f"X is a {kind} array: fitting it where it lives needs array-api-compat; install it with "
            f"pip install 'gradfit[{kind if kind in ('torch', 'cupy') else 'array-api'}]'"
        ) from None
    return array_api_compat.array_namespace(*arrays)


def _device(x):
    import array_api_compat

    return array_api_compat.device(x)


def _on_cpu(device) -> bool:
    return "cpu" in str(device).lower()


def has_float64(xp, device) -> bool:
    """Whether ``device`` computes in float64 (Apple's MPS does not), as the namespace reports it."""
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    try:
        return "float64" in info().dtypes(device=device, kind="real floating")
    except (TypeError, ValueError, RuntimeError):  # a namespace that cannot tell for a device
        return True


class ArraySource:
    """Rows ``X`` (n, d) and ``y`` (n,) in arrays of the array API standard, on their device.

    A :class:`~gradfit.sources.Source` (``stats``) that also offers ``reduce_rows`` (the direct solver's
    refinement) and the streaming passes (``columns``, ``residual_pass``), each run on the device.
    Not an in-memory source: its rows never come to the host, so the stochastic solvers (which
    draw rows one by one) and the QR of the rows are not offered.

    Parameters
    ----------
    X : array of shape (n, d)
        Real floating, integer or bool, on any device of its namespace.
    y : array of shape (n,) or (n, 1)
        X's namespace (moved to X's device when it comes as numpy), finite.
    sample_weight : array of shape (n,) or float, optional
        Finite, non-negative, not all zero.
    first_row : int, default=0
        The number of these rows' first row in the whole data (a Dask block's), for messages.
    """

    def __init__(self, X, y, sample_weight=None, *, first_row: int = 0) -> None:
        xp = array_namespace(X)
        self._xp = xp
        self._first_row = first_row
        if getattr(X, "requires_grad", False):  # a PyTorch tensor in an autograd graph: read its values only
            X = X.detach()
        if str(getattr(X, "layout", "torch.strided")) != "torch.strided":
            raise DataError(f"X is a sparse PyTorch tensor ({X.layout}): give it dense (X.to_dense()), or as a "
                            f"scipy.sparse matrix, which the streaming engine reads without densifying")
        if getattr(X, "ndim", None) != 2:
            one = ": give one feature as X.reshape(-1, 1)" if getattr(X, "ndim", None) == 1 else ""
            raise DataError(f"X must be 2-D (n_samples, n_features); got shape {tuple(X.shape)}{one}")
        if not xp.isdtype(X.dtype, _NUMERIC_KINDS):
            raise DataError(f"X has dtype {X.dtype}: least squares needs real numbers (float, integer or bool)")
        self.n_samples, self.n_features = int(X.shape[0]), int(X.shape[1])
        if self.n_samples == 0 or self.n_features == 0:
            raise DataError(f"X has shape {tuple(X.shape)}: at least one row and one feature are needed")
        self.device = _device(X)
        #: Whether the device computes in float64 (else float32, and the fit says what that reached).
        self.float64 = has_float64(xp, self.device)
        self.dtype = xp.float64 if self.float64 else xp.float32
        #: The unit the statistics' rounding is bounded in (see :class:`~gradfit.sources.PrecisionSource`): the
        #: machine epsilon, taken DEVICE_SUMMATION times over, since a device sums in an order gradfit does
        #: not choose (measured on PyTorch's CPU reductions: 2.7× numpy's rounding of Wᵀt on one design).
        self.statistics_epsilon = DEVICE_SUMMATION * float(np.finfo(np.float64 if self.float64 else np.float32).eps)
        self._X = X
        self._y = self._vector(y, "y")
        self._weight = None if sample_weight is None else self._weights(sample_weight)
        bad = ~xp.isfinite(self._y)
        if bool(xp.any(bad)):
            row = self._first(bad)
            raise non_finite("y", float(to_host(self._y[row])), first_row + row)
        #: Passes over the rows made by :meth:`columns` and :meth:`residual_pass` (the streaming engine's).
        self.passes = 0

    @property
    def in_host_memory(self) -> bool:
        """Whether the rows are in the host's memory (a CPU device), so numpy can read them where they are."""
        return _on_cpu(self.device) and self.float64

    def host_arrays(self):
        """``(X, y, sample_weight)`` as float64 numpy arrays (X without a copy where it is float64 on a
        CPU; y and the weights as this source holds them): for the solvers that draw rows one by one."""
        X = np.from_dlpack(self._X)
        return (np.asarray(X, dtype=np.float64), np.from_dlpack(self._y),
                None if self._weight is None else np.from_dlpack(self._weight))

    # -- checks --------------------------------------------------------------------------------

    def _vector(self, values, name: str):
        """``values`` as a float vector of n entries in X's namespace, on X's device: one from the host, another
        library or another device is moved there (scikit-learn's rule for ``y`` and ``sample_weight``),
        through DLPack where the two libraries can, else through the host (n numbers: y, never X)."""
        import array_api_compat

        xp = self._xp
        if getattr(values, "requires_grad", False):
            values = values.detach()
        if not array_api_compat.is_array_api_obj(values) or isinstance(values, np.ndarray | np.generic):
            # host data (numpy, a list, a pandas Series): to X's device
            values = xp.asarray(np.array(values, dtype=np.float64), dtype=self.dtype, device=self.device)  # a copy: a read-only view (pandas) cannot be shared
        elif array_namespace(values) is not xp or str(_device(values)) != str(self.device):
            try:
                values = xp.from_dlpack(values, device=self.device, copy=True)
            except (TypeError, ValueError, RuntimeError, BufferError, NotImplementedError):  # no DLPack path between them
                values = xp.asarray(to_host(values), dtype=self.dtype, device=self.device)
        if name == "y" and values.ndim == 2 and values.shape[1] == 1:
            values = xp.reshape(values, (-1,))
        if values.ndim != 1 or values.shape[0] != self.n_samples:
            raise DataError(f"{name} has shape {tuple(values.shape)} but X has {self.n_samples} rows; give {name} "
                            f"one value per row of X")
        if not xp.isdtype(values.dtype, _NUMERIC_KINDS):
            raise DataError(f"{name} has dtype {values.dtype}: least squares needs real numbers")
        return xp.astype(values, self.dtype, copy=False)

    def _weights(self, sample_weight):
        xp = self._xp
        if np.ndim(sample_weight) == 0:  # a number, numpy scalar or 0-d array of any library: one weight for all
            sample_weight = np.full(self.n_samples, float(sample_weight))
        elif getattr(sample_weight, "ndim", 1) != 1:
            raise DataError(f"sample_weight has shape {tuple(sample_weight.shape)}: give one weight per row of X, "
                            f"as a 1-D array of {self.n_samples}")
        weight = self._vector(sample_weight, "sample_weight")
        bad = ~(xp.isfinite(weight) & (weight >= 0))
        if bool(xp.any(bad)):
            row = self._first(bad)
            raise DataError(f"sample_weight is {float(to_host(weight[row])):g} at row {self._first_row + row}: weights must be "
                            f"finite and non-negative")
        if not float(to_host(xp.sum(weight))) > 0:
            raise DataError("sample_weight is zero for every row: at least one row must weigh something")
        return weight

    def _first(self, mask) -> int:
        """Index of the first True of a vector (one number to the host)."""
        xp = self._xp
        return int(to_host(xp.nonzero(mask)[0][0]))

    # -- chunks --------------------------------------------------------------------------------

    def chunk_rows(self) -> int:
        """Rows per chunk: :data:`DEVICE_CHUNK_BYTES` of float64 rows on an accelerator, MemorySource's
        chunk on a CPU."""
        budget = CHUNK_BYTES if _on_cpu(self.device) else DEVICE_CHUNK_BYTES
        # At least MIN_CHUNK_ROWS rows: very wide rows would otherwise make chunks of a few rows, whose
        # operations cost more to start than to run (9× StreamingSource's pass at 4,100 columns).
        return max(1, min(self.n_samples, max(MIN_CHUNK_ROWS, budget // (8 * self.n_features))))

    def _chunks(self):
        """``(start, X chunk in the working dtype, y chunk, weight chunk or None)`` over the rows."""
        xp, step = self._xp, self.chunk_rows()
        for start in range(0, self.n_samples, step):
            stop = min(start + step, self.n_samples)
            weight = None if self._weight is None else self._weight[start:stop]
            yield start, xp.astype(self._X[start:stop, :], self.dtype, copy=False), self._y[start:stop], weight

    def _device_vector(self, values):
        return self._xp.asarray(np.asarray(values, dtype=np.float64), dtype=self.dtype, device=self.device)

    # -- statistics ----------------------------------------------------------------------------

    def stats(self) -> SufficientStats:
        """The statistics, chunk by chunk on the device, merged pairwise on the host.

        As :meth:`MemorySource.stats <gradfit.sources.memory.MemorySource.stats>`: every chunk centred
        on one origin (the first chunk's mean), its statistics centred after the product where that
        cancels little; columns beyond 2^±400 gathered again divided by powers of two."""
        xp = self._xp
        step = self.chunk_rows()
        y_scale = float(safe_scale(np.asarray(to_host(xp.max(xp.abs(self._y))))))
        y_origin = float(to_host(xp.mean(self._y[:step] / y_scale)))  # scaled first: a mean of values near 1e308 overflows
        x_scale = np.ones(self.n_features)
        while True:
            first = xp.astype(self._X[:step, :], self.dtype, copy=False)
            with np.errstate(over="ignore", invalid="ignore"):
                x_origin = to_host(xp.mean(first, axis=0)) / x_scale
                if not np.all(np.isfinite(x_origin)):
                    x_origin = to_host(first[0, :]) / x_scale  # overflowing sums: the first row (NaN named below)
            stats, magnitude = self.gather(x_scale=x_scale, y_scale=y_scale, x_origin=x_origin, y_origin=y_origin)
            magnitude = magnitude[: self.n_features]
            if not np.all(np.isfinite(magnitude)):
                magnitude = self.max_abs()
                if not np.all(np.isfinite(magnitude)):
                    raise self.not_finite()
            needed = safe_scale(magnitude)
            if np.array_equal(needed, x_scale) or not np.all(x_scale == 1.0):
                return stats
            x_scale = needed

    def gather(self, *, x_scale, y_scale: float, x_origin, y_origin: float) -> tuple[SufficientStats, np.ndarray]:
        """The rows' statistics in the units and about the origin given (the host's numbers), with each
        column's magnitude ``|origin| + |offset| + rms deviation``, features then target (maximised over
        the chunks, not finite where a chunk overflowed or held NaN/inf): what a caller reads to tell
        whether the columns need scaling (a :class:`~gradfit.sources.stats.Part`'s magnitude)."""
        xp = self._xp
        scaled = not np.all(x_scale == 1.0)
        scale_on_device, origin_on_device = self._device_vector(x_scale), self._device_vector(x_origin)
        tree = TreeReduce(SufficientStats.merge)
        largest = np.zeros(self.n_features + 1)
        frame = {"x_scale": np.asarray(x_scale, dtype=np.float64), "y_scale": y_scale,
                 "x_origin": np.asarray(x_origin, dtype=np.float64), "y_origin": y_origin}
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            for _, X, y, weight in self._chunks():
                W = (X / scale_on_device if scaled else X) - origin_on_device
                t = y / y_scale - y_origin
                part = None
                if weight is None:
                    k = int(W.shape[0])
                    part = SufficientStats.from_products(
                        k, to_host(xp.sum(W, axis=0)), float(to_host(xp.sum(t))), to_host(xp.matmul(W.T, W)),
                        to_host(xp.matmul(W.T, t)), float(to_host(xp.vecdot(t, t))), **frame)
                if part is None:
                    part = self._centred(W, t, weight, frame)
                if part.weight > 0:
                    spread = np.sqrt(np.maximum(np.append(np.diag(part.xx), part.yy), 0.0) / part.weight)
                    middle = np.abs(np.append(part.x_origin, part.y_origin)) + np.abs(np.append(part.x_offset, part.y_offset))
                    np.maximum(largest, middle + spread, out=largest)
                tree.add(part)
        return tree.result(), largest

    def _centred(self, W, t, weight, frame: dict) -> SufficientStats:
        """A chunk's statistics centred on its own (weighted) means, row by row (two passes over it).

        Weighted means are taken about the chunk's first row, as the host does: a constant column is
        then centred to exact zeros (``w·x/Σw`` of equal values is not always that value) and is seen
        inert, as without weights."""
        xp = self._xp
        k = int(W.shape[0])
        if weight is None:
            total = float(k)
            x_offset, y_offset = xp.mean(W, axis=0), xp.mean(t)
            W, t = W - x_offset, t - y_offset
        else:
            total = float(to_host(xp.sum(weight)))
            x_base, y_base = W[0, :], t[0]
            W, t = W - x_base, t - y_base
            x_shift = xp.matmul(weight, W) / total if total > 0 else xp.zeros_like(W[0, :])
            y_shift = xp.vecdot(weight, t) / total if total > 0 else xp.zeros_like(t[0])
            x_offset, y_offset = x_base + x_shift, y_base + y_shift
            W, t = W - x_shift, t - y_shift
        weighted_W, weighted_t = (W, t) if weight is None else (W * weight[:, None], t * weight)
        return SufficientStats(
            n_samples=k, weight=total, x_offset=to_host(x_offset), y_offset=float(to_host(y_offset)),
            xx=to_host(xp.matmul(weighted_W.T, W)), xy=to_host(xp.matmul(weighted_W.T, t)),
            yy=float(to_host(xp.vecdot(weighted_t, t))), **frame)

    def max_abs(self, *, with_target: bool = False) -> np.ndarray:
        """Largest magnitude of each column (NaN where one holds NaN), then the target's with ``with_target``: one pass."""
        xp = self._xp
        parts = [to_host(xp.max(xp.abs(X), axis=0)) for _, X, _, _ in self._chunks()]
        with np.errstate(invalid="ignore"):
            largest = np.max(parts, axis=0)
        return np.append(largest, float(to_host(xp.max(xp.abs(self._y))))) if with_target else largest

    def first_row(self) -> np.ndarray:
        """``[x_0, y_0]`` on the host (d + 1 numbers)."""
        return np.append(to_host(self._X[0, :]), float(to_host(self._y[0])))

    def total_weight(self) -> float:
        """``Σw`` (the number of rows when unweighted)."""
        return float(self.n_samples) if self._weight is None else float(to_host(self._xp.sum(self._weight)))

    def not_finite(self) -> DataError:
        """The error naming the first NaN or infinity of X (only looked for once a pass has seen one)."""
        xp = self._xp
        for start, X, _, _ in self._chunks():
            bad = ~xp.isfinite(X)
            if bool(xp.any(bad)):
                row = self._first(xp.any(bad, axis=1))
                column = self._first(bad[row, :])
                return non_finite("X", float(to_host(X[row, column])), self._first_row + start + row, column)
        return DataError("Input X contains NaN or infinity")

    def r2_score(self, coef: np.ndarray, intercept: float) -> float:
        """``1 − Σw(y − Xc − b)²/Σw(y − ȳ)²`` on the device (scikit-learn's R²: 1 where y is constant and
        fitted exactly, 0 where it is constant and not)."""
        xp = self._xp
        residual_squares, _, _ = self.residual_pass(np.asarray(coef, dtype=np.float64), float(intercept), 1.0)
        self.passes -= 1  # a score, not a pass of a fit
        weight = self._weight
        total = self.total_weight()
        mean = (xp.sum(self._y) if weight is None else xp.vecdot(weight, self._y)) / total
        centred = self._y - mean
        spread = float(to_host(xp.vecdot(centred, centred) if weight is None else xp.vecdot(weight * centred, centred)))
        if spread == 0:
            return 1.0 if residual_squares == 0 else 0.0
        return 1.0 - residual_squares / spread

    # -- the QR factor ---------------------------------------------------------------------------

    def triangular_factor(self, frame) -> np.ndarray:
        """R (p, p), ``RᵀR = Zᵀ diag(w/Σw) Z`` with Z the rows in ``frame``'s coordinates (a ones column
        first with an intercept): a QR of each chunk on the device, its R (at most p × p) to the host,
        and a QR of those stacked (a tall-skinny QR: backward stable as one QR of all the rows)."""
        xp = self._xp
        scale, shift, unit = (self._device_vector(v) for v in (frame.x_scale, frame.x_shift, frame.x_unit))
        total = self.total_weight()
        factors = []
        for _, X, _, weight in self._chunks():
            Z = (X / scale - shift) / unit
            if frame.fit_intercept:
                Z = xp.concat([xp.ones((Z.shape[0], 1), dtype=self.dtype, device=self.device), Z], axis=1)
            share = (weight / total) if weight is not None else xp.full((Z.shape[0],), 1.0 / total, dtype=self.dtype,
                                                                          device=self.device)
            factors.append(to_host(_r_factor(xp, Z * xp.sqrt(share)[:, None])))
        R = np.linalg.qr(np.vstack(factors), mode="r")
        p = R.shape[1]
        return R if R.shape[0] == p else np.vstack([R, np.zeros((p - R.shape[0], p))])

    # -- passes --------------------------------------------------------------------------------

    def reduce_rows(self, kernel, combine):  # a kernel with on_device, and how its results merge
        """``kernel.on_device(xp, X, y, weight)`` on every chunk of rows, on the device, its (host)
        results folded pairwise with ``combine``: one pass. Only kernels that can run where the rows
        are (an ``on_device`` method, as :class:`~gradfit.numerics.residuals.ResidualKernel`) are taken."""
        on_device = getattr(kernel, "on_device", None)
        if on_device is None:
            raise TypeError(f"{kernel!r} runs on numpy rows only; rows on {self.device} are read by kernels "
                            f"with an on_device method")
        tree = TreeReduce(combine)
        for _, X, y, weight in self._chunks():
            tree.add(on_device(self._xp, X, y, weight))
        return tree.result()

    def columns(self, *, means: bool = True, squares: bool = True) -> ColumnMoments:
        """Weighted column means and variances (one pass, counted in :attr:`passes`), see
        :class:`~gradfit.sources.passes.ColumnMoments`; columns beyond 2^±400 summed again, scaled."""
        self.passes += 1
        magnitude = self.max_abs(with_target=True)
        if not np.all(np.isfinite(magnitude)):
            raise self.not_finite()
        scale = safe_scale(magnitude)
        # About the first row: sums of values near it keep the spread that Σv² − (Σv)²/W would cancel
        # (y = 1e9 + noise has all of its variance in the last bits of Σy²).
        origin = self.first_row() / scale
        sums, square_sums, _, _ = self.moments(scale, origin)
        moments = ColumnMoments.from_sums(self.n_samples, self.total_weight(), sums, square_sums, scale)
        d = self.n_features
        return replace(moments, x_mean=moments.x_mean + origin[:d], y_mean=moments.y_mean + float(origin[d]))

    def moments(self, scale: np.ndarray, origin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``Σw·v``, ``Σw·v²`` and ``max |v − origin|`` of the columns ``v`` of ``[X, y] / scale − origin``
        (features, then the target; origin 0 by default), and the number of rows: one pass."""
        xp = self._xp
        divisor = self._device_vector(scale)
        shift = None if origin is None else self._device_vector(origin)
        sums = squares = None
        largest = []
        with np.errstate(over="ignore", invalid="ignore"):
            for _, X, y, weight in self._chunks():
                table = xp.concat([X, xp.reshape(y, (-1, 1))], axis=1) / divisor
                if shift is not None:
                    table = table - shift
                weighted = table if weight is None else table * weight[:, None]
                chunk_sums, chunk_squares = xp.sum(weighted, axis=0), xp.sum(weighted * table, axis=0)
                sums = chunk_sums if sums is None else sums + chunk_sums
                squares = chunk_squares if squares is None else squares + chunk_squares
                largest.append(to_host(xp.max(xp.abs(table), axis=0)))
            return to_host(sums), to_host(squares), np.max(largest, axis=0), self.n_samples

    def residual_pass(self, v: np.ndarray, a: float, beta: float) -> tuple[float, np.ndarray, float]:
        """One fused pass on the device: with ``r = Xv + a − βy`` and row weights ``w`` (1 without),
        ``(Σ w r², Xᵀ(w∘r), Σ w r)``; the sums stay on the device until the pass ends."""
        self.passes += 1
        xp = self._xp
        v_device = self._device_vector(v)
        gradient = sum_r2 = sum_r = None
        for _, X, y, weight in self._chunks():
            residual = xp.matmul(X, v_device) + a - beta * y
            weighted = residual if weight is None else weight * residual
            parts = (xp.matmul(weighted, X), xp.vecdot(weighted, residual), xp.sum(weighted))
            if gradient is None:
                gradient, sum_r2, sum_r = parts
            else:
                gradient, sum_r2, sum_r = gradient + parts[0], sum_r2 + parts[1], sum_r + parts[2]
        return float(to_host(sum_r2)), to_host(gradient), float(to_host(sum_r))


def _r_factor(xp, rows):
    """The triangular factor of ``rows`` (k, p) by the standard's reduced QR (its Q, chunk-sized, is
    dropped at once: array-api-compat wraps every library's ``mode="r"`` in a (Q, R) pair it does not fill)."""
    return xp.linalg.qr(rows, mode="reduced")[1]


def predict_on_device(X, coef: np.ndarray, intercept: float):
    """``X @ coef + intercept`` where X lives, in X's namespace and on its device: float64 where the device
    has it, whatever X's dtype (as gradfit predicts numpy input; float32 rows are taken to float64 chunk by
    chunk, so their products are exact), else float32. Raises DataError for a shape that does not fit."""
    xp = array_namespace(X)
    if getattr(X, "ndim", None) != 2:
        raise DataError(f"X must be 2-D (n_samples, n_features); got shape {tuple(X.shape)}")
    if not xp.isdtype(X.dtype, _NUMERIC_KINDS):
        raise DataError(f"X has dtype {X.dtype}: least squares needs real numbers (float, integer or bool)")
    if X.shape[0] == 0:
        raise DataError("X has 0 rows: there is nothing to predict")
    if X.shape[1] != coef.shape[0]:
        raise DataError(f"X has {X.shape[1]} features, but LinearRegression is expecting {coef.shape[0]} features as input.")
    device = _device(X)
    dtype = xp.float64 if has_float64(xp, device) else xp.float32
    weights = xp.asarray(np.asarray(coef, dtype=np.float64), dtype=dtype, device=device)
    if X.dtype == dtype:
        return _finite_predictions(xp, X, xp.matmul(X, weights) + intercept)
    step = max(1, (CHUNK_BYTES if _on_cpu(device) else DEVICE_CHUNK_BYTES) // (8 * max(1, X.shape[1])))
    n = X.shape[0]
    parts = [xp.matmul(xp.astype(X[start : min(start + step, n), :], dtype), weights) for start in range(0, n, step)]
    return _finite_predictions(xp, X, xp.concat(parts) + intercept)


def _finite_predictions(xp, X, predictions):
    """``predictions``, or the DataError naming X's first NaN/inf where one is not finite (NaN and inf
    propagate into the products, so finite rows are never scanned twice)."""
    if bool(xp.all(xp.isfinite(predictions))):
        return predictions
    bad = ~xp.isfinite(X)
    if bool(xp.any(bad)):
        row = int(to_host(xp.nonzero(xp.any(bad, axis=1))[0][0]))
        column = int(to_host(xp.nonzero(bad[row, :])[0][0]))
        raise non_finite("X", float(to_host(X[row, column])), row, column)
    return predictions  # finite X whose products overflow: inf, as numpy gives


def placed_as(X, *arrays):
    """Host results (numpy arrays or floats) as arrays of X's namespace on X's device, float64 where the
    device has it (the answer is good to float64, whatever X's dtype; integer arrays keep their dtype),
    floats as 0-d arrays: the fitted attributes scikit-learn keeps under ``array_api_dispatch``."""
    xp = array_namespace(X)
    device = _device(X)
    floating = xp.float64 if has_float64(xp, device) else xp.float32
    placed = []
    for value in arrays:
        value = np.asarray(value)
        dtype = floating if np.issubdtype(value.dtype, np.floating) else None
        placed.append(xp.asarray(value, dtype=dtype, device=device) if dtype is not None else xp.asarray(value, device=device))
    return placed[0] if len(placed) == 1 else tuple(placed)
