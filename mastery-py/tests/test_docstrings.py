"""Every public function and class of ``mastery`` (and its submodules) has a docstring with an
``Examples`` doctest (``>>>``); native functions have a signature ``inspect`` can read."""

import importlib
import inspect
import pkgutil

import mastery

# Every public callable must have an example (nothing is pending).
PENDING: set = set()
PENDING_PREFIXES: tuple = ()
# scikit-learn's metadata-routing methods, generated on the estimator class by scikit-learn.
GENERATED = {"set_fit_request", "set_predict_request", "set_score_request"}


def modules():
    found = [mastery]
    for info in pkgutil.iter_modules(mastery.__path__):
        if not info.name.startswith("_"):
            try:
                found.append(importlib.import_module(f"mastery.{info.name}"))
            except ImportError:  # an optional dependency missing (pyspark): its module is skipped
                pass
    return found


def public_callables():
    """``(qualified name, object)`` for every public function, class, method and property."""
    seen, out = set(), []
    for module in modules():
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if not callable(obj) or not str(getattr(obj, "__module__", "")).startswith("mastery"):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            qualified = f"{module.__name__}.{name}"
            out.append((qualified, obj))
            if inspect.isclass(obj):
                for member in dir(obj):
                    if member.startswith("_") or member in GENERATED:
                        continue
                    owner = next((c for c in obj.__mro__ if member in c.__dict__), None)
                    if owner is None or not str(owner.__module__).startswith("mastery"):
                        continue  # inherited from dict, list, Exception, scikit-learn...
                    raw = owner.__dict__[member]
                    if isinstance(raw, property) or callable(getattr(obj, member)):
                        out.append((f"{qualified}.{member}", raw if isinstance(raw, property) else getattr(obj, member)))
    return out


def test_every_public_callable_has_a_docstring_with_an_example():
    missing_doc, missing_example = [], []
    for name, obj in public_callables():
        if name in PENDING or name.startswith(PENDING_PREFIXES):
            continue
        doc = obj.__doc__ if isinstance(obj, property) else inspect.getdoc(obj)
        if not doc or not doc.strip():
            missing_doc.append(name)
        elif ">>>" not in doc:
            missing_example.append(name)
    assert not missing_doc, "no docstring: " + ", ".join(sorted(missing_doc))
    assert not missing_example, "no example (>>>) in the docstring: " + ", ".join(sorted(missing_example))


def test_the_walk_sees_the_whole_surface():
    names = {n for n, _ in public_callables()}
    for expected in ("mastery.Framework.children", "mastery.calculate", "mastery.BKTModel.fit",
                     "mastery.RiskClassifier.predict_proba", "mastery.Heatmap.to_arrow", "mastery.ArrowTable.to_polars"):
        assert expected in names
    assert len(names) > 100


def test_native_functions_have_signatures():
    """pyo3 functions expose ``__text_signature__``: ``inspect.signature`` (and so ``help`` and
    IDEs) show their parameters and defaults; the types are in the ``.pyi`` stub."""
    for name in mastery.__all__:
        obj = getattr(mastery, name)
        if inspect.isbuiltin(obj):
            signature = inspect.signature(obj)
            assert signature.parameters, name
    assert str(inspect.signature(mastery.verify_vc_jwt)) == "(jwt, now, expected_issuer=None, revoked_indexes=None)"
    assert str(inspect.signature(mastery.Framework.children)) == "(self, /, identifier)"


def test_the_stub_types_every_parameter_and_result():
    """The types of the native functions live in ``__init__.pyi`` (checked against the module by
    stubtest in CI): every parameter and every result there is annotated."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(mastery.__file__).with_name("__init__.pyi").read_text(encoding="utf-8"))
    untyped = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            untyped += [f"{node.name}({a.arg})" for a in arguments if a.arg not in ("self", "cls") and a.annotation is None]
            if node.returns is None:
                untyped.append(f"{node.name} -> ?")
    assert not untyped, untyped
