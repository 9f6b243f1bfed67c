"""Every fixture case, through the Python binding."""

import asyncio
import hashlib
import json
import math

import numpy as np
import pytest

import mastery
from fixture_runner import FIXTURES, cases, check, text


def run(op, inp):
    if op in ("case_summary", "case_import"):
        return mastery.Framework.from_case_json(text(inp)).summary()
    if op == "case_roundtrip":
        exported = mastery.Framework.from_case_json(text(inp)).to_case_json()
        return mastery.Framework.from_case_json(exported).summary()
    if op == "case_query":
        f = mastery.Framework.from_case_json(text(inp))
        out = []
        for q in inp["queries"]:
            name = q["query"]
            if name == "find_by_code":
                out.append(f.find_by_code(q["code"]))
            elif name == "topological_order":
                out.append(f.topological_order())
            else:
                out.append(getattr(f, name)(q["id"]))
        return out
    if op == "xapi_ingest":
        return mastery.ingest_xapi(text(inp), inp.get("mapping"))
    if op == "caliper_ingest":
        return mastery.ingest_caliper(text(inp), inp.get("mapping"))
    if op == "caliper_validate":
        return mastery.validate_caliper(text(inp))
    if op == "pybkt_csv_ingest":
        return mastery.ingest_pybkt_csv(text(inp))
    if op == "calculate":
        return mastery.calculate(inp["method"], inp["evidence"], inp["mastery_points"], inp.get("order"))
    if op == "rating_for":
        return mastery.rating_for(scale(inp["scale"]), inp["score"])
    if op == "bkt_predict":
        import pandas as pd

        model = mastery.BKTModel.from_json(json.dumps(inp["model"]))
        names = {"learner": "user_id", "skill": "skill_name", "order": "order_id", "template": "template_id"}
        frame = pd.DataFrame(inp["rows"]).rename(columns=names)
        frame["correct"] = frame["correct"].astype(int)
        out = model.predict(data=frame)
        return [{"correct": float(c), "state": float(s)} for c, s in zip(out["correct_predictions"], out["state_predictions"])]
    if op == "bkt_update":
        model = mastery.BKTModel.from_json(json.dumps(inp["model"]))
        states, state = [], None
        for o in inp["observations"]:
            state = model.update(inp["skill"], state, o["correct"], o.get("template"))
            states.append(state)
        return states
    if op == "bkt_load":
        return mastery.BKTModel.from_json(text(inp))._native.skills()
    if op == "bkt_crossvalidate":
        import pandas as pd

        names = {"learner": "user_id", "skill": "skill_name", "order": "order_id", "template": "template_id"}
        frame = pd.DataFrame(inp["rows"]).rename(columns=names)
        frame["correct"] = frame["correct"].astype(int)
        columns = mastery.BKTModel()._columns_of(frame, False, False)
        return mastery._mastery.NativeBktModel.crossvalidate(*columns, inp["folds"], options=inp.get("options"))
    if op == "frontier":
        return mastery.frontier(mastery.Framework.from_case_json(text(inp)), inp["standings"])
    if op == "roll_up":
        return mastery.roll_up(mastery.Framework.from_case_json(text(inp)), inp["standings"], inp.get("rules"), inp.get("default"))
    if op == "class_summary":
        return mastery.class_summary(inp["scores"], scale(inp["scale"]), inp.get("competencies"))
    if op == "streak":
        return mastery.evaluate_streak(inp["activities"], inp["now"], inp["current_zone"], inp["policy"])
    if op == "streak_tracker":
        report = mastery.evaluate_streak(inp["activities"], inp["now"], inp["current_zone"], inp["policy"])
        today = local_date(inp["now"], inp["current_zone"])
        return mastery.streak_tracker(report, today, inp["weeks"])
    if op == "ring_chart":
        f = mastery.Framework.from_case_json(text(inp))
        return mastery.ring_chart(f, inp["standings"], scale(inp["scale"]), inp.get("areas"), inp["metric"])
    if op == "class_heatmap":
        return mastery.class_heatmap(inp["values"], inp["competencies"], scale(inp["scale"]))
    if op == "progress_over_time":
        return mastery.progress_over_time(inp["states"], scale(inp["scale"]), inp["labels"], inp["window"], inp["method"])
    if op == "achievement_credential":
        return mastery.achievement_credential(**inp)
    if op == "vc_sign":
        return mastery.sign_vc_jwt(inp["credential"], bytes.fromhex(inp["seed_hex"]))
    if op == "vc_verify":
        return mastery.verify_vc_jwt(inp["jwt"], inp["now"], inp.get("expected_issuer"), inp["revoked_indexes"])
    if op == "verify_credential":
        credential = inp["credential"] if "credential" in inp else text(inp)
        return mastery.verify_credential(credential, inp["options"])
    if op == "di_sign":
        return mastery.sign_data_integrity(inp["credential"], bytes.fromhex(inp["seed_hex"]), inp["created"], inp.get("verification_method"))
    if op == "canonicalize":
        return mastery.canonicalize(inp["document"])
    if op == "certificate":
        args = (inp["credential"], inp["learner_name"], inp["verification_url"], inp["template"])
        return {
            "svg_sha256": hashlib.sha256(mastery.certificate_svg(*args).encode()).hexdigest(),
            "pdf_sha256": hashlib.sha256(mastery.certificate_pdf(*args)).hexdigest(),
        }
    if op == "risk_predict":
        model = mastery.NativeRiskModel.from_json((FIXTURES / inp["model"]).read_text())
        return model.predict_proba(np.array(inp["rows"], dtype=np.float64)).tolist()
    if op == "risk_explain":
        model = mastery.NativeRiskModel.from_json((FIXTURES / inp["model"]).read_text())
        return model.explain([math.nan if v is None else v for v in inp["row"]], inp["top"])
    if op == "risk_explain_many":
        model = mastery.NativeRiskModel.from_json((FIXTURES / inp["model"]).read_text())
        rows = np.array([[math.nan if v is None else v for v in row] for row in inp["rows"]], dtype=np.float64)
        return model.explain_many(rows, inp["top"])
    if op == "risk_band":
        return mastery.risk_band(inp["score"], inp["previous"], inp.get("bands"))
    if op == "fairness_report":
        return mastery.fairness_report(inp["scores"], inp["labels"], inp["groups"], inp["threshold"])
    if op == "unbake_png":
        found = mastery.unbake_png((FIXTURES / inp["file"]).read_bytes())
        return None if found is None else {"version": found[0], "text": found[1]}
    if op == "render_ring_chart":
        return str(mastery.render("ring_chart", inp["chart"]))
    if op == "scenario":
        options = dict(inp.get("engine", {}))
        if "framework" in options:
            options["framework"] = mastery.Framework.from_case_json(options["framework"])
        if "risk_model" in options:
            options["risk_model"] = json.dumps(options["risk_model"])
        embedded = scenario(mastery.Engine(**options), inp["steps"])
        host = scenario(mastery.Engine(store=mastery.DictStore(), **options), inp["steps"])
        assert embedded == host, "the Python store and the embedded store disagree"
        asynchronous = scenario(Awaited(mastery.AsyncEngine(mastery.AsyncDictStore(), **options)), inp["steps"])
        assert json.dumps(asynchronous) == json.dumps(embedded), "the async engine and the engine disagree"
        return embedded
    raise ValueError(op)


class Awaited:
    """An ``AsyncEngine`` called like an ``Engine``: each method runs to its answer on one event loop."""

    def __init__(self, engine):
        self._engine = engine
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name):
        method = getattr(self._engine, name)
        return lambda *args: self._loop.run_until_complete(method(*args))


def scenario_step(engine, step):
    who, do = step["as"], step["do"]
    if do == "ingest":
        return engine.ingest(who, step["evidence"])
    if do == "learner_states":
        return engine.learner_states(who, step["learner"], step.get("course"))
    if do == "class_states":
        return engine.class_states(who, step["course"])
    if do == "class_heatmap":
        return engine.class_heatmap(who, step["course"], step["competencies"])
    if do == "mastery":
        return engine.mastery(who, step["learner"], step["competency"], step.get("course"))
    if do == "streak":
        return engine.streak(who, step["learner"], step["now"], step.get("course"))
    if do == "class_streaks":
        return engine.class_streaks(who, step["course"], step["now"])
    if do == "streak_report":
        return engine.streak_report(who, step["learner"], step["now"], step.get("course"))
    if do == "awards":
        return engine.awards(who, step["learner"], step.get("course"))
    if do == "outbox":
        return engine.outbox(who, step["course"])
    if do == "acknowledge_awards":
        return engine.acknowledge_awards(who, step["learner"], step["credential_ids"], step.get("course"))
    if do == "revoke_award":
        return engine.revoke_award(who, step["learner"], step["achievement"], step["reason"], step.get("course"))
    if do == "badge_gallery":
        return engine.badge_gallery(who, step["learner"], step["now"], step.get("course"))
    if do == "learner_dashboard":
        return engine.learner_dashboard(who, step["learner"], step["at"], step.get("course"))
    if do == "class_dashboard":
        return engine.class_dashboard(who, step["course"], step["at"], step.get("options"))
    if do == "at_risk":
        return engine.at_risk(who, step["course"], step["at"], step.get("top", 3))
    if do == "record_risk":
        return engine.record_risk(who, step["course"], step["at"], step.get("top", 3))
    if do == "risk_features":
        rows = engine.risk_features(who, step["course"], step["at"])
        return [{"learner": r.pop("learner"), "features": r} for r in rows]
    raise ValueError(do)


def scenario(engine, steps):
    """One result per step: ``{"ok": value}`` or ``{"error": {"code", "field"}}``."""
    out = []
    for step in steps:
        try:
            out.append({"ok": scenario_step(engine, step)})
        except mastery.MasteryError as e:
            out.append({"error": {"code": e.code, "field": e.field}})
    return out


def local_date(instant, zone):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(instant).astimezone(ZoneInfo(zone)).date().isoformat()


def scale(value):
    return mastery.proficiency_scale(value) if isinstance(value, str) else value


def error_of(exc):
    if isinstance(exc, mastery.MasteryError):
        return exc.code, exc.field
    return None


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_fixture(case):
    check(case, run, error_of)


def test_there_are_fixtures():
    assert len(cases()) >= 20
