"""The examples in the Python modules' docstrings run (doctest)."""

import doctest
import importlib

import pytest

MODULES = ["mastery.tables", "mastery.pipelines", "mastery.bkt", "mastery.risk", "mastery.store"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch, tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("polars")
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0


def test_native_class_examples():
    """Docstrings of the native classes (written in Rust) run too."""
    import mastery

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for cls in (mastery.Engine,):
        for test in finder.find(cls, cls.__name__, module=False):
            runner.run(test)
    assert runner.tries > 0
    assert runner.failures == 0
