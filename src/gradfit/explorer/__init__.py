"""The explorer: one offline web page where a learner drives gradient descent on a straight-line fit.

The page carries the exact statistics of the data (``G``, ``b``, ``c`` and the :class:`~gradfit.objective.Frame`,
in the raw and the standardized coordinates) and at most :data:`MAX_POINTS` points for the scatter. Its
script runs gradfit's own update rules on them (gradient descent, heavy ball, Nesterov with adaptive
restart), so the iterates it shows are the library's. Everything is inline (script, style, drawings), a
Content-Security-Policy allows nothing else, and the file opens from ``file://``.

:func:`article_explorer` builds it for the article's data, :func:`explorer_page` for one feature of any
data; :func:`write_explorer` writes it.

Examples
--------
>>> from gradfit.explorer import article_explorer
>>> html = article_explorer(seed=0)
>>> html.startswith("<!DOCTYPE html>") and len(html.encode()) < 300_000
True
"""

from gradfit.explorer.page import EXPLORER_NAME, MAX_POINTS, article_explorer, csv_explorer, explorer_page, write_explorer

__all__ = ["EXPLORER_NAME", "MAX_POINTS", "article_explorer", "csv_explorer", "explorer_page", "write_explorer"]
