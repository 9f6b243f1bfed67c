"""The engine from Python: 173,912 real OULAD assessment results into ``mastery.Engine`` with
streaks and badge awards, read back under the access policy as a service, an instructor and a
learner; then a risk model trained on OULAD's day-60 table scores a held-out presentation inside
the engine (its stored features checked against the table's). Run: ``python
examples/python/demo.py`` (after ``maturin develop`` in ``mastery-py``)."""

import csv
import gzip
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mastery

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "oulad"
# A presentation starts in February ("B") or October ("J") of its year.
START = {"B": 2, "J": 10}


def evidence():
    """One evidence record per scored submission: the module's assessment type is the competency."""
    with open(DATA / "assessments.csv", newline="") as f:
        assessments = {row["id_assessment"]: row for row in csv.DictReader(f)}
    with gzip.open(DATA / "studentAssessment.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            a = assessments[row["id_assessment"]]
            if row["score"] in ("", "?") or not row["date_submitted"]:
                continue
            presentation = a["code_presentation"]
            start = datetime(int(presentation[:4]), START[presentation[4]], 1, 9, tzinfo=timezone.utc)
            yield {
                "id": f"oulad:{row['id_assessment']}:{row['id_student']}",
                "learner": row["id_student"],
                "course": f"{a['code_module']}-{presentation}",
                "competencies": [f"{a['code_module']}-{a['assessment_type']}"],
                "kind": "assessment",
                "score": {"scaled": min(float(row["score"]), 100.0) / 100.0},
                "occurred_at": (start + timedelta(days=int(row["date_submitted"]))).isoformat(),
                "source": "host",
            }


def badge(name, rule):
    return {"id": f"https://school.example/badges/{name}", "name": name, "description": name,
            "criteria": name, "rule": rule}


def main():
    achievements = [
        badge("aaa-tutor-marked", {"rule": "mastery", "competency": "AAA-TMA"}),
        badge("five-assessments", {"rule": "evidence_count", "min": 5}),
        badge("two-day-streak", {"rule": "streak", "periods": 2}),
    ]
    engine = mastery.Engine(streaks={}, achievements=achievements)
    service = {"tenant": "ou", "user": "importer", "roles": [{"role": "service"}]}
    records = list(evidence())
    began = time.perf_counter()
    totals = {"new": 0, "duplicates": 0, "awarded": 0, "rejected": 0}
    for i in range(0, len(records), 1_000):
        outcome = engine.ingest(service, records[i:i + 1_000])
        for key in ("new", "duplicates", "awarded"):
            totals[key] += outcome[key]
        totals["rejected"] += len(outcome["rejected"])
    seconds = time.perf_counter() - began
    print(f"ingested {totals['new']:,} OULAD results in {seconds:.1f} s "
          f"({totals['new'] / seconds:,.0f} records/s), {totals['awarded']:,} badges awarded, "
          f"{totals['rejected']} refused")
    again = engine.ingest(service, records[:1_000])
    print(f"the first 1,000 again: {again['duplicates']} duplicates, {again['awarded']} awards")

    course = "AAA-2013J"
    tutor = {"tenant": "ou", "user": "tutor", "roles": [{"role": "instructor", "courses": [course]}]}
    heatmap = engine.class_heatmap(tutor, course, [{"id": "AAA-TMA", "label": "Tutor-marked"},
                                                   {"id": "AAA-Exam", "label": "Exam"}])
    print(f"{course}: {len(heatmap['rows'])} learners in the class heatmap")
    outbox = engine.outbox(tutor, course)
    print(f"{course}: {len(outbox)} awards waiting in the outbox")
    learner = outbox[0]["learner"]
    me = {"tenant": "ou", "user": learner, "roles": [{"role": "learner"}]}
    now = "2014-01-15T12:00:00+00:00"
    for view in engine.learner_states(me, learner, course):
        print(f"  learner {learner}: {view['competency']} {view['rating']} ({view['score']:.2f})")
    streak = engine.streak(me, learner, now, course)
    print(f"  streak: current {streak['current']}, longest {streak['longest']}, last active {streak['last_active']}")
    for tile in engine.badge_gallery(me, learner, now, course):
        print(f"  badge {tile['name']}: {tile['status']} ({tile['progress']:.0%})")
    try:
        engine.learner_states(me, "someone-else", course)
    except mastery.MasteryError as e:
        print(f"  another learner's mastery: {e.code}")
    mine = engine.learner_dashboard(me, learner, now, course)
    earned = sum(t["status"] == "earned" for t in mine["badges"])
    print(f"  learner dashboard: {len(mine['records'])} records, {len(mine['gaps'])} gaps, streak "
          f"{mine['streak']['current']}, {earned} badges earned, {len(mine['progress']['series'])} progress series")
    taken = engine.acknowledge_awards(tutor, learner, [a["credential_id"] for a in outbox if a["learner"] == learner],
                                      course)
    print(f"  delivered and acknowledged {taken} awards; outbox now {len(engine.outbox(tutor, course))}")

    at_risk_at_day_60(records)


#: What the engine keeps from assessment results alone and the OULAD table also has.
GRADE_FEATURES = ["grade_mean", "grade_min", "grade_trend", "days_since_last_submission"]


def at_risk_at_day_60(records):
    """A risk model trained on OULAD's day-60 table (grade features, every presentation but one)
    scores the held-out presentation inside a fresh engine that has seen its results up to day 60.
    The engine's features come from the activity records ingest keeps; the check below holds them
    against the OULAD table's, learner by learner. Learners without a result before day 60 have
    no record in the engine (a host flags them from its enrolments)."""
    held_out = "FFF/2014J"
    dataset = mastery.load_oulad(DATA, cutoff=60)
    table = dataset.table.to_pyarrow()
    presentation = table.column("presentation").to_pylist()
    train = [i for i, p in enumerate(presentation) if p != held_out]
    x = table.select(GRADE_FEATURES).take(train)
    y = table.column("at_risk").take(train)
    specs = [s for s in dataset.feature_specs if s["name"] in GRADE_FEATURES]
    clf = mastery.RiskClassifier(random_state=7, feature_specs=specs).fit(x, y)

    course = held_out.replace("/", "-")
    start = datetime(2014, START["J"], 1, 9, tzinfo=timezone.utc)
    day_60 = start + timedelta(days=60)
    engine = mastery.Engine(risk_model=clf)
    service = {"tenant": "ou", "user": "importer", "roles": [{"role": "service"}]}
    early = [r for r in records if r["course"] == course and datetime.fromisoformat(r["occurred_at"]) < day_60]
    engine.ingest(service, early)
    tutor = {"tenant": "ou", "user": "tutor", "roles": [{"role": "instructor", "courses": [course]}]}
    at = day_60.isoformat()

    # The engine's stored features equal the OULAD table's for the same learners.
    rows = {r["learner"]: r for r in engine.risk_features(tutor, course, at)}
    expected = {i.rsplit("/", 1)[1]: k for k, i in enumerate(table.column("id").to_pylist()) if i.startswith(held_out)}
    both = [learner for learner in expected if learner in rows]
    same = sum(all(_close(rows[learner][f], table.column(f)[expected[learner]].as_py()) for f in GRADE_FEATURES)
               for learner in both)
    print(f"{course} at day 60: {len(rows)} learners with results in the engine, {len(expected)} in the OULAD "
          f"table; the engine's grade features equal the table's for {same} of the {len(both)} in both")
    assert same == len(both), "the engine's stored features differ from the OULAD table's"


    alerts = engine.at_risk(tutor, course, at, top=2)
    labels = {learner: int(table.column("at_risk")[k].as_py()) for learner, k in expected.items()}
    flagged = [a for a in alerts if a["band"] == "high"]
    known = [a for a in flagged if a["learner"] in labels]
    right = sum(labels[a["learner"]] for a in known)
    base = sum(labels[learner] for learner in both) / max(len(both), 1)
    print(f"  {len(flagged)} flagged high risk; of the {len(known)} in the table, {right} withdrew or failed "
          f"({right / max(len(known), 1):.0%}, against {base:.0%} of the learners in both)")
    for alert in flagged[:3]:
        reasons = "; ".join(r["text"] for r in alert["reasons"])
        print(f"  learner {alert['learner']}: {alert['score']:.2f} ({reasons})")
    board = engine.class_dashboard(tutor, course, at)
    weakest = ", ".join(f"{s['competency']} {s['mean']:.2f}" for s in board["least_proficient"][:2])
    print(f"  class dashboard: {board['learners']} learners, least proficient {weakest}, "
          f"{len(board['at_risk'])} alerts")


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if a != a or b != b:  # NaN: missing in both
        return a != a and b != b
    return abs(a - b) <= 1e-6


if __name__ == "__main__":
    main()
