"""The badge gallery through the uniffi-generated Python bindings."""

import json

import mastery_ffi as m

ACHIEVEMENTS = [
    {"id": f"https://example.org/a/{k}", "name": k, "description": k, "criteria": k,
     "valid_days": days, "rule": {"rule": "mastery", "competency": k}}
    for k, days in [("a", 730), ("b", 30), ("c", None), ("d", None)]
]


def award(k, revoked=None):
    return {"learner": "l1", "achievement": f"https://example.org/a/{k}", "version": 1,
            "credential_id": f"urn:uuid:{k}", "awarded_at": "2024-01-01T00:00:00Z", "revoked": revoked}


def test_every_state():
    awards = [award("a"), award("b"), award("d", "re-graded")]
    items = m.badge_gallery(json.dumps(awards), json.dumps(ACHIEVEMENTS), "2024-03-01T00:00:00Z")
    assert [i.status for i in items] == [
        m.BadgeStatus.EARNED, m.BadgeStatus.EXPIRED, m.BadgeStatus.IN_PROGRESS, m.BadgeStatus.REVOKED]
    assert items[0].credential_id == "urn:uuid:a" and items[0].valid_until.startswith("2025-12-31")
    assert items[2].progress == 0.0 and items[3].revocation_reason == "re-graded"


def test_bad_json_is_invalid_input():
    try:
        m.badge_gallery("{", "[]", "2024-03-01T00:00:00Z")
    except m.MasteryError.InvalidInput as e:
        assert "awards" in str(e)
    else:
        raise AssertionError("should fail")
