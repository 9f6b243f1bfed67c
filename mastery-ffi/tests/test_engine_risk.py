"""uniffi: an engine with a risk model and the host's own alert bands."""

import json

import pytest

import mastery_ffi as m
from fixture_runner import FIXTURES

SERVICE = json.dumps({"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]})


def engine(bands):
    case = json.loads((FIXTURES / "cases" / "scenario" / "dashboards.json").read_text())
    options = m.EngineOptions(risk_model_json=json.dumps(case["input"]["engine"]["risk_model"]), risk_bands=bands)
    e = m.Engine.with_options(options)
    e.ingest(SERVICE, json.dumps(case["input"]["steps"][0]["evidence"]))
    return e


def test_the_hosts_bands_name_the_alerts():
    default = engine(None).at_risk(SERVICE, "c1", "2026-03-09T12:00:00Z", 1)
    assert {a.band for a in default} == {"high"}
    watch = engine([m.RiskBand(name="watch", enter=0.5, exit=0.4)]).at_risk(SERVICE, "c1", "2026-03-09T12:00:00Z", 1)
    assert [a.learner for a in watch] == [a.learner for a in default]
    assert {a.band for a in watch} == {"watch"}


def test_bands_that_cannot_hold_are_refused():
    with pytest.raises(m.MasteryError.InvalidInput):
        engine([m.RiskBand(name="watch", enter=0.4, exit=0.5)])
