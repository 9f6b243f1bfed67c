"""Every fixture case, through the uniffi-generated Python bindings."""

import enum
import hashlib
import json
import math

import pytest

import mastery_ffi as m
from fixture_runner import FIXTURES, cases, check, text

# uniffi error variants → the core's stable codes.
CODES = {
    "InvalidInput": "invalid_input",
    "Parse": "parse_error",
    "UnsupportedVersion": "unsupported_version",
    "Cycle": "cycle",
    "NotFound": "not_found",
    "AccessDenied": "access_denied",
    "Store": "store_error",
    "Internal": "internal",
}


def plain(value):
    """uniffi records, enums and lists → JSON-like data."""
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "__dict__"):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def mapping(inp):
    raw = inp.get("mapping") or {}
    return m.EvidenceMapping(
        competencies=raw.get("competencies", {}),
        kinds={k: m.EvidenceKind[v.upper()] for k, v in raw.get("kinds", {}).items()},
        courses=raw.get("courses", {}),
        default_time=raw.get("default_time"),
    )


def run(op, inp):
    if op in ("case_summary", "case_import"):
        return plain(m.Framework.from_case_json(text(inp)).summary())
    if op == "case_roundtrip":
        exported = m.Framework.from_case_json(text(inp)).to_case_json()
        return plain(m.Framework.from_case_json(exported).summary())
    if op == "case_query":
        f = m.Framework.from_case_json(text(inp))
        out = []
        for q in inp["queries"]:
            name = q["query"]
            if name == "find_by_code":
                out.append(plain(f.find_by_code(q["code"])))
            elif name == "topological_order":
                out.append(plain(f.topological_order()))
            else:
                out.append(plain(getattr(f, name)(q["id"])))
        return out
    if op == "xapi_ingest":
        return plain(m.ingest_xapi(text(inp), mapping(inp)))
    if op == "caliper_ingest":
        return plain(m.ingest_caliper(text(inp), mapping(inp)))
    if op == "caliper_validate":
        return m.validate_caliper(text(inp))
    if op == "pybkt_csv_ingest":
        return plain(m.ingest_pybkt_csv(text(inp)))
    if op == "calculate":
        evidence = [m.ScoredEvidence(score=e["score"], assessed_at=e["assessed_at"], due_at=e.get("due_at")) for e in inp["evidence"]]
        return m.calculate(method(inp["method"]), evidence, inp["mastery_points"], inp.get("order") == "due")
    if op == "rating_for":
        return plain(m.rating_for(scale(inp["scale"]), inp["score"]))
    if op == "bkt_predict":
        rows = [m.BktResponse(learner=r["learner"], skill=r["skill"], correct=r["correct"], order=r.get("order"), template=r.get("template")) for r in inp["rows"]]
        return plain(m.BktModel.from_json(json.dumps(inp["model"])).predict(rows))
    if op == "bkt_update":
        model = m.BktModel.from_json(json.dumps(inp["model"]))
        states, state = [], None
        for o in inp["observations"]:
            state = model.update(inp["skill"], state, o["correct"], o.get("template"))
            states.append(plain(state))
        return states
    if op == "bkt_load":
        return json.loads(m.BktModel.from_json(text(inp)).to_json())["model"]["skills"]
    if op == "bkt_crossvalidate":
        rows = [m.BktResponse(learner=r["learner"], skill=r["skill"], correct=r["correct"], order=r.get("order"), template=r.get("template")) for r in inp["rows"]]
        o = inp.get("options") or {}
        options = m.BktOptions(forgets=False, multilearn=False, multigs=False, multiprior=False, num_fits=o.get("num_fits"), seed=None)
        return plain(m.bkt_crossvalidate(rows, options, inp["folds"]))
    if op == "frontier":
        return plain(m.frontier(m.Framework.from_case_json(text(inp)), standings(inp["standings"])))
    if op == "roll_up":
        rules = {k: rule(v) for k, v in (inp.get("rules") or {}).items()}
        default = rule(inp["default"]) if inp.get("default") else m.RollupRule.ALL()
        return plain(m.roll_up(m.Framework.from_case_json(text(inp)), standings(inp["standings"]), rules, default))
    if op == "class_summary":
        return plain(m.class_summary(inp["scores"], scale(inp["scale"]), inp.get("competencies")))
    if op == "streak":
        return plain(m.evaluate_streak(activities(inp), inp["now"], inp["current_zone"], json.dumps(inp["policy"])))
    if op == "streak_tracker":
        return json.loads(m.streak_tracker_json(activities(inp), inp["now"], inp["current_zone"], inp["weeks"], json.dumps(inp["policy"])))
    if op == "ring_chart":
        f = m.Framework.from_case_json(text(inp))
        return json.loads(m.ring_chart_json(f, json.dumps(inp["standings"]), scale_json(inp["scale"]), inp["metric"], inp.get("areas")))
    if op == "class_heatmap":
        return json.loads(m.class_heatmap_json(json.dumps(inp["values"]), json.dumps(inp["competencies"]), scale_json(inp["scale"])))
    if op == "progress_over_time":
        return json.loads(m.progress_over_time_json(json.dumps(inp["states"]), scale_json(inp["scale"]), json.dumps(inp["labels"]),
                                                    json.dumps(inp["window"]), json.dumps(inp["method"]), False))
    if op == "achievement_credential":
        return json.loads(m.achievement_credential_json(inp["credential_id"], json.dumps(inp["achievement"]), json.dumps(inp["issuer"]),
                                                        inp["learner_identifier"], inp["salt"], inp["issued_at"], inp["evidence_urls"],
                                                        json.dumps(inp["status"])))
    if op == "vc_sign":
        return m.sign_vc_jwt(json.dumps(inp["credential"]), bytes.fromhex(inp["seed_hex"]))
    if op == "vc_verify":
        v = m.verify_vc_jwt(inp["jwt"], inp["now"], inp.get("expected_issuer"), inp["revoked_indexes"])
        return {"valid": v.valid, "checks": plain(v.checks)}
    if op == "verify_credential":
        credential = json.dumps(inp["credential"]) if "credential" in inp else text(inp)
        v = m.verify_credential(credential, json.dumps(inp["options"]))
        return {"valid": v.valid, "checks": plain(v.checks)}
    if op == "di_sign":
        return json.loads(m.sign_data_integrity(json.dumps(inp["credential"]), bytes.fromhex(inp["seed_hex"]), inp["created"],
                                                inp.get("verification_method")))
    if op == "canonicalize":
        return m.canonicalize(json.dumps(inp["document"]))
    if op == "certificate":
        args = (json.dumps(inp["credential"]), inp["learner_name"], inp["verification_url"], json.dumps(inp["template"]))
        return {
            "svg_sha256": hashlib.sha256(m.certificate_svg(*args).encode()).hexdigest(),
            "pdf_sha256": hashlib.sha256(m.certificate_pdf(*args)).hexdigest(),
        }
    if op == "risk_predict":
        model = m.RiskModel.from_json((FIXTURES / inp["model"]).read_text())
        return model.predict_proba([[math.nan if v is None else v for v in r] for r in inp["rows"]])
    if op == "risk_explain":
        model = m.RiskModel.from_json((FIXTURES / inp["model"]).read_text())
        e = model.explain([math.nan if v is None else v for v in inp["row"]], inp["top"])
        return {"score": e.score, "margin": e.margin, "base": e.base, "reasons": plain(e.reasons)}
    if op == "risk_explain_many":
        model = m.RiskModel.from_json((FIXTURES / inp["model"]).read_text())
        rows = [[math.nan if v is None else v for v in row] for row in inp["rows"]]
        return [
            {"score": e.score, "margin": e.margin, "base": e.base, "reasons": plain(e.reasons)}
            for e in model.explain_many(rows, inp["top"])
        ]
    if op == "risk_band":
        bands = [m.RiskBand(name=b["name"], enter=b["enter"], exit=b["exit"]) for b in inp.get("bands", [])]
        return m.risk_band(inp["score"], inp["previous"], bands)
    if op == "fairness_report":
        floats = lambda key: [float(v) for v in inp[key]]  # noqa: E731
        return plain(m.fairness_report(floats("scores"), floats("labels"), inp["groups"], float(inp["threshold"])))
    if op == "unbake_png":
        found = m.unbake_png((FIXTURES / inp["file"]).read_bytes())
        return None if found is None else {"version": found.version.name.lower(), "text": found.text}
    if op == "render_ring_chart":
        return m.render_svg("ring_chart", json.dumps(inp["chart"]))
    if op == "scenario":
        engine = inp.get("engine", {})
        as_json = lambda key: None if key not in engine else json.dumps(engine[key])  # noqa: E731
        options = m.EngineOptions(
            streak_policy_json=as_json("streaks"),
            achievements_json=as_json("achievements"),
            framework_json=engine.get("framework"),
            risk_model_json=as_json("risk_model"),
        )
        embedded = scenario(m.Engine.with_options(options), inp)
        host = scenario(m.Engine.with_options(options, store=DictStore()), inp)
        assert embedded == host, "the host store and the embedded store disagree"
        return embedded
    raise ValueError(op)


class DictStore(m.HostStore):
    """A host's store: plain lists and dicts scoped by tenant, no policy of its own (the engine
    checks the policy before every call)."""

    def __init__(self):
        self.evidence = []  # (tenant, record)
        self.states = {}  # (tenant, canonical key JSON) -> (key, value)

    @staticmethod
    def _tenant(ctx):
        return json.loads(ctx)["principal"]["tenant"]

    def _stored(self, tenant, e):
        return any(t == tenant and x["learner"] == e["learner"] and x["id"] == e["id"] for t, x in self.evidence)

    def apply(self, ctx, evidence, states):
        tenant, batch = self._tenant(ctx), json.loads(evidence)
        flags = []
        for i, e in enumerate(batch):
            repeated = any(x["learner"] == e["learner"] and x["id"] == e["id"] for x in batch[:i])
            flags.append("duplicate" if repeated or self._stored(tenant, e) else "new")
        if "duplicate" not in flags:
            self.evidence.extend((tenant, e) for e in batch)
            for entry in json.loads(states):
                self.states[(tenant, json.dumps(entry["key"], sort_keys=True))] = (entry["key"], entry["value"])
        return json.dumps(flags)

    def known_evidence(self, ctx, evidence):
        tenant = self._tenant(ctx)
        return json.dumps([self._stored(tenant, e) for e in json.loads(evidence)])

    def append_evidence(self, ctx, evidence):
        return json.dumps(json.loads(self.apply(ctx, "[" + evidence + "]", "[]"))[0])

    def learner_evidence(self, ctx, learner):
        tenant = self._tenant(ctx)
        return json.dumps([e for t, e in self.evidence if t == tenant and e["learner"] == learner])

    def course_evidence(self, ctx, course):
        tenant = self._tenant(ctx)
        return json.dumps([e for t, e in self.evidence if t == tenant and e.get("course") == course])

    def get_state(self, ctx, key):
        found = self.states.get((self._tenant(ctx), json.dumps(json.loads(key), sort_keys=True)))
        return json.dumps(None if found is None else found[1])

    def put_state(self, ctx, key, value):
        k = json.loads(key)
        self.states[(self._tenant(ctx), json.dumps(k, sort_keys=True))] = (k, json.loads(value))

    def _states(self, ctx, keep):
        tenant = self._tenant(ctx)
        found = [(k, v) for (t, _), (k, v) in sorted(self.states.items()) if t == tenant and keep(k)]
        return json.dumps([{"key": k, "value": v} for k, v in found])

    def learner_states(self, ctx, learner, namespace):
        return self._states(ctx, lambda k: k["learner"] == learner and k["namespace"] == namespace)

    def course_states(self, ctx, course, namespace):
        return self._states(ctx, lambda k: k.get("course") == course and k["namespace"] == namespace)


def scenario(engine, inp):
    out = []
    for step in inp["steps"]:
        principal, course, learner = json.dumps(step["as"]), step.get("course"), step.get("learner")
        try:
            do = step["do"]
            if do == "ingest":
                value = plain(engine.ingest(principal, json.dumps(step["evidence"])))
            elif do == "learner_states":
                value = plain(engine.learner_states(principal, learner, course))
            elif do == "class_states":
                value = plain(engine.class_states(principal, course))
            elif do == "class_heatmap":
                value = json.loads(engine.class_heatmap_json(principal, course, json.dumps(step["competencies"])))
            elif do == "mastery":
                value = plain(engine.mastery(principal, learner, step["competency"], course))
            elif do == "streak":
                value = plain(engine.streak(principal, learner, step["now"], course))
            elif do == "class_streaks":
                value = plain(engine.class_streaks(principal, course, step["now"]))
            elif do == "streak_report":
                value = plain(engine.streak_report(principal, learner, step["now"], course))
            elif do == "awards":
                value = plain(engine.awards(principal, learner, course))
            elif do == "outbox":
                value = plain(engine.outbox(principal, course))
            elif do == "acknowledge_awards":
                value = engine.acknowledge_awards(principal, learner, step["credential_ids"], course)
            elif do == "revoke_award":
                value = engine.revoke_award(principal, learner, step["achievement"], step["reason"], course)
            elif do == "badge_gallery":
                value = plain(engine.badge_gallery(principal, learner, step["now"], course))
            elif do == "learner_dashboard":
                value = charts(plain(engine.learner_dashboard(principal, learner, step["at"], course)))
            elif do == "class_dashboard":
                options = None if "options" not in step else json.dumps(step["options"])
                value = charts(plain(engine.class_dashboard(principal, course, step["at"], options)))
            elif do == "at_risk":
                value = plain(engine.at_risk(principal, course, step["at"], step.get("top", 3)))
            elif do == "record_risk":
                value = plain(engine.record_risk(principal, course, step["at"], step.get("top", 3)))
            elif do == "risk_features":
                value = plain(engine.risk_features(principal, course, step["at"]))
            else:
                raise ValueError(do)
            out.append({"ok": value})
        except m.MasteryError as exc:
            code, field = error_of(exc)
            out.append({"error": {"code": code, "field": field}})
    return out


def charts(dashboard):
    """A dashboard's chart parts are view-model JSON (for `render_svg`): parsed, under the name
    the other bindings give them."""
    for key in ("rings_json", "progress_json", "heatmap_json"):
        if key in dashboard:
            text = dashboard.pop(key)
            dashboard[key.removesuffix("_json")] = None if text is None else json.loads(text)
    return dashboard


def activities(inp):
    return [m.StreakActivity(at=a["at"], zone=a["zone"], minutes=a.get("minutes", 0.0), points=a.get("points", 0.0)) for a in inp["activities"]]


def scale_json(value):
    return value if isinstance(value, str) else json.dumps(value)


def method(spec):
    kind = spec["method"]
    if kind == "weighted_average":
        return m.CalculationMethod.WEIGHTED_AVERAGE(weight=spec["weight"])
    if kind == "decaying_average":
        return m.CalculationMethod.DECAYING_AVERAGE(rate=spec["rate"])
    if kind == "n_mastery":
        return m.CalculationMethod.N_MASTERY(n=spec["n"])
    return getattr(m.CalculationMethod, kind.upper())()


def scale(value):
    if isinstance(value, str):
        return m.proficiency_scale(value)
    ratings = [m.Rating(points=r["points"], description=r["description"], color=r["color"], mastery=r.get("mastery", False)) for r in value["ratings"]]
    return m.ProficiencyScale(ratings=ratings, display_cut_points=value.get("display_cut_points", []))


def standings(raw):
    return {k: m.Standing(value=v["value"], mastered=v["mastered"]) for k, v in raw.items()}


def rule(spec):
    kind = spec["rule"]
    if kind == "all":
        return m.RollupRule.ALL()
    if kind == "k_of_n":
        return m.RollupRule.K_OF_N(k=spec["k"])
    if kind == "points":
        return m.RollupRule.POINTS(required_points=spec["required_points"], points=spec.get("points", {}), required=spec.get("required", []))
    return m.RollupRule.WEIGHTED(weights=spec.get("weights", {}), threshold=spec["threshold"])


def error_of(exc):
    if isinstance(exc, m.MasteryError):
        return CODES[type(exc).__name__], getattr(exc, "field", None)
    return None


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_fixture(case):
    check(case, run, error_of)


def test_errors_are_typed_variants():
    with pytest.raises(m.MasteryError.InvalidInput) as info:
        m.Framework.from_case_json("{}")
    assert info.value.field == "CFDocument"


def test_crossvalidation_is_exposed():
    rows = [m.BktResponse(learner=f"l{l}", skill="s", correct=t > l % 5, order=t, template=None, prior_group=None)
            for l in range(60) for t in range(8)]
    folds = m.bkt_crossvalidate(rows, m.BktOptions(forgets=False, multilearn=False, multigs=False, multiprior=False, num_fits=1, seed=None), 3)
    assert len(folds["s"]) == 3 and sum(e.rows for e in folds["s"]) == len(rows)


class FailingStore(DictStore):
    """A host store whose database is down until `up` is set."""

    def __init__(self):
        super().__init__()
        self.up = False

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name in ("apply", "known_evidence", "learner_states", "course_states", "get_state") and not super().__getattribute__("up"):
            def fail(*_args):
                raise RuntimeError("database is locked")
            return fail
        return attr


def test_a_failing_host_store_is_a_store_error():
    store = FailingStore()
    engine = m.Engine.with_store(store)
    service = json.dumps({"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]})
    record = {"id": "e1", "learner": "amy", "competencies": ["fractions"], "kind": "response", "score": {"scaled": 1.0},
              "occurred_at": "2026-03-08T10:00:00Z", "source": "host", "course": "c1"}
    outcome = engine.ingest(service, json.dumps([record]))
    assert outcome.new == 0 and [(r.index, r.code) for r in outcome.rejected] == [(0, "store_error")]
    with pytest.raises(m.MasteryError.Store):
        engine.learner_states(service, "amy", "c1")
    with pytest.raises(m.MasteryError.Store):
        engine.class_states(service, "c1")
    # The database is back: the same engine works.
    store.up = True
    assert engine.ingest(service, json.dumps([record])).new == 1
    assert [v.competency for v in engine.learner_states(service, "amy", "c1")] == ["fractions"]
    assert engine.mastery(service, "amy", "fractions", "c1").evidence_count == 1


def test_a_host_store_returning_garbage_is_a_store_error():
    class Garbage(DictStore):
        def learner_states(self, ctx, learner, namespace):
            return "not json"

    engine = m.Engine.with_store(Garbage())
    admin = json.dumps({"tenant": "t1", "user": "root", "roles": [{"role": "admin"}]})
    with pytest.raises(m.MasteryError.Store):
        engine.learner_states(admin, "amy", None)
    with pytest.raises(m.MasteryError.InvalidInput):
        engine.learner_states("{", "amy", None)


def test_a_durable_engine_keeps_its_records(tmp_path):
    service = json.dumps({"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]})
    record = {"id": "e1", "learner": "amy", "competencies": ["fractions"], "kind": "response", "score": {"scaled": 1.0},
              "occurred_at": "2026-03-08T10:00:00Z", "source": "host"}
    engine = m.Engine.open(str(tmp_path / "store"))
    assert engine.ingest(service, json.dumps([record])).new == 1
    del engine
    reopened = m.Engine.open(str(tmp_path / "store"))
    assert reopened.ingest(service, json.dumps([record])).duplicates == 1
    assert reopened.mastery(service, "amy", "fractions", None).evidence_count == 1
