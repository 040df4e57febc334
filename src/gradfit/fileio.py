"""Writing a file without losing what the user had: the one way gradfit writes its files (models,
predictions, reports).

:func:`write_atomically` writes next to the file's path under a hidden temporary name, flushes it to
disk, then moves it into place: an error, a crash or Ctrl-C half-way leaves the old file (or none),
never a partial one. Without ``replace`` it replaces nothing, not even a file that appeared while it
was writing.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

__all__ = ["write_atomically", "check_parent_folder", "EXISTS"]

T = TypeVar("T")

#: What a refusal to replace an existing file says, unless the caller says how to allow it.
EXISTS = "already exists"


def write_atomically(path: Path, write: Callable[[IO], T], *, text: bool = False, replace: bool = True,
                     refusal: str = EXISTS) -> T:
    """Write ``path`` with ``write(handle)`` and return what it returns; ``path`` appears only once complete.

    Parameters
    ----------
    path : Path
        The file to write; its folder must exist.
    write : callable
        Writes the content to the open handle: bytes, or with ``text`` UTF-8 text (newlines written as
        given).
    text : bool, default=False
        Open the handle as text rather than bytes.
    replace : bool, default=True
        Replace an existing ``path``. False: refuse with :class:`FileExistsError` (``refusal`` its
        message) if ``path`` exists when the file is moved into place, whoever made it.
    refusal : str, default=EXISTS
        The message of that refusal (the command line says how to allow it: ``--force``).
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # os.open applies the umask, so the file gets the permissions a plain open() would give.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        mode = {"mode": "w", "encoding": "utf-8", "newline": ""} if text else {"mode": "wb"}
        with os.fdopen(descriptor, **mode) as handle:
            result = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        _move_into_place(temporary, path, replace=replace, refusal=refusal)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return result


def _move_into_place(partial: Path, output: Path, *, replace: bool, refusal: str) -> None:
    if replace:
        os.replace(partial, output)
        return
    try:
        os.link(partial, output)  # fails if output exists, whoever made it
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, refusal, str(output)) from None
    except OSError:  # no hard links on this file system
        if output.exists():
            raise FileExistsError(errno.EEXIST, refusal, str(output)) from None
        os.replace(partial, output)
        return
    partial.unlink()


def check_parent_folder(path: Path) -> None:
    """Refuse a ``path`` whose folder does not exist (else the error would name the temporary file)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {path.parent} does not exist; create it first", str(path))
