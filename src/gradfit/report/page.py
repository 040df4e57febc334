"""The page around the report's sections: its style sheet, its Content-Security-Policy (nothing but inline
styles and ``data:`` images), the :class:`Section` each part is, the document that assembles them, and
:func:`write_report`; with the small formatting helpers every part uses (escaping, numbers, percentages,
badges).
"""

from __future__ import annotations

import base64
import html as html_escape
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gradfit._version import __version__
from gradfit.fileio import write_atomically
from gradfit.learning.results import SAME_RATE

__all__ = ["REPORT_NAME", "Section", "write_report"]

#: File name of the report inside the output folder.
REPORT_NAME = "report.html"

#: Relative errors from this size up read better as percentages (0.1%, 31%) than as numbers (0.001).
RELATIVE_AS_PERCENT = 1e-3

#: Allow nothing but inline styles and data: images, so that the page cannot reach the network.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# Text wraps, breaking a long unspaced word (a file or column name) where it must; numbers in tables
# never break, and a table too wide for the page scrolls inside its own box (.scroll). So no box is
# ever wider than the page, at any window width.
STYLE = """
:root { color-scheme: light; }
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1d1f23;
       font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; overflow-wrap: anywhere; }
h1 { font-size: 1.9em; margin: 0.3em 0 0.2em; }
h2 { font-size: 1.35em; margin: 1.8em 0 0.4em; padding-top: 0.6em; border-top: 1px solid #dde1e6; }
p { margin: 0.5em 0; }
.lead { font-size: 1.08em; color: #33373d; }
.meta { color: #5f6670; font-size: 0.9em; }
nav ol { columns: 2; margin: 0.4em 0; padding-left: 1.4em; }
nav a, a { color: #0b5cad; }
figure { margin: 0.8em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e3e6ea; border-radius: 4px; }
figcaption { color: #4a5058; font-size: 0.92em; margin-top: 0.3em; }
.badge { display: inline-block; padding: 0.15em 0.6em; border-radius: 0.8em; font-weight: 600; }
.good { background: #dff3e4; color: #14532d; }
.bad { background: #fde2e1; color: #7f1d1d; }
.glance { background: #f0f6ff; border-left: 4px solid #0b5cad; padding: 0.6em 1em; margin: 1em 0; }
pre, code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #e3e6ea; border-radius: 4px; padding: 0.8em 1em; font-size: 14px;
      line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere; overflow-x: auto; max-width: 100%; }
code { font-size: 0.9em; background: #f6f8fa; border: 1px solid #e3e6ea; border-radius: 3px; padding: 0.05em 0.3em;
       overflow-wrap: anywhere; }
.scroll { max-width: 100%; overflow-x: auto; margin: 0.6em 0; }
table { border-collapse: collapse; font-size: 0.95em; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
caption { caption-side: top; text-align: left; padding: 0.5em 0.8em; font-weight: 600; }
caption.good, caption.bad { border-radius: 4px 4px 0 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #e3e6ea; text-align: right; }
td { white-space: nowrap; }
td:first-child { white-space: normal; overflow-wrap: anywhere; min-width: 6em; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f6f8fa; }
th.text, td.text { text-align: left; white-space: normal; overflow-wrap: break-word; }
caption { overflow-wrap: break-word; }
td.diverged { color: #b91c1c; font-weight: 600; }
td.max_iter, td.floor { color: #92400e; }
td.converged { color: #166534; }
td.exact { background: #f6faf7; }
footer { margin-top: 3em; color: #6b7280; font-size: 0.85em; }
@media (max-width: 900px) {
  main { padding: 16px 14px 40px; }
  th, td { padding: 0.3em 0.45em; }
}
"""


@dataclass(frozen=True)
class Section:
    """One part of the report.

    Attributes
    ----------
    anchor : str
        Id of the section (for the table of contents).
    title : str
    text : str
        Plain-language explanation, as HTML (already escaped).
    image : bytes or None
        A PNG or GIF to embed.
    mime : str
        ``image/png`` or ``image/gif``.
    alt : str
        Text alternative of the image.
    body : str
        Further HTML after the image (a table, a verdict).
    """

    anchor: str
    title: str
    text: str
    image: bytes | None = None
    mime: str = "image/png"
    alt: str = ""
    body: str = ""


def write_report(document: str, out: str | Path, *, name: str = REPORT_NAME) -> Path:
    """Write ``document`` to ``out / name`` (folders created; an existing report there is replaced, and
    only once the new one is complete: see :func:`gradfit.fileio.write_atomically`).

    Returns
    -------
    Path
        The file written.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_atomically(path, lambda handle: handle.write(document), text=True)
    return path


def _document(title: str, intro: str, glance: str, sections: list[Section], *, explorer: str | None = None) -> str:
    contents = "".join(f'<li><a href="#{section.anchor}">{_escape(section.title)}</a></li>' for section in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_escape(title)}</title><style>{STYLE}</style></head>",
        "<body><main>",
        f"<h1>{_escape(title)}</h1>",
        f'<p class="lead">{intro}</p>',
        f'<div class="glance"><strong>At a glance.</strong> {glance}</div>',
        (f'<p class="explore"><strong>Drive it yourself.</strong> <a href="{_escape(explorer)}">The explorer</a> '
         "(a page written beside this one) runs the same gradient descent in your browser: set the learning rate, "
         "the momentum and the start point, step through the updates and watch the path, the line and the cost.</p>"
         if explorer else ""),
        f"<nav><ol>{contents}</ol></nav>",
    ]
    for section in sections:
        parts.append(f'<section id="{section.anchor}"><h2>{_escape(section.title)}</h2><p>{section.text}</p>')
        if section.image is not None:
            data = base64.b64encode(section.image).decode("ascii")
            parts.append(f'<figure><img src="data:{section.mime};base64,{data}" alt="{_escape(section.alt)}">'
                         f"<figcaption>{_escape(section.alt)}.</figcaption></figure>")
        parts.append(section.body)
        parts.append("</section>")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"<footer>Written by gradfit {_escape(__version__)} on {stamp}. "
                 "Self-contained: every image is embedded in this file.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.2g}%" if fraction < 0.1 else f"{100 * fraction:,.0f}%"


def _relative(error: float) -> str:
    """A relative error in words: ``31%`` for a large one, ``9.9e-07`` for a small one; empty when unknown."""
    if not math.isfinite(error):
        return ""
    return _percent(error) if error >= RELATIVE_AS_PERCENT else f"{error:.2g}"


def _alpha_text(rate: float, auto: float) -> str:
    return f"1/L = {rate:.3g}" if math.isclose(rate, auto, rel_tol=SAME_RATE) else f"{rate:.3g}"


def _badge(converged: bool) -> str:
    return ('<span class="badge good">Converged</span>' if converged
            else '<span class="badge bad">Did not converge</span>')


def _number(value, digits: int = 4) -> str:  # float or the summary's text for non-finite
    if isinstance(value, str):
        return _escape(value)
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}"


def _quote(text: str) -> str:
    return f"“{_escape(text)}”"


def _escape(text: str) -> str:
    return html_escape.escape(str(text), quote=True)
