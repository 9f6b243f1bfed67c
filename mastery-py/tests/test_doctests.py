"""The examples in the Python modules' docstrings run (doctest)."""

import doctest
import importlib

import pytest

MODULES = ["mastery.tables", "mastery.pipelines", "mastery.bkt", "mastery.risk"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch, tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("polars")
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
