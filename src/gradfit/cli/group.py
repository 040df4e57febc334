"""The ``gradfit`` typer app: its exit codes, the group's own options (``--version``) and the help that
reads well for the group and every command. The commands register themselves on :data:`app`
(:mod:`gradfit.cli` imports them, in the order ``--help`` lists them)."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

#: The exit codes (see :mod:`gradfit.cli`).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_CONVERGED = 3
EXIT_INTERRUPTED = 130


# --- help that reads well ------------------------------------------------------------------------

#: What each option's value is called in ``--help``: one name per option, whichever command has it,
#: since an option means the same under every command (a test checks that each option is here).
#: Flags take no value and show none.
OPTION_VALUES = {
    "--target": "COLUMN",
    "--features": "NAMES",
    "--feature": "COLUMN",
    "--n-features": "N",
    "--solver": "NAME",
    "--learning-rate": "RATE",
    "--learning-rates": "RATES",
    "--max-iter": "N",
    "--tol": "TOL",
    "--alpha": "A",
    "--l1-ratio": "R",
    "--format": "FORMAT",
    "--delimiter": "CHAR",
    "--save": "FILE",
    "--update": "MODEL",
    "--checkpoint": "FILE",
    "--checkpoint-every": "EVERY",
    "--resume": "FILE",
    "--output": "FILE",
    "--out": "DIR",
    "--seed": "S",
    "--surface": "A,B",
    "--frames": "N",
}


def _flowing(text: str | None) -> str | None:
    """A docstring's paragraphs as single lines, so that ``--help`` wraps them to the screen rather
    than keeping the source's line breaks mid-sentence (paragraphs starting with ``\\b`` are kept)."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        paragraph if paragraph.startswith("\b") else " ".join(line.strip() for line in paragraph.splitlines())
        for paragraph in paragraphs
    )


def _describe_value(param) -> None:  # a typer/click Parameter
    """Name an option's value in ``--help`` as :data:`OPTION_VALUES` has it; a flag shows no value
    (typer would show ``<bool>``). A choice named by a short word gets its choices listed in its help."""
    if getattr(param, "param_type_name", None) != "option":
        return
    if getattr(param, "is_flag", False) and not getattr(param, "count", False):
        param.metavar = ""
        return
    name = next((OPTION_VALUES[opt] for opt in param.opts if opt in OPTION_VALUES), None)
    if name is None or param.metavar == name:
        return
    param.metavar = name
    descriptor = getattr(param, "type_descriptor", None) or getattr(param, "type", None)
    choices = [getattr(choice, "value", choice) for choice in getattr(descriptor, "choices", None) or ()]
    help_text = param.help or ""
    if choices and not all(f"'{choice}'" in help_text for choice in choices):
        param.help = f"{help_text} One of: {', '.join(map(str, choices))}.".strip()


class _ReadableHelp:
    """What ``--help`` shows, for the group and every command: flowing paragraphs, values named as in
    :data:`OPTION_VALUES`, flags without a type, and arguments in the usage line as ``DATA`` (required)
    or ``[CSV]`` (optional)."""

    def __init__(self, *args, **kwargs) -> None:  # as typer's
        kwargs["help"] = _flowing(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:  # the help option included, which typer makes on demand
            _describe_value(param)
        return params

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", None) != "argument":
                continue
            # typer writes a required argument as {DATA}, and brackets a metavar again: [[CSV]].
            name = (param.metavar or param.name.upper()).strip("[]{}")
            mine = name if param.required else f"[{name}]"
            theirs = param.get_usage_pieces(ctx)
            if theirs and theirs[0] in pieces:
                pieces[pieces.index(theirs[0])] = mine
        return pieces


class _Command(_ReadableHelp, typer.core.TyperCommand):
    """A command whose ``--help`` reads well (see :class:`_ReadableHelp`)."""


class _Group(_ReadableHelp, typer.core.TyperGroup):
    """The ``gradfit`` group, with the same help as its commands."""


app = typer.Typer(
    cls=_Group,
    name="gradfit",
    help="Linear regression by gradient descent: the article's example, and fitting your own CSV, Parquet or "
    "svmlight files.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"gradfit {version('gradfit')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print gradfit's version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Options of the gradfit command itself, before the command's name."""
