"""``mastery.AsyncEngine`` over stores whose methods are coroutines: the same answers as
``mastery.Engine``, nothing lost between concurrent tasks, store failures as ``store_error``."""

import asyncio

import pytest

import mastery

SERVICE = {"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]}
TEACHER = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
BADGE = {"id": "https://school.example/practice", "name": "Practice", "description": "Ten answers on k1",
         "criteria": "Answer ten questions on k1", "rule": {"rule": "evidence_count", "min": 10, "competency": "k1"}}


def records(n, learners=20, competencies=5, start=0):
    out = []
    for i in range(start, start + n):
        # Every tenth record arrives late (older than what is stored), so records get rebuilt.
        minute = i - 500 if i % 10 == 9 else i
        out.append({
            "id": f"e{i}", "learner": f"l{i % learners}", "course": "c1",
            "competencies": [f"k{i % competencies}"] + ([f"k{(i + 1) % competencies}"] if i % 7 == 0 else []),
            "kind": "response", "score": {"scaled": ((i * 37) % 101) / 100},
            "occurred_at": f"2026-01-01T{(minute // 60) % 24:02d}:{minute % 60:02d}:00Z" if minute >= 0
            else "2025-12-31T23:00:00Z",
            "source": "host",
        })
    return out


class FlakyStore(mastery.AsyncDictStore):
    """An async store whose methods raise while ``failing`` names them; it counts its calls."""

    def __init__(self):
        super().__init__()
        self.failing = set()
        self.calls = 0

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name in ("apply", "get_states", "put_state", "learner_evidence", "learner_states", "course_states"):
            async def wrapped(*args):
                self.calls += 1
                if name in self.failing:
                    raise ConnectionError("database is down")
                return await attr(*args)
            return wrapped
        return attr


def test_a_thousand_records_give_the_engines_answers():
    batch = records(1000)
    sync = mastery.Engine(streaks={}, achievements=[BADGE])
    engine = mastery.AsyncEngine(mastery.AsyncDictStore(), streaks={}, achievements=[BADGE])

    async def main():
        for i in range(0, len(batch), 50):
            got = await engine.ingest(SERVICE, batch[i:i + 50])
            assert got == sync.ingest(SERVICE, batch[i:i + 50])
        at = "2026-01-02T00:00:00Z"
        assert await engine.class_states(TEACHER, "c1") == sync.class_states(TEACHER, "c1")
        assert await engine.learner_dashboard(SERVICE, "l1", at, "c1") == sync.learner_dashboard(SERVICE, "l1", at, "c1")
        assert await engine.class_dashboard(TEACHER, "c1", at) == sync.class_dashboard(TEACHER, "c1", at)
        assert await engine.badge_gallery(SERVICE, "l1", at, "c1") == sync.badge_gallery(SERVICE, "l1", at, "c1")
        awards = await engine.awards(SERVICE, "l1", "c1")
        assert awards == sync.awards(SERVICE, "l1", "c1") and len(awards) == 1
        outbox = await engine.outbox(TEACHER, "c1")
        assert outbox == sync.outbox(TEACHER, "c1") and outbox
        assert await engine.acknowledge_awards(TEACHER, "l1", [awards[0]["credential_id"]], "c1") == 1
        assert len(await engine.outbox(TEACHER, "c1")) == len(outbox) - 1

    asyncio.run(main())


def test_concurrent_tasks_lose_nothing():
    batch = records(600, learners=3, competencies=2)
    store = mastery.AsyncDictStore()
    engine = mastery.AsyncEngine(store)

    async def main():
        chunks = [batch[i:i + 50] for i in range(0, 600, 50)]
        # Twelve batches at once for the same three learners, every other one sent twice.
        outcomes = await asyncio.gather(*(engine.ingest(SERVICE, c) for c in chunks + chunks[::2]))
        assert sum(o["new"] for o in outcomes) == 600
        assert sum(o["duplicates"] for o in outcomes) == 300
        return await engine.class_states(TEACHER, "c1")

    replay = mastery.Engine()
    replay.ingest(SERVICE, batch)
    assert asyncio.run(main()) == replay.class_states(TEACHER, "c1")


def test_a_cancelled_call_leaves_nothing_locked():
    store = mastery.AsyncDictStore()
    engine = mastery.AsyncEngine(store)

    async def main():
        task = asyncio.ensure_future(engine.ingest(SERVICE, records(50, learners=2)))
        await asyncio.sleep(0)  # the call is now awaiting the store
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The learners' locks went with the cancelled call: the same learners ingest at once.
        out = await asyncio.wait_for(engine.ingest(SERVICE, records(50, learners=2, start=50)), timeout=30)
        assert out["new"] == 50

    asyncio.run(main())


def test_a_store_that_raises_is_a_store_error_and_the_engine_goes_on():
    store = FlakyStore()
    engine = mastery.AsyncEngine(store)

    async def main():
        store.failing = {"apply"}
        out = await engine.ingest(SERVICE, records(10))
        assert out["new"] == 0 and len(out["rejected"]) == 10
        assert {r["code"] for r in out["rejected"]} == {"store_error"}
        assert "ConnectionError" in out["rejected"][0]["reason"]
        store.failing = set()
        assert (await engine.ingest(SERVICE, records(10)))["new"] == 10
        store.failing = {"learner_states"}
        with pytest.raises(mastery.MasteryError) as raised:
            await engine.learner_states(SERVICE, "l1", "c1")
        assert raised.value.code == "store_error"
        store.failing = set()
        assert await engine.learner_states(SERVICE, "l1", "c1")

    asyncio.run(main())
    assert store.calls > 0


def test_plain_methods_work_too_and_wrong_shapes_are_store_errors():
    class Plain:
        """The protocol with ordinary methods (a store over a blocking cache)."""

        def __init__(self):
            self.inner = mastery.AsyncDictStore()

        def __getattr__(self, name):
            method = getattr(self.inner, name)
            return lambda *args: _now(method(*args))

    def _now(coroutine):
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        # AsyncDictStore's methods yield once (asyncio.sleep(0)) before answering.
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        raise AssertionError("the coroutine did not finish")

    engine = mastery.AsyncEngine(Plain())
    assert asyncio.run(engine.ingest(SERVICE, records(5)))["new"] == 5

    class Wrong(mastery.AsyncDictStore):
        async def get_states(self, ctx, keys):
            return [{"neither": 1}] * len(keys)

    out = asyncio.run(mastery.AsyncEngine(Wrong()).ingest(SERVICE, records(1)))
    assert out["rejected"][0]["code"] == "store_error"


def test_bad_arguments_raise_when_awaited_and_a_malformed_record_is_rejected_by_index():
    engine = mastery.AsyncEngine(mastery.AsyncDictStore())
    call = engine.ingest({"tenant": 1}, records(1))
    with pytest.raises(mastery.MasteryError) as raised:
        asyncio.run(call)
    assert raised.value.code == "invalid_input"
    batch = records(3)
    batch[1] = {"id": "x", "learner": 7}
    out = asyncio.run(engine.ingest(SERVICE, batch))
    assert out["new"] == 2 and [(r["index"], r["code"]) for r in out["rejected"]] == [(1, "invalid_input")]
    amy = {"tenant": "t1", "user": "l1", "roles": [{"role": "learner"}]}
    with pytest.raises(mastery.MasteryError) as raised:
        asyncio.run(engine.learner_states(amy, "l2", "c1"))
    assert raised.value.code == "access_denied"

    class Partial:
        async def apply(self, ctx, evidence, states):
            return []

    with pytest.raises(mastery.MasteryError) as raised:
        mastery.AsyncEngine(Partial())
    assert raised.value.code == "invalid_input" and raised.value.field == "store"
