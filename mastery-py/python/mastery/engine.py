"""The engine as Python users see it: the native engine, whose reports and dashboards come back
as the views of :mod:`mastery.views` (still ``dict``s, with a notebook face and ``to_arrow()``).

Examples
--------
>>> import mastery
>>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
>>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
>>> engine = mastery.Engine()
>>> type(engine.ingest(svc, [e])).__name__
'IngestResult'
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _mastery
from .views import ClassDashboard, Heatmap, IngestResult, LearnerDashboard

__all__ = ["Engine", "AsyncEngine"]


class Engine(_mastery.Engine):
    """Ingests evidence as a principal and reads mastery, streaks, awards, risk and dashboards
    from stored state. ``Engine()`` keeps everything in memory, ``Engine(path=dir)`` in a durable
    directory, ``Engine(store=obj)`` in a Python ``MasteryStore``; see the native methods for the
    options (``streaks``, ``achievements``, ``framework``, ``risk_model``, ``risk_bands``).

    Examples
    --------
    >>> import mastery
    >>> engine = mastery.Engine(streaks={})
    >>> isinstance(engine, mastery._mastery.Engine)
    True
    """

    def ingest(self, principal: Mapping[str, Any], evidence: Union[List[Mapping[str, Any]], Any]) -> IngestResult:
        """Stores each record once and updates mastery (one atomic store commit per batch);
        returns ``{new, duplicates, rejected, changes}`` as an :class:`~mastery.IngestResult`.
        ``evidence`` is a list of evidence dicts or an Arrow table with one row per record.

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> out = mastery.Engine().ingest(svc, [e, e])
        >>> out["new"], out["duplicates"], "1 duplicates" in out._repr_html_()
        (1, 1, True)
        """
        return IngestResult(super().ingest(principal, evidence))

    def class_heatmap(self, principal: Mapping[str, Any], course: str,
                      competencies: List[Mapping[str, str]]) -> Heatmap:
        """The class heatmap of a course (learners x ``competencies``, ``[{"id", "label"}]``, in
        that order) read from the stored records, as a :class:`~mastery.Heatmap`.

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.Engine()
        >>> engine.ingest(svc, [e])["new"]
        1
        >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
        >>> heatmap = engine.class_heatmap(tutor, "c1", [{"id": "fractions", "label": "Fractions"}])
        >>> [(r["row"], r["column"], r["value"]) for r in heatmap.rows()]
        [('amy', 'fractions', 0.9)]
        """
        return Heatmap(super().class_heatmap(principal, course, competencies))

    def learner_dashboard(self, principal: Mapping[str, Any], learner: str, at: str,
                          course: Optional[str] = None) -> LearnerDashboard:
        """A learner's dashboard at ``at`` as a :class:`~mastery.LearnerDashboard`: ``records``,
        ``rings`` (a ring chart, with a framework), ``gaps``, ``next``, ``streak``, ``badges``,
        ``progress`` (a progress view).

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.Engine()
        >>> engine.ingest(svc, [e])["new"]
        1
        >>> board = engine.learner_dashboard(svc, "amy", "2026-03-03T00:00:00Z", "c1")
        >>> [(r["competency"], r["value"]) for r in board["progress"].rows()]
        [('fractions', 0.9)]
        """
        return LearnerDashboard(super().learner_dashboard(principal, learner, at, course))

    def class_dashboard(self, principal: Mapping[str, Any], course: str, at: str,
                        options: Optional[Mapping[str, Any]] = None) -> ClassDashboard:
        """A class's dashboard at ``at`` as a :class:`~mastery.ClassDashboard`: ``learners``,
        ``heatmap`` (a heatmap view), ``summaries`` and ``least_proficient`` (class summaries),
        ``at_risk`` (with a risk model).

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.Engine()
        >>> engine.ingest(svc, [e])["new"]
        1
        >>> board = engine.class_dashboard(svc, "c1", "2026-03-03T00:00:00Z")
        >>> board["learners"], board["summaries"].to_arrow().num_rows
        (1, 1)
        """
        return ClassDashboard(super().class_dashboard(principal, course, at, options))


class AsyncEngine:
    """:class:`Engine` over a store whose methods are coroutines (an :class:`AsyncMasteryStore`:
    asyncpg, SQLAlchemy's ``AsyncSession``, an HTTP client): every method is a coroutine, and no
    call blocks the event loop. The engine's own work runs in Rust between the store's awaits; its
    rules (``streaks``, ``achievements``, ``framework``, ``risk_model``, ``risk_bands``) are
    :class:`Engine`'s. Concurrent ingests of one learner wait for each other, so nothing is lost.
    A store method that raises is ``MasteryError(code="store_error")`` (the batch's records are
    rejected by index, the engine goes on); bad arguments raise ``MasteryError`` when awaited.
    The store must not call the engine from inside its own methods.

    Examples
    --------
    >>> import asyncio, mastery
    >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), streaks={})
    >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    >>> asyncio.run(engine.ingest(svc, [e]))["new"]
    1
    """

    def __init__(self, store: Any, streaks: Optional[Mapping[str, Any]] = None,
                 achievements: Optional[List[Mapping[str, Any]]] = None, framework: Any = None,
                 risk_model: Any = None, risk_bands: Optional[List[Mapping[str, Any]]] = None) -> None:
        self._core = _mastery.AsyncEngineCore(store, streaks, achievements, framework, risk_model, risk_bands)
        self._store = store

    async def _run(self, op: str, principal: Mapping[str, Any], **args: Any) -> Any:
        """Drives one engine call: awaits each store method it asks for, or the wake-up of a call
        it waits for, until it answers."""
        call = self._core.start(op, principal, args)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        wake = functools.partial(loop.call_soon_threadsafe, woken.set)
        while True:
            woken.clear()
            step = call.poll(wake)
            if step[0] == "done":
                return step[1]
            if step[0] == "wait":
                await woken.wait()
                continue
            method, arguments = step[1], step[2]
            try:
                answer = getattr(self._store, method)(*arguments)
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as error:  # noqa: BLE001 - any store failure is the call's store_error
                call.fail(method, error)
            else:
                call.answer(method, answer)

    async def ingest(self, principal: Mapping[str, Any], evidence: List[Mapping[str, Any]]) -> IngestResult:
        """Stores each record once and updates mastery, streaks and awards (one ``apply``); the outcome
        as :meth:`Engine.ingest` gives it. A malformed record is rejected by its index.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> out = asyncio.run(engine.ingest(svc, [e, e]))
        >>> out["new"], out["duplicates"]
        (1, 1)
        """
        return IngestResult(await self._run("ingest", principal, evidence=evidence))

    async def learner_states(self, principal: Mapping[str, Any], learner: str, course: Optional[str] = None) -> List[Dict[str, Any]]:
        """A learner's mastery views in one course (or outside any), sorted by competency.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return [v["competency"] for v in await engine.learner_states(svc, "amy", "c1")]
        >>> asyncio.run(main())
        ['fractions']
        """
        return await self._run("learner_states", principal, learner=learner, course=course)

    async def class_states(self, principal: Mapping[str, Any], course: str) -> Dict[str, List[Dict[str, Any]]]:
        """Every learner's mastery views in a course.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return list(await engine.class_states(svc, "c1"))
        >>> asyncio.run(main())
        ['amy']
        """
        return await self._run("class_states", principal, course=course)

    async def class_heatmap(self, principal: Mapping[str, Any], course: str, competencies: List[Mapping[str, str]]) -> Heatmap:
        """The class heatmap of a course (learners x ``competencies``) from the stored records.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.class_heatmap(svc, "c1", [{"id": "fractions", "label": "Fractions"}])
        >>> asyncio.run(main())["cells"][0][0]["text"]
        '90%'
        """
        return Heatmap(await self._run("class_heatmap", principal, course=course, competencies=competencies))

    async def mastery(self, principal: Mapping[str, Any], learner: str, competency: str, course: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """One learner's mastery view of one competency, or ``None``.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.mastery(svc, "amy", "fractions", "c1")
        >>> asyncio.run(main())["rating"]
        'Mastery'
        """
        return await self._run("mastery", principal, learner=learner, competency=competency, course=course)

    async def streak(self, principal: Mapping[str, Any], learner: str, now: str, course: Optional[str] = None) -> Dict[str, Any]:
        """A learner's streak in one course (or outside any) as of ``now``. Needs ``streaks=``.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), streaks={})
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.streak(svc, "amy", "2026-03-02T12:00:00Z", "c1")
        >>> asyncio.run(main())["current"]
        1
        """
        return await self._run("streak", principal, learner=learner, now=now, course=course)

    async def class_streaks(self, principal: Mapping[str, Any], course: str, now: str) -> Dict[str, Dict[str, Any]]:
        """Every learner's streak in a course as of ``now``.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), streaks={})
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.class_streaks(svc, "c1", "2026-03-02T12:00:00Z")
        >>> asyncio.run(main())["amy"]["current"]
        1
        """
        return await self._run("class_streaks", principal, course=course, now=now)

    async def streak_report(self, principal: Mapping[str, Any], learner: str, now: str, course: Optional[str] = None) -> Dict[str, Any]:
        """The streak with its explained calendar, from the evidence the caller may read.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), streaks={})
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.streak_report(svc, "amy", "2026-03-02T12:00:00Z", "c1")
        >>> asyncio.run(main())["current"]
        1
        """
        return await self._run("streak_report", principal, learner=learner, now=now, course=course)

    async def awards(self, principal: Mapping[str, Any], learner: str, course: Optional[str] = None) -> List[Dict[str, Any]]:
        """A learner's awards in one course (or outside any). Needs ``achievements=``.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> badge = {"id": "https://b.example/f", "name": "F", "description": "F", "criteria": "F",
        ...          "rule": {"rule": "evidence_count", "min": 1, "competency": "fractions"}}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), achievements=[badge])
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.awards(svc, "amy", "c1")
        >>> [a["achievement"] for a in asyncio.run(main())]
        ['https://b.example/f']
        """
        return await self._run("awards", principal, learner=learner, course=course)

    async def outbox(self, principal: Mapping[str, Any], course: str) -> List[Dict[str, Any]]:
        """A course's awards and revocations not acknowledged yet.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> badge = {"id": "https://b.example/f", "name": "F", "description": "F", "criteria": "F",
        ...          "rule": {"rule": "evidence_count", "min": 1, "competency": "fractions"}}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), achievements=[badge])
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.outbox(svc, "c1")
        >>> len(asyncio.run(main()))
        1
        """
        return await self._run("outbox", principal, course=course)

    async def acknowledge_awards(self, principal: Mapping[str, Any], learner: str, credential_ids: List[str], course: Optional[str] = None) -> int:
        """Takes delivered awards out of the outbox; answers how many it took.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> badge = {"id": "https://b.example/f", "name": "F", "description": "F", "criteria": "F",
        ...          "rule": {"rule": "evidence_count", "min": 1, "competency": "fractions"}}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), achievements=[badge])
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     ids = [a["credential_id"] for a in await engine.outbox(svc, "c1")]
        ...     return await engine.acknowledge_awards(svc, "amy", ids, "c1"), await engine.outbox(svc, "c1")
        >>> asyncio.run(main())
        (1, [])
        """
        return await self._run("acknowledge_awards", principal, learner=learner, credential_ids=credential_ids, course=course)

    async def revoke_award(self, principal: Mapping[str, Any], learner: str, achievement: str, reason: str, course: Optional[str] = None) -> int:
        """Revokes a learner's award of ``achievement`` (into the outbox); answers how many.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> badge = {"id": "https://b.example/f", "name": "F", "description": "F", "criteria": "F",
        ...          "rule": {"rule": "evidence_count", "min": 1, "competency": "fractions"}}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), achievements=[badge])
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.revoke_award(svc, "amy", "https://b.example/f", "re-graded", "c1")
        >>> asyncio.run(main())
        1
        """
        return await self._run("revoke_award", principal, learner=learner, achievement=achievement, reason=reason, course=course)

    async def badge_gallery(self, principal: Mapping[str, Any], learner: str, now: str, course: Optional[str] = None) -> List[Dict[str, Any]]:
        """The badge gallery of a learner as of ``now``, from stored state.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> badge = {"id": "https://b.example/f", "name": "F", "description": "F", "criteria": "F",
        ...          "rule": {"rule": "evidence_count", "min": 1, "competency": "fractions"}}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore(), achievements=[badge])
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.badge_gallery(svc, "amy", "2026-03-03T00:00:00Z", "c1")
        >>> [tile["status"] for tile in asyncio.run(main())]
        ['earned']
        """
        return await self._run("badge_gallery", principal, learner=learner, now=now, course=course)

    async def learner_dashboard(self, principal: Mapping[str, Any], learner: str, at: str, course: Optional[str] = None) -> LearnerDashboard:
        """A learner's dashboard at ``at`` as :meth:`Engine.learner_dashboard` gives it.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.learner_dashboard(svc, "amy", "2026-03-03T00:00:00Z", "c1")
        >>> [r["competency"] for r in asyncio.run(main())["records"]]
        ['fractions']
        """
        return LearnerDashboard(await self._run("learner_dashboard", principal, learner=learner, at=at, course=course))

    async def class_dashboard(self, principal: Mapping[str, Any], course: str, at: str, options: Optional[Mapping[str, Any]] = None) -> ClassDashboard:
        """A class's dashboard at ``at`` as :meth:`Engine.class_dashboard` gives it.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> async def main():
        ...     await engine.ingest(svc, [e])
        ...     return await engine.class_dashboard(svc, "c1", "2026-03-03T00:00:00Z")
        >>> asyncio.run(main())["learners"]
        1
        """
        return ClassDashboard(await self._run("class_dashboard", principal, course=course, at=at, options=options))

    async def at_risk(self, principal: Mapping[str, Any], course: str, at: str, top: Optional[int] = None) -> List[Dict[str, Any]]:
        """The class's learners at risk at ``at``, highest score first, with reasons. Needs ``risk_model=``.

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> asyncio.run(engine.at_risk(svc, "c1", "2026-03-03T00:00:00Z"))
        Traceback (most recent call last):
        ...
        mastery.MasteryError: invalid risk_model: this engine scores no risk: create it with a risk model
        """
        return await self._run("at_risk", principal, course=course, at=at, top=top)

    async def record_risk(self, principal: Mapping[str, Any], course: str, at: str, top: Optional[int] = None) -> List[Dict[str, Any]]:
        """Scores the class as ``at_risk`` does and records each learner's band (one ``apply``).

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> asyncio.run(engine.record_risk(svc, "c1", "2026-03-03T00:00:00Z"))
        Traceback (most recent call last):
        ...
        mastery.MasteryError: invalid risk_model: this engine scores no risk: create it with a risk model
        """
        return await self._run("record_risk", principal, course=course, at=at, top=top)

    async def risk_features(self, principal: Mapping[str, Any], course: str, at: str) -> List[Dict[str, Any]]:
        """Every learner's risk features in a course at ``at``, from stored state (NaN where unknown).

        Examples
        --------
        >>> import asyncio, mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.AsyncEngine(mastery.AsyncDictStore())
        >>> asyncio.run(engine.risk_features(svc, "c1", "2026-03-03T00:00:00Z"))
        Traceback (most recent call last):
        ...
        mastery.MasteryError: invalid risk_model: this engine scores no risk: create it with a risk model
        """
        return await self._run("risk_features", principal, course=course, at=at)
