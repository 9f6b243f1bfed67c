"""uniffi: a host store that versions its writes (HostVersions) keeps two engines over it from
losing each other's updates; without versions (the control) the update is lost."""

import json

import pytest

import mastery_ffi as m
from test_fixtures import DictStore

SERVICE = json.dumps({"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]})


class VersionedStore(DictStore, m.HostVersions):
    """DictStore plus versions: a write counter and the write that last touched each learner.
    `other`, when set, runs once between an engine's reads and its write (another engine
    overtaking it)."""

    def __init__(self):
        super().__init__()
        self.version = 0
        self.written = {}  # (tenant, learner) -> version
        self.other = None
        self.conflicts = 0

    def _overtaken(self):
        other, self.other = self.other, None
        if other is not None:
            other()

    def apply(self, ctx, evidence, states):
        self._overtaken()
        flags = super().apply(ctx, evidence, states)
        if "duplicate" not in json.loads(flags):
            self.version += 1
            tenant = self._tenant(ctx)
            learners = {e["learner"] for e in json.loads(evidence)} | {s["key"]["learner"] for s in json.loads(states)}
            for learner in learners:
                self.written[(tenant, learner)] = self.version
        return flags

    def read_version(self, ctx):
        return self.version

    def apply_since(self, ctx, since, evidence, states):
        self._overtaken()
        tenant, batch = self._tenant(ctx), json.loads(evidence)
        duplicates = len({(e["learner"], e["id"]) for e in batch}) != len(batch) or any(self._stored(tenant, e) for e in batch)
        learners = {e["learner"] for e in batch} | {s["key"]["learner"] for s in json.loads(states)}
        if not duplicates and any(self.written.get((tenant, learner), 0) > since for learner in learners):
            self.conflicts += 1
            return None  # refused: the engine reads again
        return self.apply(ctx, evidence, states)

    def hold_writes(self, ctx):
        return False

    def release_writes(self, ctx):
        pass


def record(id, minute):
    return {"id": id, "learner": "amy", "course": "c1", "competencies": ["k"], "kind": "response",
            "score": {"scaled": 0.5}, "source": "host", "occurred_at": f"2026-03-01T00:0{minute}:00Z"}


@pytest.mark.parametrize("versioned", [True, False])
def test_an_engine_overtaken_by_another_retries_and_loses_nothing(versioned):
    store = VersionedStore()
    make = (lambda: m.Engine.with_versioned_store(store, store)) if versioned else (lambda: m.Engine.with_store(store))
    first, second = make(), make()
    first.ingest(SERVICE, json.dumps([record("a0", 0)]))
    store.other = lambda: second.ingest(SERVICE, json.dumps([record("b1", 1)]))
    first.ingest(SERVICE, json.dumps([record("a2", 2)]))
    count = first.mastery(SERVICE, "amy", "k", "c1").evidence_count
    if versioned:
        assert store.conflicts == 1 and count == 3
    else:
        assert count == 2  # the control: the other engine's update was overwritten
