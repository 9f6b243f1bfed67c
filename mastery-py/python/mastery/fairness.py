"""The fairness audit of risk scores: ``fairness_report`` (a dict, computed in the core) and
``fairness_frame`` (the same figures as a pandas DataFrame, one row per group)."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ._mastery import fairness_report as _fairness_report
from .views import FairnessReport

__all__ = ["fairness_report", "fairness_frame"]

_COLUMNS = ["count", "auc", "selection_rate", "false_positive_rate", "false_negative_rate", "mean_score", "base_rate"]


def fairness_report(scores, labels, groups, threshold: float = 0.5) -> FairnessReport:
    """Per group of ``groups`` (one label per row): ``count``, ``auc``, ``selection_rate`` (share
    at or above ``threshold``), ``false_positive_rate``, ``false_negative_rate``, ``mean_score``
    and ``base_rate`` (calibration); ``gaps`` holds max − min over the groups for each (and for
    ``calibration``, mean score − base rate). Undefined figures (an AUC for a group with one
    class) are None. The figures equal Fairlearn's ``MetricFrame`` ones.

    Returns a :class:`~mastery.views.FairnessReport`: a dict with a notebook table and ``to_arrow()``.

    Examples
    --------
    >>> import mastery
    >>> r = mastery.fairness_report([0.9, 0.2, 0.7, 0.1], [1, 0, 1, 0], ["a", "a", "b", "b"])
    >>> [(g["group"], g["selection_rate"]) for g in r["groups"]], r["gaps"]["selection_rate"]
    ([('a', 0.5), ('b', 0.5)], 0.0)
    """
    from . import _invalid

    try:
        s = np.asarray(scores, dtype=np.float64).ravel().tolist()
        y = np.asarray(labels, dtype=np.float64).ravel().tolist()
        g = [str(v) for v in (groups.tolist() if hasattr(groups, "tolist") else groups)]
        t = float(threshold)
    except Exception:  # noqa: BLE001 - any failure of the caller's objects (``__float__``, ``__str__``)
        raise _invalid("scores", "scores, labels and groups must be sequences of numbers and labels") from None
    try:
        return FairnessReport(_fairness_report(s, y, g, t))
    except (TypeError, UnicodeEncodeError):  # a group label that is not valid Unicode text
        raise _invalid("groups", "must hold valid Unicode labels") from None


def fairness_frame(report: Dict[str, Any]):
    """A report as a pandas DataFrame indexed by group, with a last row ``gap`` (max − min).

    Examples
    --------
    >>> import mastery
    >>> report = mastery.fairness_report([0.9, 0.2, 0.7, 0.1], [1, 0, 1, 0], ["a", "a", "b", "b"])
    >>> frame = mastery.fairness_frame(report)
    >>> list(frame.index), float(frame.loc["a", "mean_score"])
    (['a', 'b', 'gap'], 0.55)
    """
    import pandas as pd

    from . import _invalid

    if not isinstance(report, dict) or not isinstance(report.get("groups"), list) or not isinstance(report.get("gaps"), dict):
        raise _invalid("report", "must be a report from fairness_report")
    try:
        frame = pd.DataFrame(report["groups"]).set_index("group")[_COLUMNS]
    except (KeyError, TypeError, ValueError):
        raise _invalid("report", "must be a report from fairness_report") from None
    gaps = report["gaps"]
    frame.loc["gap"] = [np.nan] + [gaps[c] if gaps[c] is not None else np.nan for c in _COLUMNS[1:]]
    return frame
