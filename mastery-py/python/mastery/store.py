"""Stores written in Python for :class:`mastery.Engine`.

``Engine(store=obj)`` calls ``obj``'s methods (the :class:`MasteryStore` protocol, the same
methods as the Rust ``Store`` trait) with plain data:

- ``ctx``: ``{"principal": {"tenant", "user", "roles", "enrolled"}}``, the caller; a database
  store can run its query under that identity (row-level security). The engine checks the
  access policy before every call, so a store need not repeat it;
- ``evidence``: an evidence record as a dict (``id``, ``learner``, ``course``, ``competencies``,
  ``score``, ...), or a list of them;
- ``key``: ``{"learner", "course", "namespace", "name"}`` (``course`` absent outside any course);
- ``value``: a state, ``{"mastery": {...}}``, ``{"streak": {...}}``, ``{"awards": {...}}``,
  ``{"activity": {...}}`` or ``{"json": ...}``: keep it as it is. A store that declares
  ``value_format = "json"`` (a class or instance attribute) gets every value as one compact JSON
  string instead (``'{"mastery":{...}}'``) and gives it back as it got it: no nested dicts to build
  and collect, which makes ingest through a Python store about twice as fast; right for a store
  that only keeps values (in a dict, or a database's JSON or text column). ``get_state``,
  ``get_states``, ``learner_states`` and ``course_states`` may then answer a value as JSON text
  or as data. Such a store also gets each evidence record as ``{"id", "learner", "course",
  "json"}``: the fields to index it by (``course`` absent outside any course) and the whole record
  as JSON text, a dict of strings that CPython's cyclic collector never tracks (stored full
  records, with their nested ``score`` and ``competencies``, are walked by every full collection).
  Its evidence reads may answer those dicts, the JSON text alone, or whole records.
  Absent (or ``"data"``), values and records are dicts.

An exception raised by a method becomes ``MasteryError`` with code ``store_error``; nothing is
acknowledged to the caller unless ``apply`` returned.

Several engines over the same data (service workers in several processes over one database,
each with its own ``Engine``) serialise their batches per learner only within each engine. A
store they share versions its writes so that none loses another's update, with two optional
methods: ``read_version(ctx)`` (an ``int``: the store's read point, taken before the batch's
reads) and ``apply_since(ctx, since, evidence, states)``, which is ``apply`` except that it
writes nothing and raises :class:`mastery.StoreConflict` when another writer changed a learner
of the batch after ``since``; the engine then reads again and recomputes. Optional
``hold_writes(ctx) -> bool`` and ``release_writes(ctx)`` let an engine that met two conflicts
hold the other writers off for the rest of its batch. Over SQL: a ``learner_version`` row per
learner holding the last writer's version, checked ``SELECT ... FOR UPDATE`` in the write
transaction (``examples/lms-service`` does this over PostgreSQL). Without the two methods,
writes are last-write-wins across engines. :class:`DictStore` is a complete reference
implementation over lists and dicts, to copy when writing a store over a database.
"""

from __future__ import annotations

import asyncio
import threading
from itertools import repeat
from operator import itemgetter
from typing import Any, Dict, List, Optional, Protocol, Set, Tuple, runtime_checkable

Context = Dict[str, Any]
Evidence = Dict[str, Any]
Key = Dict[str, Any]
Value = Dict[str, Any]

from ._mastery import StoreConflict

__all__ = ["MasteryStore", "DictStore", "AsyncMasteryStore", "AsyncDictStore", "StoreConflict"]


@runtime_checkable
class MasteryStore(Protocol):
    """What :class:`mastery.Engine` needs from a store. Evidence ids are unique per
    (tenant, learner); every method is scoped to ``ctx["principal"]["tenant"]``.

    Examples
    --------
    >>> isinstance(DictStore(), MasteryStore)
    True
    """

    def apply(self, ctx: Context, evidence: List[Evidence], states: List[List[Any]]) -> List[str]:
        """Applies one ingest batch atomically: when none of ``evidence`` is stored yet (and no
        (learner, id) repeats within it), appends all of it and writes every ``[key, value]`` of
        ``states`` as one unit, returning ``"new"`` per record; otherwise writes nothing and
        returns ``"duplicate"`` for each record already stored (or repeated), ``"new"`` for the rest.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.apply(ctx, [e], [[k, {"json": 1}]]), s.apply(ctx, [e], [[k, {"json": 2}]])
        (['new'], ['duplicate'])
        >>> s.get_state(ctx, k)
        {'json': 1}
        """
        ...

    def known_evidence(self, ctx: Context, evidence: List[Evidence]) -> List[bool]:
        """Whether each record is already stored (by tenant, learner and id). ``Engine.ingest``
        does not call it (``apply`` answers the same question as it writes); hosts may.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.known_evidence(ctx, [e]), s.apply(ctx, [e], []), s.known_evidence(ctx, [e])
        ([False], ['new'], [True])
        """
        ...

    def append_evidence(self, ctx: Context, evidence: Evidence) -> str:
        """Stores one record once: ``"new"``, or ``"duplicate"`` (and nothing changes).

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.append_evidence(ctx, e), s.append_evidence(ctx, e)
        ('new', 'duplicate')
        """
        ...

    def learner_evidence(self, ctx: Context, learner: str) -> List[Evidence]:
        """One learner's evidence in the order it was appended.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> s.apply(ctx, [e], [])
        ['new']
        >>> [x["id"] for x in s.learner_evidence(ctx, "amy")]
        ['e1']
        """
        ...

    def course_evidence(self, ctx: Context, course: str) -> List[Evidence]:
        """A course's evidence in the order it was appended.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> s.apply(ctx, [e], [])
        ['new']
        >>> [x["id"] for x in s.course_evidence(ctx, "c1")]
        ['e1']
        """
        ...

    def get_state(self, ctx: Context, key: Key) -> Optional[Value]:
        """The state stored under ``key``, or ``None``.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.get_state(ctx, k) is None
        True
        >>> s.put_state(ctx, k, {"json": 1})
        >>> s.get_state(ctx, k)
        {'json': 1}
        """
        ...

    def put_state(self, ctx: Context, key: Key, value: Value) -> None:
        """Writes a state (last write wins).

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.put_state(ctx, k, {"json": 1})
        >>> s.put_state(ctx, k, {"json": 2})
        >>> s.get_state(ctx, k)
        {'json': 2}
        """
        ...

    # Optional: ``value_format = "json"``: values cross as JSON strings, not dicts, and evidence
    # records as ``{"id", "learner", "course", "json"}`` (see the module docstring; ``DictStore``
    # declares it).
    # Optional: ``get_states(ctx, keys) -> List[Optional[Value]]``, one answer per key in order.
    # When a store has it, the engine reads every state an ingest batch touches with one call
    # instead of one ``get_state`` call per key (``DictStore`` has it).

    def learner_states(self, ctx: Context, learner: str, namespace: str) -> List[List[Any]]:
        """``[key, value]`` of one learner's states in ``namespace`` (every course), in key order.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.put_state(ctx, k, {"json": 1})
        >>> [key["name"] for key, value in s.learner_states(ctx, "amy", "mastery")]
        ['fractions']
        """
        ...

    def course_states(self, ctx: Context, course: str, namespace: str) -> List[List[Any]]:
        """``[key, value]`` of every learner's states in ``namespace`` for ``course``.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.put_state(ctx, k, {"json": 1})
        >>> [key["learner"] for key, value in s.course_states(ctx, "c1", "mastery")]
        ['amy']
        """
        ...


_LEARNER, _FIRST = itemgetter("learner"), itemgetter(0)


def _tenant(ctx: Context) -> str:
    return ctx["principal"]["tenant"]


def _key_id(tenant: str, key: Key) -> Tuple[Any, ...]:
    course = key.get("course")
    # The Rust key order: learner, course (none first), namespace, name.
    return (tenant, key["learner"], course is not None, course or "", key["namespace"], key["name"])


def _key_of(ident: Tuple[Any, ...]) -> Key:
    """The key dict of a ``_key_id`` (the store keeps no key dicts: fewer objects for CPython's
    cyclic collector to walk)."""
    key = {"learner": ident[1]}
    if ident[2]:
        key["course"] = ident[3]
    key["namespace"] = ident[4]
    key["name"] = ident[5]
    return key


class DictStore(MasteryStore):
    """A store in plain lists and dicts, with no access checks of its own (the engine checks the
    policy before every call). Safe to share between threads, and between engines: it versions
    its writes (``read_version``, ``apply_since``, ``hold_writes``); not durable.

    >>> import mastery
    >>> store = mastery.DictStore()
    >>> engine = mastery.Engine(store=store)
    >>> service = {"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]}
    >>> engine.ingest(service, [{"id": "e1", "learner": "amy", "course": "c1", "competencies": ["k"],
    ...                          "kind": "response", "score": {"scaled": 0.5}, "source": "host"}])["new"]
    1
    >>> [key["name"] for key, value in store.learner_states({"principal": service}, "amy", "mastery")]
    ['k']
    >>> value = store.learner_states({"principal": service}, "amy", "mastery")[0][1]
    >>> value.startswith('{"mastery":')
    True
    """

    #: State values arrive as JSON text and evidence records as {"id", "learner", "course", "json"}
    #: (kept as they are, the text never read), not as nested dicts.
    value_format = "json"

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._evidence: Dict[str, List[Evidence]] = {}  # per tenant, in append order
        self._ids: set = set()
        self._states: Dict[Tuple[Any, ...], Value] = {}
        self._version = 0  # one more per write
        self._written: Dict[str, Dict[str, int]] = {}  # tenant: {learner: the version that last wrote it}
        self._held: Dict[str, int] = {}  # tenant: the thread holding its writes (hold_writes)

    def _stored(self, tenant: str, e: Evidence) -> bool:
        return (tenant, e["learner"], e["id"]) in self._ids

    def apply(self, ctx: Context, evidence: List[Evidence], states: List[List[Any]]) -> List[str]:
        return self._write(_tenant(ctx), evidence, states)

    def read_version(self, ctx: Context) -> int:
        """The read point for :meth:`apply_since`: the number of writes so far.

        Examples
        --------
        >>> DictStore().read_version({"principal": {"tenant": "t1"}})
        0
        """
        with self._lock:
            return self._version

    def apply_since(self, ctx: Context, since: int, evidence: List[Evidence], states: List[List[Any]]) -> List[str]:
        """:meth:`apply`, unless another writer wrote one of the batch's learners after ``since``
        (a :meth:`read_version`): then it writes nothing and raises :class:`mastery.StoreConflict`.
        Duplicates are reported first, as by ``apply``.

        Examples
        --------
        >>> import mastery
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1"}}
        >>> since = s.read_version(ctx)
        >>> s.apply(ctx, [{"id": "e1", "learner": "amy"}], [])          # another engine writes amy
        ['new']
        >>> try:
        ...     s.apply_since(ctx, since, [{"id": "e2", "learner": "amy"}], [])
        ... except mastery.StoreConflict:
        ...     print("read again")
        read again
        >>> s.apply_since(ctx, s.read_version(ctx), [{"id": "e2", "learner": "amy"}], [])
        ['new']
        """
        tenant = _tenant(ctx)
        if type(self).apply is DictStore.apply:  # one pass: check and write under one lock
            return self._write(tenant, evidence, states, since)
        with self._lock:  # re-entrant: a subclass's own apply takes it again
            self._wait_for_hold(tenant)
            _, flags, learners = self._examine(tenant, evidence, states)
            if flags is None:  # else apply reports the duplicates
                self._refuse_if_overtaken(tenant, since, learners)
            return self.apply(ctx, evidence, states)

    def hold_writes(self, ctx: Context) -> bool:
        """Holds the tenant's writes from other threads until :meth:`release_writes` (the engine
        calls it after two conflicts in one batch, so that batch cannot starve).

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1"}}
        >>> s.hold_writes(ctx)                     # other threads' writes now wait
        True
        >>> s.apply(ctx, [{"id": "e1", "learner": "amy"}], [])   # the holder's do not
        ['new']
        >>> s.release_writes(ctx)
        """
        tenant, me = _tenant(ctx), threading.get_ident()
        with self._lock:
            self._lock.wait_for(lambda: self._held.get(tenant, me) == me)
            self._held[tenant] = me
            return True

    def release_writes(self, ctx: Context) -> None:
        """Ends :meth:`hold_writes` (a thread that holds nothing releases nothing).

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1"}}
        >>> s.release_writes(ctx)
        >>> s.hold_writes(ctx), s.release_writes(ctx)
        (True, None)
        """
        tenant = _tenant(ctx)
        with self._lock:
            if self._held.get(tenant) == threading.get_ident():
                del self._held[tenant]
                self._lock.notify_all()

    def _wait_for_hold(self, tenant: str) -> None:
        """Waits (the lock held) while another thread holds the tenant's writes."""
        if self._held:
            me = threading.get_ident()
            self._lock.wait_for(lambda: self._held.get(tenant, me) == me)

    def _examine(self, tenant: str, evidence: List[Evidence],
                 states: List[List[Any]]) -> Tuple[List[Tuple[str, str, str]], Optional[List[str]], Set[str]]:
        """(the records' ids, the flags when any record is stored or repeated (nothing to write),
        the learners the batch writes), the lock held."""
        idents = [(tenant, e["learner"], e["id"]) for e in evidence]
        ids = self._ids
        if len(set(idents)) != len(idents) or not ids.isdisjoint(idents):
            flags, seen = [], set()
            for ident in idents:
                flags.append("duplicate" if ident in seen or ident in ids else "new")
                seen.add(ident)
            return idents, flags, set()
        # The learner of every record and state key, by C iterators (per record on the ingest path).
        learners = set(map(_LEARNER, evidence))
        learners.update(map(_LEARNER, map(_FIRST, states)))
        return idents, None, learners

    def _refuse_if_overtaken(self, tenant: str, since: int, learners: Set[str]) -> None:
        """Raises StoreConflict when a learner was written after ``since``, the lock held."""
        written = self._written.get(tenant, {})
        if learners and max(map(written.get, learners, repeat(0))) > since:
            raise StoreConflict("another writer changed a learner of this batch")

    def _write(self, tenant: str, evidence: List[Evidence], states: List[List[Any]],
               since: Optional[int] = None) -> List[str]:
        with self._lock:
            self._wait_for_hold(tenant)
            idents, flags, learners = self._examine(tenant, evidence, states)
            if flags is not None:
                return flags
            if since is not None:
                self._refuse_if_overtaken(tenant, since, learners)
            written = self._written.setdefault(tenant, {})
            self._version += 1
            written.update(zip(learners, repeat(self._version)))
            self._evidence.setdefault(tenant, []).extend(evidence)
            self._ids.update(idents)
            stored = self._states
            for key, value in states:
                stored[_key_id(tenant, key)] = value
            return ["new"] * len(evidence)

    def known_evidence(self, ctx: Context, evidence: List[Evidence]) -> List[bool]:
        tenant = _tenant(ctx)
        with self._lock:
            return [self._stored(tenant, e) for e in evidence]

    def append_evidence(self, ctx: Context, evidence: Evidence) -> str:
        return self.apply(ctx, [evidence], [])[0]

    def learner_evidence(self, ctx: Context, learner: str) -> List[Evidence]:
        tenant = _tenant(ctx)
        with self._lock:
            return [e for e in self._evidence.get(tenant, ()) if e["learner"] == learner]

    def course_evidence(self, ctx: Context, course: str) -> List[Evidence]:
        tenant = _tenant(ctx)
        with self._lock:
            return [e for e in self._evidence.get(tenant, ()) if e.get("course") == course]

    def get_state(self, ctx: Context, key: Key) -> Optional[Value]:
        with self._lock:
            return self._states.get(_key_id(_tenant(ctx), key))

    def get_states(self, ctx: Context, keys: List[Key]) -> List[Optional[Value]]:
        """The optional batched read: one answer per key, in order.

        Examples
        --------
        >>> s, ctx = DictStore(), {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1"}
        >>> k = {"learner": "amy", "course": "c1", "namespace": "mastery", "name": "fractions"}
        >>> s.put_state(ctx, k, {"json": 1})
        >>> s.get_states(ctx, [k, dict(k, name="decimals")])
        [{'json': 1}, None]
        """
        tenant = _tenant(ctx)
        get = self._states.get
        with self._lock:
            return [get(_key_id(tenant, key)) for key in keys]

    def put_state(self, ctx: Context, key: Key, value: Value) -> None:
        self._write(_tenant(ctx), [], [[key, value]])

    def learner_states(self, ctx: Context, learner: str, namespace: str) -> List[List[Any]]:
        tenant = _tenant(ctx)
        with self._lock:
            return [[_key_of(ident), v] for ident, v in sorted(self._states.items())
                    if ident[0] == tenant and ident[1] == learner and ident[4] == namespace]

    def course_states(self, ctx: Context, course: str, namespace: str) -> List[List[Any]]:
        tenant = _tenant(ctx)
        with self._lock:
            return [[_key_of(ident), v] for ident, v in sorted(self._states.items())
                    if ident[0] == tenant and ident[2] and ident[3] == course and ident[4] == namespace]


@runtime_checkable
class AsyncMasteryStore(Protocol):
    """What :class:`mastery.AsyncEngine` needs from a store: six of :class:`MasteryStore`'s
    methods, with the same arguments and answers (plain data; values as dicts), each of which
    may be a coroutine (``async def``) or return its answer at once. For a store over asyncpg,
    SQLAlchemy's ``AsyncSession`` or an HTTP client.

    Examples
    --------
    >>> import mastery
    >>> isinstance(mastery.AsyncDictStore(), mastery.AsyncMasteryStore)
    True
    """

    async def apply(self, ctx: Context, evidence: List[Evidence], states: List[List[Any]]) -> List[str]:
        """All-or-nothing: append every record and write every ``[key, value]``, answering
        ``"new"`` per record; or, when any record is already stored (or repeated), write nothing
        and answer ``"duplicate"`` for those.

        Examples
        --------
        >>> import asyncio, mastery
        >>> ctx = {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> asyncio.run(mastery.AsyncDictStore().apply(ctx, [{"id": "e1", "learner": "amy"}], []))
        ['new']
        """
        ...

    async def get_states(self, ctx: Context, keys: List[Key]) -> List[Optional[Value]]:
        """One answer per key, in order (``None`` where nothing is stored).

        Examples
        --------
        >>> import asyncio, mastery
        >>> ctx = {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> asyncio.run(mastery.AsyncDictStore().get_states(ctx, [{"learner": "amy", "namespace": "m", "name": "k"}]))
        [None]
        """
        ...

    async def put_state(self, ctx: Context, key: Key, value: Value) -> None:
        """Writes one state (last write wins).

        Examples
        --------
        >>> import asyncio, mastery
        >>> ctx = {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> asyncio.run(mastery.AsyncDictStore().put_state(ctx, {"learner": "amy", "namespace": "m", "name": "k"}, {"json": 1}))
        """
        ...

    async def learner_evidence(self, ctx: Context, learner: str) -> List[Evidence]:
        """One learner's evidence, in append order.

        Examples
        --------
        >>> import asyncio, mastery
        >>> ctx = {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> asyncio.run(mastery.AsyncDictStore().learner_evidence(ctx, "amy"))
        []
        """
        ...

    async def learner_states(self, ctx: Context, learner: str, namespace: str) -> List[List[Any]]:
        """``[key, value]`` pairs of one learner in ``namespace``, in key order.

        Examples
        --------
        >>> import asyncio, mastery
        >>> ctx = {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> asyncio.run(mastery.AsyncDictStore().learner_states(ctx, "amy", "mastery"))
        []
        """
        ...

    async def course_states(self, ctx: Context, course: str, namespace: str) -> List[List[Any]]:
        """``[key, value]`` pairs of a course in ``namespace``, in key order.

        Examples
        --------
        >>> import asyncio, mastery
        >>> ctx = {"principal": {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}}
        >>> asyncio.run(mastery.AsyncDictStore().course_states(ctx, "c1", "mastery"))
        []
        """
        ...


class AsyncDictStore(AsyncMasteryStore):
    """A reference :class:`AsyncMasteryStore` in plain lists and dicts, every method a coroutine
    that gives the event loop a turn first (as a database round trip would). No access checks of
    its own, not durable: copy it when writing a store over an async driver.

    Examples
    --------
    >>> import asyncio, mastery
    >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
    >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["k"], "kind": "response",
    ...      "score": {"scaled": 0.5}, "source": "host"}
    >>> asyncio.run(engine.ingest(svc, [e]))["new"]
    1
    """

    def __init__(self) -> None:
        self._evidence: Dict[str, List[Evidence]] = {}  # per tenant, in append order
        self._ids: set = set()
        self._states: Dict[Tuple[Any, ...], Value] = {}

    async def apply(self, ctx: Context, evidence: List[Evidence], states: List[List[Any]]) -> List[str]:
        await asyncio.sleep(0)
        tenant = _tenant(ctx)
        idents = [(tenant, e["learner"], e["id"]) for e in evidence]
        if len(set(idents)) != len(idents) or not self._ids.isdisjoint(idents):
            flags, seen = [], set()
            for ident in idents:
                flags.append("duplicate" if ident in seen or ident in self._ids else "new")
                seen.add(ident)
            return flags
        self._evidence.setdefault(tenant, []).extend(evidence)
        self._ids.update(idents)
        for key, value in states:
            self._states[_key_id(tenant, key)] = value
        return ["new"] * len(evidence)

    async def get_states(self, ctx: Context, keys: List[Key]) -> List[Optional[Value]]:
        await asyncio.sleep(0)
        tenant = _tenant(ctx)
        return [self._states.get(_key_id(tenant, key)) for key in keys]

    async def put_state(self, ctx: Context, key: Key, value: Value) -> None:
        await asyncio.sleep(0)
        self._states[_key_id(_tenant(ctx), key)] = value

    async def learner_evidence(self, ctx: Context, learner: str) -> List[Evidence]:
        await asyncio.sleep(0)
        return [e for e in self._evidence.get(_tenant(ctx), ()) if e["learner"] == learner]

    async def learner_states(self, ctx: Context, learner: str, namespace: str) -> List[List[Any]]:
        await asyncio.sleep(0)
        tenant = _tenant(ctx)
        return [[_key_of(ident), v] for ident, v in sorted(self._states.items())
                if ident[0] == tenant and ident[1] == learner and ident[4] == namespace]

    async def course_states(self, ctx: Context, course: str, namespace: str) -> List[List[Any]]:
        await asyncio.sleep(0)
        tenant = _tenant(ctx)
        return [[_key_of(ident), v] for ident, v in sorted(self._states.items())
                if ident[0] == tenant and ident[2] and ident[3] == course and ident[4] == namespace]
