"""The svmlight reader as a library function (``gradfit.sources.svmlight``): its advice in Python's syntax;
the command line's spelling of the same messages is checked in ``test_cli_sparse.py``."""

from __future__ import annotations

import pytest

from gradfit.errors import DataError
from gradfit.sources.svmlight import is_svmlight_name, read_svmlight


def test_advice_is_in_python_syntax_unless_the_caller_spells_it(tmp_path):
    path = tmp_path / "train.svm"
    path.write_text("1 0:1 4:2\n2 1:3\n", encoding="utf-8")
    data = read_svmlight(path, n_features=None)
    assert data.X.shape == (2, 5) and data.y.tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match=r"more than n_features=3; give n_features=5 or more$"):
        read_svmlight(path, n_features=3)
    with pytest.raises(DataError, match=r"more than -w 3; give -w 5 or more$"):
        read_svmlight(path, n_features=3, spell_width=lambda width: f"-w {width}")
    assert is_svmlight_name(path.with_suffix(".LIBSVM.gz")) and not is_svmlight_name(path.with_suffix(".csv"))
