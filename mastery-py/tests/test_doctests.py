"""The examples in the docstrings run (doctest): the Python modules' and the native ones (Rust
``///`` comments of ``mastery._mastery``). ``mastery.spark``'s examples need a SparkSession and
run in test_spark.py."""

import doctest
import importlib
import inspect

import pytest

import mastery

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
MODULES = ["mastery", "mastery.tables", "mastery.pipelines", "mastery.bkt", "mastery.pybkt", "mastery.risk",
           "mastery.fairness", "mastery.views", "mastery.store", "mastery.engine"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch, tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("polars")
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.failed == 0
    assert result.attempted > 0


def native_objects():
    """The public names of ``mastery`` defined in Rust (functions and classes of ``mastery._mastery``,
    or Python subclasses of its classes, as ``Engine``)."""
    def native(name):
        public, own = getattr(mastery, name), getattr(mastery._mastery, name, None)
        return own is not None and (own is public or (inspect.isclass(public) and issubclass(public, own)))
    return [n for n in mastery.__all__ if not n.startswith("_") and native(n)]


@pytest.mark.parametrize("name", native_objects())
def test_native_examples(name, monkeypatch, tmp_path):
    """Docstrings of the native functions and classes (written in Rust) run too."""
    monkeypatch.chdir(tmp_path)
    obj = getattr(mastery._mastery, name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(obj, name, module=False, globs={}):
        runner.run(test)
    assert runner.tries > 0, f"{name} has no example"
    assert runner.failures == 0


def test_the_native_surface_is_covered():
    names = set(native_objects())
    assert {"Framework", "NativeRiskModel", "Engine", "MasteryError", "calculate", "canonicalize",
            "risk_band", "bake_png"} <= names
