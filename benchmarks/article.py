"""The article's 1000 updates: gradfit against the article's own numpy loop, in the same process.

Target (issue 2): gradfit's fit takes at most 0.2× the loop's time, at identical θ (1e-10 relative).

    python benchmarks/article.py [--repeats 31]

Prints the median and interquartile range of each, and their ratio. Both are timed end to end from
the same in-memory arrays: the loop builds its design with a ones column, gradfit validates its input,
gathers XᵀX/m and Xᵀy/m, and runs the same updates.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from gradfit import LinearRegression
from gradfit.article import article_loop
from gradfit.datasets import make_article_data

TARGET_RATIO = 0.2


def gradfit_fit(X: np.ndarray, y: np.ndarray):
    model = LinearRegression(solver="gd", learning_rate=0.01, max_iter=1000, tol=0, standardize=False)
    model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    return np.array([model.intercept_, model.coef_[0]]), model.loss_history_


def timed(function, *args, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return times


def describe(times: list[float]) -> str:
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    return f"median {median * 1e3:8.3f} ms   (IQR {q1 * 1e3:.3f}–{q3 * 1e3:.3f} ms)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31, help="timed runs of each (medians are reported)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the article's data")
    args = parser.parse_args()

    X, y = make_article_data(seed=args.seed)
    theta_loop, cost_loop = article_loop(X, y)
    theta_gradfit, cost_gradfit = gradfit_fit(X, y)
    theta_error = float(np.max(np.abs(theta_gradfit - theta_loop) / np.abs(theta_loop)))
    cost_error = float(np.max(np.abs(cost_gradfit - cost_loop) / cost_loop))

    # Interleave warm-ups, then time each in turn.
    timed(article_loop, X, y, repeats=3)
    timed(gradfit_fit, X, y, repeats=3)
    loop_times = timed(article_loop, X, y, repeats=args.repeats)
    gradfit_times = timed(gradfit_fit, X, y, repeats=args.repeats)
    ratio = statistics.median(gradfit_times) / statistics.median(loop_times)

    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()} numpy {np.__version__}")
    print(f"article loop  : {describe(loop_times)}")
    print(f"gradfit fit   : {describe(gradfit_times)}")
    print(f"ratio gradfit/loop (medians): {ratio:.3f}   target ≤ {TARGET_RATIO}   {'MET' if ratio <= TARGET_RATIO else 'MISSED'}")
    print(f"θ loop    = {theta_loop}   θ gradfit = {theta_gradfit}")
    print(f"max relative difference: θ {theta_error:.2e}, cost record {cost_error:.2e}  (required ≤ 1e-10)")
    identical = theta_error <= 1e-10 and cost_error <= 1e-10
    return 0 if identical and ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
