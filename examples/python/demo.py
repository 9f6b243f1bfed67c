"""The engine from Python: 173,912 real OULAD assessment results into ``mastery.Engine`` with
streaks and badge awards, read back under the access policy as a service, an instructor and a
learner. Run: ``python examples/python/demo.py`` (after ``maturin develop`` in ``mastery-py``)."""

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
    taken = engine.acknowledge_awards(tutor, learner, [a["credential_id"] for a in outbox if a["learner"] == learner],
                                      course)
    print(f"  delivered and acknowledged {taken} awards; outbox now {len(engine.outbox(tutor, course))}")


if __name__ == "__main__":
    main()
