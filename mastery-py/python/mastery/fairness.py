"""The fairness audit of risk scores: ``fairness_report`` (a dict, computed in the core) and
``fairness_frame`` (the same figures as a pandas DataFrame, one row per group)."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ._mastery import fairness_report as _fairness_report

__all__ = ["fairness_report", "fairness_frame"]

_COLUMNS = ["count", "auc", "selection_rate", "false_positive_rate", "false_negative_rate", "mean_score", "base_rate"]


def fairness_report(scores, labels, groups, threshold: float = 0.5) -> Dict[str, Any]:
    """Per group of ``groups`` (one label per row): ``count``, ``auc``, ``selection_rate`` (share
    at or above ``threshold``), ``false_positive_rate``, ``false_negative_rate``, ``mean_score``
    and ``base_rate`` (calibration); ``gaps`` holds max − min over the groups for each (and for
    ``calibration``, mean score − base rate). Undefined figures (an AUC for a group with one
    class) are None. The figures equal Fairlearn's ``MetricFrame`` ones."""
    s = np.asarray(scores, dtype=np.float64).ravel().tolist()
    y = np.asarray(labels, dtype=np.float64).ravel().tolist()
    g = [str(v) for v in (groups.tolist() if hasattr(groups, "tolist") else groups)]
    return _fairness_report(s, y, g, float(threshold))


def fairness_frame(report: Dict[str, Any]):
    """A report as a pandas DataFrame indexed by group, with a last row ``gap`` (max − min)."""
    import pandas as pd

    frame = pd.DataFrame(report["groups"]).set_index("group")[_COLUMNS]
    gaps = report["gaps"]
    frame.loc["gap"] = [np.nan] + [gaps[c] if gaps[c] is not None else np.nan for c in _COLUMNS[1:]]
    return frame
