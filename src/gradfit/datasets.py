"""The article's data, and other problems with known answers."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["make_article_data", "ARTICLE_SLOPE", "ARTICLE_INTERCEPT", "ARTICLE_START"]

ARTICLE_SLOPE = 2.0
ARTICLE_INTERCEPT = 1.0

#: The article's starting point, (intercept, slope).
ARTICLE_START = (1.0, 1.0)


def make_article_data(
    n: int = 100, noise: float = 0.2, seed: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The article's data: ``x ~ U[0, 1)``, ``y = 2x + 1 + U[-noise, noise]``.

    Parameters
    ----------
    n : int, default=100
    noise : float, default=0.2
        Half-width of the uniform noise.
    seed : int or None
        Seed of ``numpy.random.default_rng``; None draws fresh data.

    Returns
    -------
    X : ndarray of shape (n, 1)
    y : ndarray of shape (n,)
    """
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative; got {noise}")
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    y = ARTICLE_SLOPE * x + ARTICLE_INTERCEPT + rng.uniform(-noise, noise, n)
    return x.reshape(n, 1), y
