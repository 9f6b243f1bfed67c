"""The fast path that reads Python data straight into records (``direct.rs``) against the JSON
path it stands in for.

The fast path reads only exact lists, so a ``list`` subclass holding the same items takes the
JSON path: the two must give the same outcome, the same stored records and the same error,
whatever the items hold. The items are drawn at random (seeded) from values each path must treat
alike: valid fields, wrong types, subclasses of the built-in types, non-finite numbers, integers
past 64 bits, cycles, deep nesting, non-string keys and unknown fields holding anything.
"""

import datetime
import math
import random

import numpy as np
import pytest

import mastery

SERVICE = {"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]}


class ListSubclass(list):
    """Read by the JSON path only."""


class Str(str):
    pass


class Int(int):
    pass


class Float(float):
    pass


class Dict(dict):
    pass


class Recording(mastery.DictStore):
    """Keeps every record the engine hands to the store, as dicts."""

    value_format = None

    def __init__(self):
        super().__init__()
        self.received = []

    def apply(self, ctx, evidence, states):
        self.received.append(evidence)
        return super().apply(ctx, evidence, states)


def cyclic_list():
    c = []
    c.append(c)
    return c


def cyclic_dict():
    d = {}
    d["self"] = d
    return d


def deep(n):
    value = "leaf"
    for _ in range(n):
        value = [value]
    return value


def pools():
    """Candidate values per field: the first of each is valid."""
    anything = [
        None, True, 0, -1, 2**63, 2**64, -(2**63) - 1, 0.5, float("nan"), float("inf"), -0.0, "text",
        Str("sub"), Int(3), Float(0.25), Dict(a=1), (1, 2), [1, [2]], {"k": [1, {"x": None}]},
        {1: "non-string key"}, cyclic_list(), cyclic_dict(), deep(127), deep(140), datetime.date(2026, 1, 1),
        b"bytes", np.float64(0.5), np.int64(3), "\ud800",
    ]
    return {
        "id": ["e", Str("e"), 1, None, "\ud800"],
        "learner": ["amy", Str("bob"), 5, True, ["amy"], None],
        "course": ["c1", None, 1.5, Str("c2")],
        "competencies": [["k1"], ["k1", "k2"], [], ("k1",), ["k1", 2], "k1", [None], ListSubclass(["k"]),
                         [Str("k3")], cyclic_list()],
        "kind": ["response", "completion", "nonsense", 1, Str("response"), {"response": None}, None],
        "score": [{"scaled": 0.5}, {"raw": 3, "max": 4}, {"scaled": True}, {"scaled": float("nan")},
                  {"scaled": 2**70}, {"scaled": "0.5"}, Dict(scaled=0.5), {"scaled": Float(0.1)},
                  {"scaled": 0.5, "extra": cyclic_dict()}, {"scaled": 0.5, "extra": datetime.date(2026, 1, 1)},
                  None, 0.5, [0.5]],
        "success": [True, False, None, 1, "yes"],
        "duration_seconds": [1.5, 3, None, float("inf"), Int(7), True],
        "occurred_at": ["2026-03-02T10:00:00Z", "2026-03-02T10:00:00+05:30", "yesterday", 0, None,
                        Str("2026-03-02T10:00:00Z")],
        "sequence": [1, -5, 2**63, 1.0, None, Int(4), True],
        "source": ["host", "xapi", "nonsense", None],
        "extra": anything,
    }


def record(rng, pools, i, hostile):
    out = {}
    for field, values in pools.items():
        if field == "extra" and rng.random() < 0.7:
            continue
        if rng.random() < 0.04:
            continue  # missing
        value = rng.choice(values) if hostile and rng.random() < 0.25 else values[0]
        if field == "id" and value == "e":
            value = f"e{i}"
        out[field] = value
    if hostile and rng.random() < 0.02:
        out[7] = "a key that is not a string"
    return out


def ingest(batch):
    store = Recording()
    engine = mastery.Engine(store=store)
    try:
        outcome = engine.ingest(SERVICE, batch)
    except mastery.MasteryError as error:
        return ("error", error.code, str(error))
    return ("ok", outcome, store.received)


def same(a, b):
    """Equal, with NaN equal to itself."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("seed", range(120))
def test_the_fast_path_answers_as_the_json_path(seed):
    rng = random.Random(seed)
    candidates = pools()
    hostile = seed % 4 != 0  # one batch in four holds valid records only
    batch = [record(rng, candidates, i, hostile and rng.random() < 0.3) for i in range(rng.randint(1, 12))]
    fast, reference = ingest(list(batch)), ingest(ListSubclass(batch))
    assert same(fast, reference), (fast, reference)


def test_valid_records_take_the_fast_path_and_keep_every_field():
    # The JSON path reads the same records the same way; this pins what both read.
    record = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["k1", "k2"], "kind": "response",
              "score": {"raw": 3, "min": 0, "max": 4}, "success": True, "completion": False,
              "duration_seconds": 12.5, "occurred_at": "2026-03-02T10:00:00+05:30", "sequence": 7,
              "activity": "https://example.org/items/1", "source": "xapi", "unknown": {"nested": [1, 2]}}
    status, outcome, received = ingest([record])
    assert status == "ok" and outcome["new"] == 1
    stored = received[0][0]
    expected = {k: v for k, v in record.items() if k != "unknown"}
    assert {k: stored[k] for k in expected} == expected


def test_a_cycle_in_an_unknown_field_is_refused_as_before():
    # The fast path skips fields a record does not have, but the JSON path reads them all.
    record = {"id": "e1", "learner": "amy", "kind": "response", "source": "host", "extra": cyclic_dict()}
    for batch in ([record], ListSubclass([record])):
        status, code, message = ingest(batch)
        assert (status, code) == ("error", "invalid_input") and "cycle" in message
