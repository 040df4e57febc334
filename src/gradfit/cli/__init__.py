"""The ``gradfit`` command: ``demo``, ``fit``, ``predict``, ``sweep``, ``report`` and ``explore``. The only package importing
typer and rich.

The package, in the order a command runs through it: :mod:`~gradfit.cli.group` (the typer app, exit
codes, help that reads well), one module per command (:mod:`~gradfit.cli.demo`, :mod:`~gradfit.cli.fit`,
:mod:`~gradfit.cli.predict`, :mod:`~gradfit.cli.sweep`, :mod:`~gradfit.cli.report`,
:mod:`~gradfit.cli.explore`),
:mod:`~gradfit.cli.options` (shared options, defaults, parsers and checks of option values),
:mod:`~gradfit.cli.output` (tables, JSON, progress bar, predictions) and
:mod:`~gradfit.cli.messages` (errors, warnings and notes in the command line's syntax). Here:
:func:`main` and :func:`run`, which turn every error into one line and an exit code. The commands
import the library inside their bodies, so that ``gradfit --help`` starts without it.

The commands are thin: they parse options, call the library, and print. The library raises typed
errors; :func:`main` turns each into one line on stderr, ``error: <message>``, and an exit code.
Warnings the library raises (a ``ConvergenceWarning``, for example) become one line each,
``warning: <message>``, on stderr. The library's advice is in Python's syntax (``max_iter``,
``solver='exact'``); every line printed goes through :func:`in_command_line_syntax`, which gives it
in the options of the command being run (``--max-iter``, ``--solver exact``).

DATA ``-`` is standard input, copied to a temporary file that the command reads as a file (see
:func:`_data_path`).

Exit codes
----------
0
    Success.
1
    Gradient descent diverged (:class:`gradfit.DivergenceError`; the message names the stable
    bound 2/L), or an unexpected internal error (set ``GRADFIT_DEBUG=1`` to see its traceback).
2
    The command cannot be run as given: a usage error (unknown option, bad value), bad data
    (:class:`gradfit.DataError`), a bad model file (:class:`gradfit.ModelFileError`), a parameter
    the estimator rejects (``ValueError``), or a file that cannot be read or written, including
    refusing to overwrite an existing file without ``--force`` (``OSError``).
3
    ``fit`` stopped short of the least-squares answer: an iterative solver reached ``--max-iter`` or
    its rounding floor before ``--tol``, or ran with ``--tol 0``, or the direct solve could not
    resolve the data to the float64 limit. The coefficients are printed (and saved with ``--save``)
    with ``converged: no``, but they are not the answer; ``--summary`` then prints no inference table.
130
    Interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

import typer

from gradfit.cli import demo, explore, fit, predict, report, sweep  # noqa: F401 - each registers its command, in this order
from gradfit.cli.group import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_NOT_CONVERGED, EXIT_OK, EXIT_USAGE, app
from gradfit.cli.messages import _describe_os_error, _fail, _interrupted, _invocation
from gradfit.errors import DivergenceError, GradfitError

__all__ = ["app", "main", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_NOT_CONVERGED", "EXIT_INTERRUPTED"]

#: Set (to anything but empty or 0) to get the traceback of an unexpected error instead of one line.
DEBUG_VARIABLE = "GRADFIT_DEBUG"


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the command line and exit with its code (see the module docstring)."""
    _install_interrupt_handler()
    sys.exit(run(argv))


def _install_interrupt_handler() -> None:
    """First Ctrl-C: KeyboardInterrupt, so the run stops cleanly. Second: exit 130 at once.

    The driver turns a KeyboardInterrupt into a stopped run rather than an exception, so a caller
    that fits in a loop can go on after it; a second Ctrl-C must still end the command.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    pressed = 0

    def on_interrupt(signum, frame) -> None:
        nonlocal pressed
        pressed += 1
        if pressed > 1:
            os.write(sys.stderr.fileno(), b"interrupted (Ctrl-C)\n")
            os._exit(EXIT_INTERRUPTED)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    _invocation.begin(sys.argv[1:] if argv is None else argv)
    try:
        return _run_command(argv)
    finally:
        _invocation.end()


def _run_command(argv: Sequence[str] | None) -> int:
    try:
        code = app(args=None if argv is None else list(argv), prog_name="gradfit", standalone_mode=False)
    except typer.TyperException as error:  # usage errors: bad or missing options and values
        code = getattr(error, "exit_code", EXIT_USAGE)
        message = error.format_message()
        if not message:  # no arguments at all: the help was shown, as the usage message
            return code
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        return _fail(message + hint, code)
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted()
    except BrokenPipeError:
        # The reader went away (``gradfit predict ... | head``): not an error worth a message.
        _silence_stdout()
        return EXIT_FAILURE
    except DivergenceError as error:
        return _fail(str(error), EXIT_FAILURE)
    except (GradfitError, ValueError) as error:
        return _fail(str(error), EXIT_USAGE)
    except OSError as error:
        return _fail(_describe_os_error(error), EXIT_USAGE)
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        return _fail(
            f"unexpected {type(error).__name__}: {error} (set {DEBUG_VARIABLE}=1 to see the traceback)", EXIT_FAILURE
        )
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C inside a command into this exit code
        return _interrupted()
    return code if isinstance(code, int) else EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at the null device so that the interpreter's final flush does not fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
