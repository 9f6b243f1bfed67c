"""Hostile arguments to every exported function and method, in this process.

The rule: the interpreter survives, and every exception is ``mastery.MasteryError`` with a known
``.code``, whose message does not echo the argument. Python's own ``TypeError`` is accepted only
for a wrong number of arguments (the sweep always passes the right number, so it never expects
one). Three documented exceptions, which must still not crash the process:

- ``BKTModel`` and ``NativeBktModel``: the BKT surface is maintained separately and is listed,
  not called (its ``data_path`` arguments open files: ``open(0)`` would close stdin);
- ``RiskClassifier``: a scikit-learn estimator, which by that API's contract raises
  ``ValueError``/``TypeError`` for bad parameters and data;
- ``Svg``: a ``str`` subclass (its constructor is ``str()``);
- ``ArrowTable``, ``TqdmProgress``, ``PrintProgress``: pure-Python helpers; their methods are swept
  unbound (any ``self``), where Python's own ``AttributeError`` is the honest answer. Their native
  halves, the ``_mastery`` Arrow entry points, are swept strictly in
  ``test_hostile_sweep_over_the_arrow_entry_points``;
- ``MasteryStore`` and ``DictStore``: the store protocol and its pure-Python reference store are
  listed, not called: the engine calls a store with data it produced; they are swept through
  ``Engine(store=DictStore())``, whose methods are swept like the embedded ``Engine()``'s. So are
  ``AsyncMasteryStore`` and ``AsyncDictStore``, through ``AsyncEngine(AsyncDictStore())``, whose
  coroutines are each run to their end on one event loop.

``Engine(path=...)`` creates directories, so the sweep runs in a temporary directory.

``save``/``load`` of the estimators take file paths and are not called with hostile values.
"""

import asyncio
import functools
import inspect
import json
import math
import pathlib

import numpy as np
import pytest

import mastery

CODES = {"invalid_input", "parse_error", "unsupported_version", "cycle", "not_found", "access_denied",
         "store_error", "internal"}
SECRET = "SECRET-learner-7f3a"
# Python classes (estimators, and str/dict/list subclasses: Svg and the views of mastery.views)
# may raise ordinary exceptions; a native function or a function of the package raises MasteryError.
ESTIMATORS = {"BKTModel", "NativeBktModel", "RiskClassifier", "Svg", "ArrowTable", "TqdmProgress", "PrintProgress",
              "View", "Heatmap", "RingChart", "StreakTracker", "Progress", "ClassSummary", "FairnessReport",
              "EvidenceReport", "IngestResult", "LearnerDashboard", "ClassDashboard"}
LISTED = {"BKTModel", "NativeBktModel", "MasteryStore", "DictStore", "AsyncMasteryStore", "AsyncDictStore"}
PRINCIPAL = {"tenant": "t", "user": "svc", "roles": [{"role": "service"}]}
FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"


class RaisingStr:
    def __str__(self):
        raise RuntimeError(SECRET)

    __repr__ = __str__


class RaisingFloat:
    def __float__(self):
        raise RuntimeError(SECRET)

    def __index__(self):
        raise RuntimeError(SECRET)


def nested_dict(depth):
    root = node = {}
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def nested_list(depth):
    root = node = []
    for _ in range(depth):
        child = []
        node.append(child)
        node = child
    return root


def self_list():
    x = []
    x.append(x)
    return x


def self_dict():
    d = {}
    d["self"] = d
    return d


def hostile_values():
    return [
        None, True, 0, -1, 10**30, -(10**30), math.nan, math.inf, -math.inf, 1e308, "", SECRET,
        "x" * (10 * 1024 * 1024), b"", b"\x00\xff" * 8, [], {}, [SECRET], {SECRET: SECRET},
        nested_dict(10_000), nested_list(10_000), self_list(), self_dict(), RaisingStr(), RaisingFloat(),
        "\ud800", object(), (1, 2), {1: 2}, [math.nan], {"score": math.inf},
    ]


CASE = {
    "CFDocument": {"identifier": "doc", "title": "T"},
    "CFItems": [{"identifier": "a", "fullStatement": "A"}, {"identifier": "b", "fullStatement": "B"}],
    "CFAssociations": [
        {"identifier": "x1", "associationType": "isChildOf", "originNodeURI": {"identifier": "a"},
         "destinationNodeURI": {"identifier": "doc"}},
        {"identifier": "x2", "associationType": "isChildOf", "originNodeURI": {"identifier": "b"},
         "destinationNodeURI": {"identifier": "a"}},
    ],
}
SEED = bytes(range(32))
ACTIVITIES = [{"at": "2026-03-02T20:00:00-05:00", "zone": "America/New_York", "minutes": 10, "points": 1}]
ACHIEVEMENT = {"id": "https://b.example/a", "name": "N", "description": "D", "criteria": "C",
               "valid_days": 365, "rule": {"rule": "mastery", "competency": "a"}}
ISSUER = {"id": mastery.issuer_did(SEED), "name": "Issuer"}


SCALE = mastery.proficiency_scale("canvas")


def fillers():
    """A valid value per parameter name, so a hostile value at any position is reached."""
    framework = mastery.Framework.from_case_json(json.dumps(CASE))
    report = mastery.evaluate_streak(ACTIVITIES, "2026-03-05T12:00:00Z", "America/New_York")
    credential = mastery.achievement_credential("urn:uuid:1", ACHIEVEMENT, ISSUER, "l", "salt",
                                                "2026-03-01T00:00:00Z")
    x, y, names = mastery.synthetic_risk_data(200, 1)
    pngs = sorted((FIXTURES / "data" / "openbadges").rglob("*.png"))
    return {
        "text": json.dumps(CASE), "statements": "[]", "document": credential, "mapping": None,
        "method": {"method": "latest"}, "evidence": [{"score": 3, "assessed_at": "2026-01-01T00:00:00Z"}],
        "mastery_points": 3.0, "order": None, "name": "canvas", "scale": SCALE, "score": 0.5,
        "framework": framework, "standings": {"a": {"value": 0.5, "mastered": False}}, "rules": None,
        "default": None, "scores": {"l": {"a": 3.0}}, "competencies": None, "predicted": [0.2, 0.8],
        "outcomes": [0, 1], "activities": ACTIVITIES, "now": "2026-03-05T12:00:00Z",
        "current_zone": "America/New_York", "policy": None, "report": report, "today": "2026-03-05",
        "weeks": 2, "areas": None, "metric": None, "values": {"l": {"a": 0.5}},
        "states": [], "labels": None, "window": None, "kind": "heatmap",
        "view": mastery.class_heatmap({"l": {"a": 0.5}}, [{"id": "a", "label": "A"}], SCALE),
        "seed": SEED, "credential_id": "urn:uuid:2", "achievement": ACHIEVEMENT, "issuer": ISSUER,
        "learner_identifier": "l", "salt": "s", "issued_at": "2026-03-01T00:00:00Z", "evidence_urls": None,
        "status": None, "credential": credential, "jwt": mastery.sign_vc_jwt(credential, SEED),
        "expected_issuer": None, "revoked_indexes": None, "created": "2026-03-01T00:00:00Z",
        "verification_method": None, "options": {"now": "2026-03-05T00:00:00Z"}, "learner_name": "L",
        "verification_url": "https://v.example/1", "template": None,
        "png": pngs[0].read_bytes() if pngs else b"\x89PNG\r\n\x1a\n", "version": None,
        "svg": "<svg xmlns='http://www.w3.org/2000/svg'></svg>", "identifier": "a", "code": "A",
        "rows": 10, "p": [0.2, 0.8], "y": y, "expected": [0.1, 0.2, 0.3], "actual": [0.1, 0.2, 0.4],
        "x": x, "names": names, "params": {"n_estimators": 2}, "features": None, "eval_x": None,
        "eval_y": None, "model_version": None, "alpha": None, "row": list(x[0]), "top": 2,
        "previous": None, "bands": None, "data": "user_id,skill_name,correct\nu,s,1\n",
        "store": None, "path": None, "principal": PRINCIPAL, "learner": "l", "course": "c", "competency": "a",
    }


class Awaited:
    """An ``AsyncEngine`` whose methods run to their answer (or exception) when called; each keeps
    its coroutine's signature for the sweep."""

    def __init__(self, engine):
        self._engine = engine
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name):
        method = getattr(self._engine, name)
        return functools.wraps(method)(lambda *args: self._loop.run_until_complete(method(*args)))


def surface():
    """(qualified name, callable, parameter names) for every exported function and method."""
    filler = fillers()
    model = mastery.NativeRiskModel.train_logistic(filler["x"], filler["y"], filler["names"])
    engine = mastery.Engine(store=mastery.DictStore())
    engine.ingest(PRINCIPAL, [{"id": "e", "learner": "l", "course": "c", "competencies": ["a"], "kind": "response",
                               "score": {"scaled": 1.0}, "source": "host"}])
    instances = {"Framework": filler["framework"], "NativeRiskModel": model, "Engine": engine,
                 "AsyncEngine": Awaited(mastery.AsyncEngine(mastery.AsyncDictStore())),
                 "TqdmProgress": mastery.TqdmProgress(disable=True), "PrintProgress": mastery.PrintProgress()}
    try:
        import pyarrow as pa

        instances["ArrowTable"] = mastery.ArrowTable.from_arrow(pa.table({"score": [0.5]}))
    except ImportError:
        pass
    out = []
    for name in sorted(dir(mastery)):
        obj = getattr(mastery, name)
        if name.startswith("_") or inspect.ismodule(obj) or name == "MasteryError":
            continue
        if getattr(obj, "__module__", None) == "typing" or name == "Document":
            continue  # typing names the package imports for its annotations
        if inspect.isclass(obj):
            # The class's own methods and those it inherits from the native module (mastery.Engine
            # is a Python subclass of the native engine).
            native = [k for k in obj.__mro__ if k.__module__.startswith("mastery")]
            for attr in sorted(set().union(*(vars(k) for k in native))):
                if attr.startswith("_"):
                    continue
                member = getattr(instances.get(name, obj), attr)
                if callable(member):
                    out.append((f"{name}.{attr}", member))
                if name == "Engine" and callable(member):
                    out.append((f"{name}.{attr}", getattr(mastery.Engine(), attr)))
            if name not in ("Framework", "NativeBktModel"):  # no constructor: built by from_* only
                out.append((name, obj))
        elif callable(obj):
            out.append((name, obj))
    result = []
    for qualified, fn in out:
        try:
            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        result.append((qualified, fn, [p.name for p in params]))
    return result, filler


def check_exception(qualified, error):
    strict = qualified.split(".")[0] not in ESTIMATORS
    if isinstance(error, mastery.MasteryError):
        assert error.code in CODES, (qualified, error.code)
        assert SECRET not in str(error), (qualified, "echoes the argument")
        return
    assert not strict, f"{qualified}: {type(error).__name__} instead of MasteryError"
    # Any ordinary exception; never a PanicException (a BaseException) or a crash.
    assert isinstance(error, Exception), (qualified, error)


def test_hostile_sweep_over_every_exported_function(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    functions, filler = surface()
    assert len(functions) > 50
    covered = {q.split(".")[0] for q, _, _ in functions}
    assert set(mastery.__all__) - covered <= {"MasteryError", "__version__", "Framework", "NativeBktModel", "views"}
    calls = 0
    values = hostile_values()
    for qualified, fn, params in functions:
        owner, _, method = qualified.partition(".")
        if owner in LISTED or method in ("save", "load"):
            continue
        for h in values:
            shapes = [[filler.get(p) if j != i else h for j, p in enumerate(params)] for i in range(len(params))]
            shapes.append([h] * len(params))
            for args in shapes:
                calls += 1
                try:
                    fn(*args)
                except BaseException as e:  # noqa: B036 - a PanicException must be seen, too
                    if isinstance(e, (KeyboardInterrupt, SystemExit)):
                        raise
                    check_exception(qualified, e)
    print(f"\nhostile sweep: {calls} calls over {len(functions)} functions and methods")
    assert calls > 5_000


def invalid(error, field=None):
    assert error.value.code == "invalid_input", error.value.code
    if field is not None:
        assert error.value.field == field, error.value.field


def test_the_review_reproducers_are_typed_errors():
    x = []
    x.append(x)
    with pytest.raises(mastery.MasteryError) as e:
        mastery.sign_vc_jwt(x, SEED)
    invalid(e, "credential")
    d = nested_dict(5_000)
    for call, field in [
        (lambda: mastery.sign_vc_jwt(d, SEED), "credential"),
        (lambda: mastery.verify_credential(d, {"now": "2026-01-01T00:00:00Z"}), "credential"),
        (lambda: mastery.ingest_xapi("[]", d), "mapping"),
        (lambda: mastery.evaluate_streak([d], "2026-01-01T00:00:00Z", "UTC"), "activities"),
        (lambda: mastery.canonicalize(nested_dict(129)), "document"),
    ]:
        with pytest.raises(mastery.MasteryError) as e:
            call()
        invalid(e, field)
    with pytest.raises(mastery.MasteryError) as e:
        mastery.synthetic_risk_data(10**13, 0)
    invalid(e, "rows")
    report = mastery.evaluate_streak(ACTIVITIES, "2026-03-05T12:00:00Z", "UTC")
    with pytest.raises(mastery.MasteryError) as e:
        mastery.streak_tracker(report, "2026-03-05", 10**8)
    invalid(e, "weeks")
    with pytest.raises(mastery.MasteryError) as e:
        mastery.achievement_credential("urn:uuid:1", {**ACHIEVEMENT, "valid_days": 4_000_000_000}, ISSUER, "l",
                                       "s", "2026-03-01T00:00:00Z")
    invalid(e, "achievement")
    with pytest.raises(mastery.MasteryError) as e:
        mastery.evaluate_streak([{"at": "0001-01-01T00:00:00Z", "zone": "UTC"}], "2026-01-01T00:00:00Z", "UTC")
    invalid(e, "activities[0].at")
    statement = {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "http://x/v"}, "object": {"id": "http://x/o"},
                 "result": {"score": {"raw": 1e308, "min": -1e308, "max": 1e308}}}
    report = mastery.ingest_xapi([statement])
    for evidence in report["accepted"]:
        assert all(math.isfinite(v) for v in evidence.get("score", {}).values())


def test_type_errors_do_not_echo_the_value():
    with pytest.raises(mastery.MasteryError) as e:
        mastery.evaluate_streak([{"at": SECRET, "zone": "UTC"}], "2026-01-01T00:00:00Z", "UTC")
    assert SECRET not in str(e.value)
    with pytest.raises(mastery.MasteryError) as e:
        mastery.streak_tracker(SECRET, "2026-01-01", 1)
    assert SECRET not in str(e.value)
    with pytest.raises(mastery.MasteryError) as e:
        mastery.roll_up(mastery.Framework.from_case_json(json.dumps(CASE)), {"a": {"value": SECRET}})
    assert SECRET not in str(e.value)


def test_wrong_arity_is_pythons_type_error():
    with pytest.raises(TypeError):
        mastery.streak_tracker()
    with pytest.raises(TypeError):
        mastery.issuer_did(SEED, SEED, SEED)


ARROW_ENTRY_POINTS = ["bkt_fit_arrow", "bkt_crossvalidate_arrow", "bkt_predict_arrow", "bkt_predict_arrow_numpy",
                      "arrow_matrix", "risk_predict_arrow", "risk_explain_arrow"]


def test_hostile_sweep_over_the_arrow_entry_points():
    """Every native Arrow function, each argument hostile in turn: only MasteryError, no echo."""
    pa = pytest.importorskip("pyarrow")
    x, y, names = mastery.synthetic_risk_data(50, 1)
    log = pa.table({"user_id": ["a"] * 4 + ["b"] * 4, "skill_name": ["s"] * 8, "correct": [1, 0, 1, 1, 0, 0, 1, 1]})
    columns = {"user_id": "user_id", "skill_name": "skill_name", "correct": "correct"}
    bkt = mastery._mastery.bkt_fit_arrow(log, columns, {"num_fits": 1})
    risk = mastery.NativeRiskModel.train_logistic(x, y, names)
    features = pa.table(dict(zip(names, x.T)))
    fillers = {
        "bkt_fit_arrow": [log, columns, {"num_fits": 1}, None],
        "bkt_crossvalidate_arrow": [log, columns, 2, {"num_fits": 1}, None],
        "bkt_predict_arrow": [bkt, log, columns],
        "bkt_predict_arrow_numpy": [bkt, log, columns],
        "arrow_matrix": [features, names],
        "risk_predict_arrow": [risk, features, names, False],
        "risk_explain_arrow": [risk, features, names, 2],
    }
    calls = 0
    for name in ARROW_ENTRY_POINTS:
        fn = getattr(mastery._mastery, name)
        good = fillers[name]
        fn(*good)  # the fillers themselves are valid
        for h in hostile_values() + [pa.table({"user_id": [SECRET]}), pa.table({n: [SECRET] for n in names})]:
            for i in range(len(good)):
                args = list(good)
                args[i] = h
                calls += 1
                try:
                    fn(*args)
                except mastery.MasteryError as e:
                    assert e.code in CODES, (name, e.code)
                    assert SECRET not in str(e), (name, "echoes the argument")
    assert calls > 500
