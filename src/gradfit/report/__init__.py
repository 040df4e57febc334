"""One self-contained HTML report of a gradient-descent fit: what it did, and why it works.

The report has the data and the fit, the cost per update, the cost "bowl" with the path of the
iterates, a learning-rate sweep, an animation of the line moving, the convergence verdict and the
coefficient table, each with a few plain sentences. Every image is embedded as a ``data:`` URI
(PNG, and the GIF of the animation) and the page loads nothing else: no scripts, fonts, style
sheets or links to the network (a Content-Security-Policy says so to the browser, too).

:func:`article_report` builds it for the article's run, :func:`data_report` for a model fitted to
the user's data; :func:`write_report` writes it. The figures come from :mod:`gradfit.plots`.
The report never refits the user's model. It runs the sweep (that is its purpose), and for the
article it replays the run once with ``record_path=True`` when the run did not keep its path.

Examples
--------
>>> from gradfit.article import run_article
>>> from gradfit.report import article_report, write_report
>>> html = article_report(run_article(seed=0, iterations=100), frames=4)
>>> html.startswith("<!DOCTYPE html>")
True
"""

from gradfit.report.article import article_report
from gradfit.report.data import data_report
from gradfit.report.page import REPORT_NAME, Section, write_report
from gradfit.report.sections import REPORT_FRAMES as REPORT_FRAMES  # the animation's default frames: importable here, not in __all__

__all__ = ["REPORT_NAME", "Section", "article_report", "data_report", "write_report"]
