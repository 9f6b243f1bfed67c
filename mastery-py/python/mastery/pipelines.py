"""The core's data pipelines on tables: the leakage-safe risk feature builder and the OULAD
loader. Inputs are any Arrow tables (pyarrow, Polars, pandas, DuckDB); outputs are
:class:`~mastery.ArrowTable`.

>>> import polars as pl, mastery
>>> subs = pl.DataFrame({"learner": ["amy", "bo"], "due_day": [10.0, 10.0], "weight": [50.0, 50.0],
...                      "submitted_day": [9.0, None], "score": [80.0, None]})
>>> t = mastery.risk_features(30, submissions=subs).to_polars()
>>> t["learner"].to_list(), t["missing_submissions"].to_list()
(['amy', 'bo'], [0.0, 1.0])
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Union

from . import _mastery
from .tables import ArrowTable, is_arrow_table

__all__ = ["risk_features", "load_oulad", "RiskDataset", "badge_gallery"]


def risk_features(cutoff: float, events: Any = None, submissions: Any = None, mastery: Any = None,
                  learner: str = "learner") -> ArrowTable:
    """One row of risk features per learner at ``cutoff`` (a course day; only what happened
    before it is used, so features never leak the outcome).

    ``events``: ``learner, day[, clicks, seconds]``; ``submissions``: ``learner, due_day, weight,
    submitted_day, score`` (null: not due / not submitted / not scored); ``mastery``: ``learner,
    day, competency, p_known, mastered``. Without an ``events`` table the engagement features are
    missing (NaN), as for a host that does not track activity. Columns: ``learner`` and the core's
    features (``active_days``, ``grade_mean``, ``missing_submissions``, ...), ready for
    :class:`~mastery.RiskClassifier`.

    >>> import pyarrow as pa
    >>> ev = pa.table({"learner": ["a", "a", "b"], "day": [1.0, 2.0, 40.0], "clicks": [3, 4, 9]})
    >>> risk_features(10, events=ev).to_pyarrow().column("active_days").to_pylist()
    [2.0, 0.0]
    """
    return ArrowTable(_mastery.risk_features(cutoff, events, submissions, mastery, learner))


class RiskDataset(NamedTuple):
    """A labelled feature table: ``table`` (``id``, ``presentation``, the features, ``at_risk``,
    ``group_<attribute>``), the feature column names and their specs (for ``feature_specs=``);
    what :func:`load_oulad` returns.

    Examples
    --------
    >>> import pyarrow as pa, mastery
    >>> ds = mastery.RiskDataset(mastery.ArrowTable.from_arrow(pa.table({"clicks": [3.0], "at_risk": [0]})),
    ...                          ["clicks"], [{"name": "clicks"}])
    >>> ds.features, ds.table.num_rows
    (['clicks'], 1)
    """

    table: ArrowTable
    features: List[str]
    feature_specs: List[Dict[str, Any]]


def _error(code: str, field: Optional[str], message: str) -> _mastery.MasteryError:
    error = _mastery.MasteryError(message)
    error.code, error.field = code, field
    return error


def _read(directory: Path, name: str) -> str:
    for candidate in (directory / f"{name}.csv", directory / f"{name}.csv.gz"):
        try:
            if not candidate.is_file():
                continue
            if candidate.suffix == ".gz":
                with gzip.open(candidate, "rt", encoding="utf-8") as f:
                    return f.read()
            return candidate.read_text(encoding="utf-8")
        except (OSError, ValueError, EOFError):  # unreadable, not gzip, not UTF-8, a bad path
            raise _error("invalid_input", "path", f"invalid path: cannot read {name} in the OULAD directory") from None
    raise _error("not_found", None, f"{name}.csv (or .csv.gz) not found in the OULAD directory")


def load_oulad(path: Union[str, "os.PathLike[str]"], cutoff: float = 90,
               presentations: Optional[Sequence[str]] = None, include_protected: bool = False) -> RiskDataset:
    """The Open University Learning Analytics Dataset as an at-risk table at ``cutoff`` (a course
    day), built by the core's leakage-safe feature builder from ``studentInfo``,
    ``studentRegistration``, ``assessments`` and ``studentAssessment`` (``.csv`` or ``.csv.gz``
    in ``path``). ``at_risk`` is 1 for withdrawn or failed. ``presentations`` keeps only those
    (``["AAA/2013J", ...]``); the protected attributes are features only with
    ``include_protected`` (their groups are always in ``group_*`` columns, for fairness audits).

    >>> ds = load_oulad("fixtures/data/oulad", cutoff=60)  # doctest: +SKIP
    >>> clf = RiskClassifier().fit(ds.table.to_polars().select(ds.features), ds.table.column("at_risk"))  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        raise _error("invalid_input", "path", "invalid path: must be a directory path")
    try:
        directory = Path(os.fspath(path))
    except (TypeError, ValueError):
        raise _error("invalid_input", "path", "invalid path: must be a directory path") from None
    texts = [_read(directory, n) for n in ("studentInfo", "studentRegistration", "assessments", "studentAssessment")]
    native, specs = _mastery.oulad_risk_table(*texts, cutoff, presentations, include_protected)
    return RiskDataset(ArrowTable(native), [str(s["name"]) for s in specs], list(specs))


def badge_gallery(achievements: Any, facts: Any, learner: str, now: str, awards: Any = None,
                  tenant: Optional[str] = None, course: Optional[str] = None) -> ArrowTable:
    """One learner's badge gallery at ``now`` as a table, one row per achievement (in order):
    ``achievement``, ``version``, ``name``, ``image``, ``status`` (``earned``, ``in_progress``,
    ``expired``, ``revoked``), ``progress`` (0..1), ``credential_id``, ``awarded_at``,
    ``valid_until``, ``revocation_reason``.

    ``achievements`` are Open Badges 3.0 achievements with their award ``rule``; ``facts`` is
    what the rules see (``{"scores", "mastered", "streak", "evidence"}``); ``awards`` (a list of
    dicts or any Arrow table with ``achievement, version, credential_id, awarded_at[, revoked,
    course]``) are the awards already issued. A rule that holds now counts as earned at ``now``.
    ``course`` gives an instructor's view (only awards earned there).

    >>> rule = {"rule": "mastery", "competency": "fractions"}
    >>> badge = {"id": "https://b.example/f", "name": "Fractions", "description": "D", "criteria": "C", "rule": rule}
    >>> g = badge_gallery([badge], {"mastered": ["fractions"]}, "amy", "2026-03-01T00:00:00Z")
    >>> g.to_pyarrow().column("status").to_pylist()
    ['earned']
    """
    if awards is not None and is_arrow_table(awards):
        import pyarrow as pa

        awards = [{k: v for k, v in row.items() if v is not None} for row in pa.table(awards).to_pylist()]
    return ArrowTable(_mastery.badge_gallery(achievements, facts, learner, now, awards, tenant, course))
