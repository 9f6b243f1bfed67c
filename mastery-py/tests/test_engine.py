"""mastery.Engine over the embedded store and over stores written in Python."""

import time

import pytest

import mastery
from mastery import DictStore, Engine

SERVICE = {"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]}


def record(i, learners=10, competencies=7, course="c1"):
    return {
        "id": f"e{i}",
        "learner": f"l{i % learners}",
        "competencies": [f"k{i % competencies}"],
        "kind": "response",
        "score": {"scaled": (i * 37 % 100) / 100},
        "occurred_at": f"2026-03-{1 + i // 1000 % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
        "source": "host",
        "course": course,
    }


class Failing(DictStore):
    """A DictStore whose methods raise while `broken` is set."""

    def __init__(self):
        super().__init__()
        self.broken = True

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name in ("apply", "apply_since", "known_evidence", "get_state", "learner_states", "course_states") and self.broken:
            def fail(*args):
                raise RuntimeError("database is down")
            return fail
        return attr


def test_a_raising_store_is_a_store_error_and_the_engine_keeps_working():
    store = Failing()
    engine = Engine(store=store)
    outcome = engine.ingest(SERVICE, [record(0)])
    assert outcome["new"] == 0
    assert [r["code"] for r in outcome["rejected"]] == ["store_error"]
    for call in (
        lambda: engine.learner_states(SERVICE, "l0", "c1"),
        lambda: engine.class_states(SERVICE, "c1"),
        lambda: engine.mastery(SERVICE, "l0", "k0", "c1"),
    ):
        with pytest.raises(mastery.MasteryError) as e:
            call()
        assert e.value.code == "store_error"
        assert "RuntimeError" in str(e.value) and "database is down" in str(e.value)
    store.broken = False
    assert engine.ingest(SERVICE, [record(0)])["new"] == 1
    assert engine.mastery(SERVICE, "l0", "k0", "c1")["evidence_count"] == 1
    # Nothing was acknowledged while the store failed, so the record is new exactly once.
    assert engine.ingest(SERVICE, [record(0)])["duplicates"] == 1


def test_a_store_returning_garbage_is_a_store_error():
    class Garbage(DictStore):
        def apply(self, ctx, evidence, states):
            return "yes"

    outcome = Engine(store=Garbage()).ingest(SERVICE, [record(0)])
    assert [r["code"] for r in outcome["rejected"]] == ["store_error"]


def test_an_object_without_the_protocol_is_refused():
    with pytest.raises(mastery.MasteryError) as e:
        Engine(store=object())
    assert (e.value.code, e.value.field) == ("invalid_input", "store")
    assert isinstance(DictStore(), mastery.MasteryStore)


def test_a_python_store_holds_the_same_state_as_the_embedded_one():
    embedded, store = Engine(), DictStore()
    host = Engine(store=store)
    records = [record(i) for i in range(1_000)]
    for start in range(0, 1_000, 100):
        batch = records[start:start + 100]
        a, b = embedded.ingest(SERVICE, batch), host.ingest(SERVICE, batch)
        assert a == b and a["new"] == 100
    assert embedded.class_states(SERVICE, "c1") == host.class_states(SERVICE, "c1")
    for learner in range(10):
        states = host.learner_states(SERVICE, f"l{learner}", "c1")
        assert states == embedded.learner_states(SERVICE, f"l{learner}", "c1")
        assert sum(s["evidence_count"] for s in states) == 100
    # Every state went through the Python store.
    assert len(store._states) == 70
    # Repeats and late evidence agree too.
    late = [dict(record(5_000), occurred_at="2026-02-01T00:00:00Z")] + records[:10]
    assert embedded.ingest(SERVICE, late) == host.ingest(SERVICE, late)
    assert embedded.class_states(SERVICE, "c1") == host.class_states(SERVICE, "c1")


class JsonValues(DictStore):
    """A store that asks for its values as JSON text and checks that it gets text."""

    value_format = "json"

    def apply(self, ctx, evidence, states):
        import gc

        assert all(isinstance(value, str) for _, value in states)
        # Records come as the fields to index by and the record as text: strings only, so the
        # cyclic collector never tracks them.
        for e in evidence:
            assert set(e) <= {"id", "learner", "course", "json"} and isinstance(e["json"], str), e
            assert not gc.is_tracked(e)
        return super().apply(ctx, evidence, states)


class DataValues(DictStore):
    """DictStore with values as nested dicts (the protocol's default)."""

    value_format = None


def test_a_store_with_json_values_round_trips_every_state_kind_and_gives_the_same_dashboards():
    import json

    x, y, names = mastery.synthetic_risk_data(400, 7)
    model = mastery.NativeRiskModel.train_logistic(x, y, names)
    badge = {"id": "https://school.example/b/k1", "name": "K1", "description": "d", "criteria": "c",
             "rule": {"rule": "mastery", "competency": "k1"}}
    options = {"streaks": {}, "achievements": [badge], "risk_model": model}
    store, data_store = JsonValues(), DataValues()
    engines = [Engine(**options), Engine(store=store, **options), Engine(store=data_store, **options)]
    records = [record(i * 97) for i in range(600)]
    for start in range(0, len(records), 150):
        outcomes = [engine.ingest(SERVICE, records[start:start + 150]) for engine in engines]
        assert outcomes[0] == outcomes[1] == outcomes[2] and outcomes[0]["new"] == 150
    assert sum(1 for e in engines[0].outbox({"tenant": "t1", "user": "t", "roles": [{"role": "service"}]}, "c1"))
    # Every kind of state went through the store as JSON text and came back as it went.
    kinds = {next(iter(json.loads(value))) for value in store._states.values()}
    assert kinds == {"mastery", "streak", "awards", "activity"}
    assert all(isinstance(value, dict) for value in data_store._states.values())
    tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    at = "2026-03-29T00:00:00Z"

    def same(call):
        answers = [json.dumps(call(engine), sort_keys=True) for engine in engines]
        assert answers[0] == answers[1] == answers[2]
        return json.loads(answers[0])

    assert same(lambda e: e.class_states(SERVICE, "c1"))
    for learner in ("l0", "l3", "l9"):
        dashboard = same(lambda e: e.learner_dashboard(SERVICE, learner, at, "c1"))
        assert dashboard["records"] and dashboard["streak"] is not None
        same(lambda e: e.learner_states(SERVICE, learner, "c1"))
        same(lambda e: e.streak(SERVICE, learner, at, "c1"))
        same(lambda e: e.awards(SERVICE, learner, "c1"))
    assert same(lambda e: e.class_dashboard(tutor, "c1", at))["at_risk"] is not None
    assert same(lambda e: e.risk_features(tutor, "c1", at))
    same(lambda e: e.at_risk(tutor, "c1", at))
    assert same(lambda e: e.outbox(tutor, "c1"))
    # A value the store holds as data (written outside the engine) reads back too.
    ident = next(i for i in data_store._states if i[4] == "mastery" and i[1] == "l0")
    store._states[ident] = data_store._states[ident]
    assert isinstance(store._states[ident], dict)
    same(lambda e: e.learner_states(SERVICE, "l0", "c1"))
    # So does evidence: a whole record as data, and a record as its JSON text alone.
    held = store._evidence["t1"]
    first = held[0] = json.loads(held[0]["json"])
    assert first == data_store._evidence["t1"][0]
    plain = store.learner_evidence
    reads = []
    store.learner_evidence = lambda ctx, learner: reads.append(learner) or [
        e.get("json", e) for e in plain(ctx, learner)]
    # Late records for two learners and competencies: the engine re-reads their evidence.
    for n, was in enumerate((first, json.loads(held[1]["json"]))):
        late = dict(record(90_000 + n), learner=was["learner"], competencies=was["competencies"],
                    occurred_at="2026-01-01T00:00:00Z")
        assert len({json.dumps(e.ingest(SERVICE, [late]), sort_keys=True) for e in engines}) == 1
        same(lambda e: e.learner_states(SERVICE, was["learner"], "c1"))
        same(lambda e: e.learner_dashboard(SERVICE, was["learner"], at, "c1"))
    assert first["learner"] in reads


def test_a_store_value_format_other_than_json_or_data_is_refused():
    class Odd(DictStore):
        value_format = "xml"

    with pytest.raises(mastery.MasteryError) as e:
        Engine(store=Odd())
    assert (e.value.code, e.value.field) == ("invalid_input", "store")


def test_a_json_store_answering_garbage_text_is_a_store_error():
    class Garbled(DictStore):
        def get_states(self, ctx, keys):
            return ["{not json" for _ in keys]

    outcome = Engine(store=Garbled()).ingest(SERVICE, [record(0)])
    assert [r["code"] for r in outcome["rejected"]] == ["store_error"]
    assert "get_states" in outcome["rejected"][0]["reason"]


def test_ingest_speed_through_a_python_store():
    engine = Engine(store=DictStore())
    n, size = 10_000, 1_000
    records = [record(i, learners=100, competencies=7) for i in range(n)]
    started = time.perf_counter()
    for start in range(0, n, size):
        assert engine.ingest(SERVICE, records[start:start + size])["new"] == size
    elapsed = time.perf_counter() - started
    embedded = Engine()
    started = time.perf_counter()
    for start in range(0, n, size):
        embedded.ingest(SERVICE, records[start:start + size])
    reference = time.perf_counter() - started
    print(f"\ningest through a Python store: {n / elapsed:,.0f} records/s "
          f"(embedded store: {n / reference:,.0f} records/s), batches of {size}")


def test_a_durable_engine_reopens(tmp_path):
    engine = Engine(path=str(tmp_path))
    assert engine.ingest(SERVICE, [record(1)])["new"] == 1
    del engine
    again = Engine(path=str(tmp_path))
    assert again.mastery(SERVICE, "l1", "k1", "c1")["evidence_count"] == 1
    with pytest.raises(mastery.MasteryError) as e:
        Engine(store=DictStore(), path=str(tmp_path))
    assert e.value.code == "invalid_input"


def test_two_engines_share_a_directory_and_see_each_others_writes(tmp_path):
    first, second = Engine(path=str(tmp_path)), Engine(path=str(tmp_path))
    assert first.ingest(SERVICE, [record(1)])["new"] == 1
    assert second.ingest(SERVICE, [record(1)])["duplicates"] == 1
    assert second.ingest(SERVICE, [record(71)])["new"] == 1  # learner l1, competency k1 again
    for engine in (first, second):
        assert engine.mastery(SERVICE, "l1", "k1", "c1")["evidence_count"] == 2


def test_the_policy_is_checked_before_the_python_store():
    engine = Engine(store=DictStore())
    engine.ingest(SERVICE, [record(0)])
    other = {"tenant": "t1", "user": "l1", "roles": [{"role": "learner"}], "enrolled": ["c1"]}
    with pytest.raises(mastery.MasteryError) as e:
        engine.learner_states(other, "l0", "c1")
    assert e.value.code == "access_denied"


def test_threads_share_an_engine_over_a_python_store():
    """Engine calls release the GIL and the store re-acquires it: no deadlock between a thread
    holding a learner lock and one holding the GIL."""
    import threading

    embedded, host = Engine(), Engine(store=DictStore())
    records = [record(i) for i in range(400)]
    errors = []

    def work(part):
        try:
            for start in range(part * 100, part * 100 + 100, 20):
                host.ingest(SERVICE, records[start:start + 20])
                host.class_states(SERVICE, "c1")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and not errors
    embedded.ingest(SERVICE, records)
    for learner in range(10):
        got = {s["competency"]: s["evidence_count"] for s in host.learner_states(SERVICE, f"l{learner}", "c1")}
        assert got == {s["competency"]: s["evidence_count"] for s in embedded.learner_states(SERVICE, f"l{learner}", "c1")}


def _table(records):
    pa = pytest.importorskip("pyarrow")
    return pa.table({
        "id": [r["id"] for r in records],
        "learner": [r["learner"] for r in records],
        "course": [r["course"] for r in records],
        "competencies": [r["competencies"] for r in records],
        "score.scaled": [r["score"]["scaled"] for r in records],
        "occurred_at": [r["occurred_at"] for r in records],
    })


def test_ingest_from_arrow_equals_ingest_from_dicts():
    records = [record(i) for i in range(300)]
    from_dicts, from_arrow = Engine(), Engine()
    assert from_dicts.ingest(SERVICE, records)["new"] == 300
    outcome = from_arrow.ingest(SERVICE, _table(records))
    assert outcome == {"new": 300, "duplicates": 0, "rejected": [], "changes": 300, "awarded": 0}
    assert from_arrow.class_states(SERVICE, "c1") == from_dicts.class_states(SERVICE, "c1")
    # The same rows again are duplicates; Polars and pandas go through the same interface.
    assert from_arrow.ingest(SERVICE, _table(records))["duplicates"] == 300
    pl = pytest.importorskip("polars")
    again = Engine()
    assert again.ingest(SERVICE, pl.from_arrow(_table(records)))["new"] == 300
    assert again.class_states(SERVICE, "c1") == from_dicts.class_states(SERVICE, "c1")


def test_ingest_from_an_evidence_frame_and_a_timestamp_column():
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("pandas")
    records = [record(i) for i in range(50)]
    frame = mastery.evidence_frame({"accepted": records})   # json_normalize: `score.scaled` etc.
    from_frame, from_dicts = Engine(), Engine()
    from_dicts.ingest(SERVICE, records)
    assert from_frame.ingest(SERVICE, pa.Table.from_pandas(frame))["new"] == 50
    assert from_frame.class_states(SERVICE, "c1") == from_dicts.class_states(SERVICE, "c1")
    table = _table(records)
    times = pa.array(frame["occurred_at"].astype("datetime64[ns, UTC]"))
    timed = table.set_column(table.schema.get_field_index("occurred_at"), "occurred_at", times)
    engine = Engine()
    assert engine.ingest(SERVICE, timed)["new"] == 50
    assert engine.class_states(SERVICE, "c1") == from_dicts.class_states(SERVICE, "c1")


def test_a_bad_arrow_row_is_rejected_by_its_index_and_the_rest_stored():
    pa = pytest.importorskip("pyarrow")
    records = [record(i) for i in range(5)]
    table = _table(records)
    learners = pa.array(["l0", None, "l2", "l3", "l4"])
    table = table.set_column(table.schema.get_field_index("learner"), "learner", learners)
    times = pa.array(["2026-03-01T00:00:00Z", "x", "not a time", None, "2026-03-01T00:04:00Z"])
    table = table.set_column(table.schema.get_field_index("occurred_at"), "occurred_at", times)
    outcome = Engine().ingest(SERVICE, table)
    assert outcome["new"] == 3
    assert [(r["index"], r["field"]) for r in outcome["rejected"]] == [(1, "learner"), (2, "occurred_at")]
    with pytest.raises(mastery.MasteryError) as info:
        Engine().ingest(SERVICE, table.drop_columns(["id"]))
    assert (info.value.code, info.value.field) == ("invalid_input", "id")
    with pytest.raises(mastery.MasteryError) as info:
        Engine().ingest(SERVICE, table.set_column(0, "id", pa.array([[1]] * 5)))
    assert (info.value.code, info.value.field) == ("invalid_input", "id")


def test_reports_and_dashboards_come_back_as_views_with_an_arrow_side():
    engine = Engine()
    outcome = engine.ingest(SERVICE, [record(i) for i in range(40)] + [{"id": "bad"}])
    assert isinstance(outcome, mastery.IngestResult) and outcome["new"] == 40
    assert [r["index"] for r in outcome["rejected"]] == [40] and "1 rejected" in outcome._repr_html_()
    tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    columns = [{"id": f"k{c}", "label": f"K{c}"} for c in range(7)]
    heatmap = engine.class_heatmap(tutor, "c1", columns)
    assert isinstance(heatmap, mastery.Heatmap) and heatmap._repr_html_().startswith("<svg")
    assert heatmap.to_arrow().num_rows == 10 * 7
    board = engine.class_dashboard(tutor, "c1", "2026-04-01T00:00:00Z", {"competencies": columns})
    assert isinstance(board, mastery.ClassDashboard) and isinstance(board["heatmap"], mastery.Heatmap)
    assert board["heatmap"] == heatmap and board["summaries"].to_arrow().num_rows == 7
    assert "10 learners" in board._repr_html_()
    mine = engine.learner_dashboard(SERVICE, "l3", "2026-04-01T00:00:00Z", "c1")
    assert isinstance(mine, mastery.LearnerDashboard) and isinstance(mine["progress"], mastery.Progress)
    assert {r["competency"] for r in mine["progress"].rows()} == {v["competency"] for v in mine["records"]}


def test_a_malformed_record_in_a_list_is_refused_by_its_index_and_the_rest_stored():
    batch = [record(i) for i in range(5)]
    batch[2:2] = [{"id": "bad", "course": "c1"}, {**record(0), "id": "late", "occurred_at": "next tuesday"}]
    outcome = Engine().ingest(SERVICE, batch)
    assert outcome["new"] == 5
    assert [(r["index"], r["code"], r["field"]) for r in outcome["rejected"]] == [
        (2, "invalid_input", "learner"), (3, "invalid_input", "evidence")]
    assert "next tuesday" not in str(outcome["rejected"])


class Unversioned(DictStore):
    """A DictStore without its versioned writes: last write wins across engines."""

    read_version = None  # not callable: the engine calls apply
    apply_since = None


class Interleaved(DictStore):
    """Another engine writes the same learner between this engine's reads and its write, once."""

    def __init__(self, versioned=True):
        super().__init__()
        self.other = None
        self.conflicts = 0
        if not versioned:
            self.read_version = None
            self.apply_since = None

    def _before_write(self):
        other, self.other = self.other, None
        if other is not None:
            other()

    def apply(self, ctx, evidence, states):
        self._before_write()
        return super().apply(ctx, evidence, states)

    def apply_since(self, ctx, since, evidence, states):
        self._before_write()  # between this engine's reads and its write
        try:
            return super().apply_since(ctx, since, evidence, states)
        except mastery.StoreConflict:
            self.conflicts += 1
            raise


@pytest.mark.parametrize("versioned", [True, False])
def test_an_engine_overtaken_by_another_on_one_store_retries_and_loses_nothing(versioned):
    store = Interleaved(versioned)
    first, second = Engine(store=store), Engine(store=store)
    base = record(0)
    first.ingest(SERVICE, [dict(base, id="a0")])
    store.other = lambda: second.ingest(SERVICE, [dict(base, id="b1", occurred_at="2026-03-01T00:01:00Z")])
    first.ingest(SERVICE, [dict(base, id="a2", occurred_at="2026-03-01T00:02:00Z")])
    count = first.mastery(SERVICE, "l0", "k0", "c1")["evidence_count"]
    if versioned:
        # Refused once (the other engine wrote l0 after this batch's read), read again, written.
        assert store.conflicts == 1 and count == 3
    else:
        # The control: without versions the second write overwrites the other engine's update.
        assert count == 2


def test_two_engines_on_one_versioned_store_equal_a_replay():
    """Two engines (as two service workers would hold), two threads each, one DictStore: every
    batch for 4 learners overlaps the others, every tenth is sent again; what is stored equals
    one engine's replay of the same records."""
    import threading

    store = DictStore()
    engines = [Engine(store=store), Engine(store=store)]
    records = [record(i, learners=4, competencies=3) for i in range(1200)]
    batches = [records[i:i + 10] for i in range(0, 1200, 10)]
    errors = []

    def work(engine, part):
        try:
            for n, batch in enumerate(batches[part::4]):
                engine.ingest(SERVICE, batch)
                if n % 10 == 9:
                    assert engine.ingest(SERVICE, batch)["duplicates"] == len(batch)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(engines[p % 2], p)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not errors
    replay = Engine()
    replay.ingest(SERVICE, records)
    for learner in range(4):
        got = engines[0].learner_states(SERVICE, f"l{learner}", "c1")
        assert got == replay.learner_states(SERVICE, f"l{learner}", "c1")
        assert sum(s["evidence_count"] for s in got) == 300


def test_hold_writes_holds_other_threads_until_released():
    import threading

    store, ctx = DictStore(), {"principal": SERVICE}
    assert store.hold_writes(ctx) is True
    done = threading.Event()
    writer = threading.Thread(target=lambda: (store.apply(ctx, [{"id": "x", "learner": "l0"}], []), done.set()))
    writer.start()
    assert not done.wait(0.3)  # held
    store.apply(ctx, [{"id": "y", "learner": "l0"}], [])  # the holder still writes
    store.release_writes(ctx)
    assert done.wait(10)
    writer.join()
    assert store.known_evidence(ctx, [{"id": "x", "learner": "l0"}, {"id": "y", "learner": "l0"}]) == [True, True]
