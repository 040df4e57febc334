"""Every line a command writes to stderr, in the command line's syntax: errors, warnings and notes,
each one line, with the library's Python advice given in the options of the command being run
(:func:`in_command_line_syntax`); and the invocation those messages speak of (the command's name,
the copy of standard input that they call ``<stdin>``)."""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from gradfit.cli.group import EXIT_INTERRUPTED, OPTION_VALUES, app
from gradfit.errors import DataError

#: DATA that means standard input.
STDIN_NAME = "-"
#: Bytes copied from standard input at a time.
STDIN_CHUNK_BYTES = 1 << 20


def _data_path(path: Path | None) -> Path | None:
    """DATA as given; for ``-``, standard input copied to a temporary file, which the command reads as it
    would the file (it may read it more than once: to name the line of a bad value, or one pass an update)."""
    if path is None or str(path) != STDIN_NAME:
        return path
    return _invocation.copy_stdin()


def _shown_name(path: Path) -> str:
    """The name of DATA in the output: ``<stdin>`` for the copy of standard input."""
    return _invocation.shown_names.get(str(path), path.name or str(path))


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show each warning raised inside as one line, ``warning: <message>``, on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[str] = set()
            for record in caught:
                message = in_command_line_syntax(_one_line(str(record.message)))
                if message not in seen:
                    seen.add(message)
                    print(f"warning: {message}", file=sys.stderr)


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _fail(message: str, code: int) -> int:
    print(f"error: {in_command_line_syntax(_one_line(message))}", file=sys.stderr)
    return code


def _note(message: str) -> None:
    print(f"note: {in_command_line_syntax(message)}", file=sys.stderr)


def _interrupted() -> int:
    print("interrupted (Ctrl-C)", file=sys.stderr)
    return EXIT_INTERRUPTED


def _describe_os_error(error: OSError) -> str:
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason


# --- messages in the command line's syntax --------------------------------------------------------
#
# The library's messages give Python advice (``Increase max_iter ... or use solver='exact'``). The
# command line prints every message through in_command_line_syntax, which rewrites that advice in
# the options of the command being run (``--max-iter``, ``--solver exact``), whatever the sentence:
# it knows the estimator's parameters and the options of every command, not the messages.

#: Estimator parameters that no command sets. A message names them only when Python set them, so
#: they keep Python's syntax (a test checks that every parameter is an option or here).
PYTHON_ONLY_PARAMETERS = frozenset({"fit_intercept", "momentum", "batch_size", "schedule", "random_state",
                                    "record_path", "warm_start"})

#: ``name=value`` in Python's syntax: a quoted string, a list, a number, True, False or None.
_ASSIGNMENT = re.compile(
    r"(?<![\w.\-])(?P<name>[A-Za-z_]\w*)=(?!=)(?P<value>'[^']*'|\"[^\"]*\"|\[[^\]]*\]"
    r"|[-+]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])|[-+]?inf\b|nan\b|True\b|False\b|None\b)"
)
#: A call with no arguments, ``summary()``.
_CALL = re.compile(r"(?<![\w.\-])(?P<name>[A-Za-z_]\w*)\(\)")
#: An option as a message names it, perhaps with its value: ``--max-iter``, ``--solver exact``.
_OPTION_MENTION = re.compile(r"--[a-z][a-z0-9-]*")
_OPTION_PHRASE = re.compile(r"(--[a-z][a-z0-9-]*)(?: +\S+)?")
#: A parenthesis without parentheses inside, with the blank before it.
_PARENTHETICAL = re.compile(r" ?\(([^()]*)\)")


@dataclass(frozen=True)
class _Spelling:
    """How the command line spells a Python parameter: its option, and for a flag the value it sets."""

    option: str
    flag_value: bool | None
    commands: frozenset[str]


def in_command_line_syntax(message: str) -> str:
    """``message`` as the command line says it: Python advice in the options of the command being run.

    ``name=value`` for a parameter that an option sets becomes that option (``solver='exact'`` →
    ``--solver exact``, ``standardize=False`` → ``--no-standardize``, ``drop_missing=True`` →
    ``--drop-missing``); ``summary()`` becomes ``--summary``; a bare parameter name with an
    underscore (``max_iter``) becomes its option (plain words such as "solver" are left alone).
    An option the command being run does not have is given with the command that has it
    (``'gradfit fit --solver exact'``). A parenthesis that only repeats options already named, as
    in a library message that gave both spellings, is dropped; the temporary file standard input
    was copied to is called ``<stdin>``. Parameters no option sets keep Python's syntax.

    Examples
    --------
    >>> in_command_line_syntax("Increase max_iter, or use solver='exact'.")
    'Increase --max-iter, or use --solver exact.'
    >>> in_command_line_syntax("use standardize=True (the default) or pass drop_missing=True (--drop-missing)")
    'use without --no-standardize (the default) or pass --drop-missing'
    """
    for copy, shown in _invocation.shown_names.items():
        message = message.replace(copy, shown)
    spellings = _spellings()

    def spelled(name: str, value: str | None) -> str | None:
        spelling = spellings.get(name)
        if spelling is None:
            return None
        if spelling.flag_value is not None:
            if value is None:
                return _available(spelling, spelling.option)
            if value not in ("True", "False"):
                return None
            given = (value == "True") == spelling.flag_value
            return _available(spelling, spelling.option) if given else f"without {spelling.option}"
        if value is None:
            return _available(spelling, spelling.option)
        if value == "None":
            return f"without {spelling.option}"
        return _available(spelling, f"{spelling.option} {_option_value(spelling.option, value)}")

    def assignment(match: re.Match) -> str:
        return spelled(match["name"], match["value"]) or match[0]

    def call(match: re.Match) -> str:
        spelling = spellings.get(match["name"])
        return match[0] if spelling is None else _available(spelling, spelling.option)

    def bare(match: re.Match) -> str:
        return spelled(match[0], None) or match[0]

    message = _ASSIGNMENT.sub(assignment, message)
    message = _CALL.sub(call, message)
    underscored = sorted((name for name in spellings if "_" in name), key=len, reverse=True)
    if underscored:
        message = re.sub(rf"(?<![\w.\-])(?:{'|'.join(underscored)})(?![\w(=])", bare, message)
    return _without_repeated_options(message)


def _option_value(option: str, value: str) -> str:
    """A Python value as an option's argument: a string unquoted (quoted for the shell where it must
    be), a list as ``a,b``, a placeholder list ``[...]`` as the option's value name."""
    if value[:1] in "'\"":
        text = value[1:-1]
        return shlex.quote(text) if text else "''"
    if value.startswith("["):
        items = [item.strip().strip("'\"") for item in value[1:-1].split(",") if item.strip()]
        if items in ([], ["..."]):
            return OPTION_VALUES.get(option, "...")
        return shlex.quote(",".join(items))
    return value


def _available(spelling: _Spelling, text: str) -> str:
    """``text`` as is where the command being run has the option; else with the command that has it."""
    command = _invocation.command
    if command is None or command not in _spellings_by_command() or command in spelling.commands:
        return text
    other = "fit" if "fit" in spelling.commands else min(spelling.commands)
    return f"'gradfit {other} {text}'"


def _without_repeated_options(message: str) -> str:
    """Drop from each parenthesis of options those the message has already named (and the
    parenthesis if nothing is left): ``pass --drop-missing (--drop-missing)`` → ``pass --drop-missing``."""
    pieces: list[str] = []
    said: set[str] = set()
    position = 0
    for match in _PARENTHETICAL.finditer(message):
        before = message[position:match.start()]
        said.update(_OPTION_MENTION.findall(before))
        pieces.append(before)
        position = match.end()
        parts = [part.strip() for part in re.split(r",|;| or ", match[1])]
        if not all(_OPTION_PHRASE.fullmatch(part) for part in parts):
            said.update(_OPTION_MENTION.findall(match[0]))
            pieces.append(match[0])
            continue
        kept = []
        for part in parts:
            option = _OPTION_MENTION.match(part)[0]
            if option not in said:
                kept.append(part)
                said.add(option)
        if kept:
            pieces.append(f"{' ' if match[0].startswith(' ') else ''}({', '.join(kept)})")
    pieces.append(message[position:])
    return "".join(pieces)


@functools.cache
def _spellings() -> dict[str, _Spelling]:
    """Each Python name an option sets (``max_iter``, ``standardize``, ``drop_missing``, ``format``), with
    that option: from the options of every command, so a new option is known as soon as it exists."""
    found: dict[str, tuple[str, bool | None, set[str]]] = {}
    for command, options in _spellings_by_command().items():
        for option, is_flag in options:
            if is_flag and option.startswith("--no-"):
                name, flag_value = option[len("--no-"):], False
            else:
                name, flag_value = option[2:], (True if is_flag else None)
            entry = found.setdefault(name.replace("-", "_"), (option, flag_value, set()))
            entry[2].add(command)
    return {name: _Spelling(option, flag_value, frozenset(commands))
            for name, (option, flag_value, commands) in found.items()}


@functools.cache
def _spellings_by_command() -> dict[str, tuple[tuple[str, bool], ...]]:
    """Every command's visible long options (``--help`` aside), each with whether it is a flag."""
    group = typer.main.get_command(app)
    table = {}
    for name, command in group.commands.items():
        table[name] = tuple(
            (option, bool(getattr(param, "is_flag", False)))
            for param in command.params
            if getattr(param, "param_type_name", None) == "option" and not getattr(param, "hidden", False)
            for option in param.opts
            if option.startswith("--") and option != "--help"
        )
    return table


class _Invocation:
    """The command being run, as its messages need it: its name (to give advice in its own options),
    and the temporary copy of standard input it read (removed when it ends, called ``<stdin>``)."""

    def __init__(self) -> None:
        self.command: str | None = None
        self.shown_names: dict[str, str] = {}
        self.stdin_copy: Path | None = None

    def begin(self, args: Sequence[str]) -> None:
        # The group has no options that take a value, so its first word that is not an option is the command.
        self.command = next((str(arg) for arg in args if not str(arg).startswith("-")), None)
        self.shown_names = {}
        self.stdin_copy = None

    def copy_stdin(self) -> Path:
        """Standard input, copied to a temporary file (once) that the messages call ``<stdin>``."""
        if self.stdin_copy is None:
            if sys.stdin is None or sys.stdin.isatty():
                raise DataError("DATA is '-', standard input, but nothing is piped into it; pipe the data in, "
                                "as in 'cat data.csv | gradfit fit - --target y', or give a file name")
            with tempfile.NamedTemporaryFile(prefix="gradfit-stdin-", delete=False) as copy:
                self.stdin_copy = Path(copy.name)
                self.shown_names.update({copy.name: "<stdin>", self.stdin_copy.name: "<stdin>"})
                shutil.copyfileobj(getattr(sys.stdin, "buffer", sys.stdin), copy, STDIN_CHUNK_BYTES)
        return self.stdin_copy

    def end(self) -> None:
        if self.stdin_copy is not None:
            self.stdin_copy.unlink(missing_ok=True)
        self.begin([])  # a message translated afterwards (from Python, a test) is of no command


_invocation = _Invocation()
