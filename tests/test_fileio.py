"""The one file writer (``gradfit.fileio``): a file appears whole or not at all, and without ``replace``
nothing is replaced, even a file that appeared while it was written."""

from __future__ import annotations

import pytest

from gradfit.fileio import write_atomically


def test_a_failure_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")

    def fail(handle) -> None:
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, fail)
    assert path.read_text(encoding="utf-8") == "old" and [item.name for item in tmp_path.iterdir()] == ["model.json"]
    assert write_atomically(path, lambda handle: handle.write("new\n"), text=True) == 4
    assert path.read_bytes() == b"new\n" and [item.name for item in tmp_path.iterdir()] == ["model.json"]


def test_without_replace_a_file_that_appeared_meanwhile_is_kept(tmp_path):
    path = tmp_path / "out.csv"

    def write(handle) -> None:
        path.write_text("theirs", encoding="utf-8")  # another process, while this one writes
        handle.write(b"mine")

    with pytest.raises(FileExistsError, match="already exists; ask first"):
        write_atomically(path, write, replace=False, refusal="already exists; ask first")
    assert path.read_text(encoding="utf-8") == "theirs" and [item.name for item in tmp_path.iterdir()] == ["out.csv"]
