"""At-risk prediction with a scikit-learn compatible estimator.

``RiskClassifier`` takes LightGBM's scikit-learn parameter names where they mean the same thing,
works on numpy arrays and pandas DataFrames (read in place when they are C-contiguous float64),
trains with the GIL released, and explains each prediction with TreeSHAP reasons in words. The
fitted model saves to the versioned JSON model file that the browser (WASM) and phone (uniffi)
builds load and score bit for bit the same.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._mastery import NativeRiskModel

try:  # With scikit-learn installed, RiskClassifier is a real sklearn estimator (clone, pipelines).
    from sklearn.base import BaseEstimator, ClassifierMixin

    _BASES: tuple = (ClassifierMixin, BaseEstimator)
except ImportError:  # pragma: no cover - sklearn is optional
    _BASES = (object,)

__all__ = ["RiskClassifier", "NativeRiskModel"]


def _matrix(X) -> np.ndarray:
    """A C-contiguous float64 view of X (no copy when it already is one); None/NA become NaN."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(X, dtype=np.float64)


class RiskClassifier(*_BASES):  # type: ignore[misc]
    """Gradient-boosted trees for P(at risk), in the style of ``lightgbm.LGBMClassifier``.

    Parameters keep LightGBM's scikit-learn names: ``n_estimators``, ``learning_rate``,
    ``num_leaves``, ``max_depth`` (-1: unlimited), ``max_bin``, ``min_child_samples``,
    ``min_child_weight``, ``reg_lambda``, ``min_split_gain``, ``subsample``,
    ``colsample_bytree``, ``scale_pos_weight``, ``monotone_constraints``, ``random_state`` and
    ``n_jobs`` (-1 or None: every core). ``early_stopping_rounds`` stops on ``eval_set``.
    ``feature_specs`` (optional) name each column for teachers: a list of dicts with ``name``,
    ``display``, ``reason`` (``{value}`` is replaced) and ``monotone``.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        max_depth: int = -1,
        max_bin: int = 255,
        min_child_samples: int = 20,
        min_child_weight: float = 1e-3,
        reg_lambda: float = 0.0,
        min_split_gain: float = 0.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        scale_pos_weight: float = 1.0,
        monotone_constraints: Optional[Sequence[int]] = None,
        early_stopping_rounds: Optional[int] = None,
        random_state: Optional[int] = None,
        n_jobs: Optional[int] = None,
        feature_specs: Optional[List[Dict[str, Any]]] = None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.max_bin = max_bin
        self.min_child_samples = min_child_samples
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.min_split_gain = min_split_gain
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.scale_pos_weight = scale_pos_weight
        self.monotone_constraints = monotone_constraints
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.feature_specs = feature_specs

    # scikit-learn's estimator protocol -------------------------------------------------------
    _PARAMS = (
        "n_estimators", "learning_rate", "num_leaves", "max_depth", "max_bin", "min_child_samples",
        "min_child_weight", "reg_lambda", "min_split_gain", "subsample", "colsample_bytree",
        "scale_pos_weight", "monotone_constraints", "early_stopping_rounds", "random_state", "n_jobs",
        "feature_specs",
    )

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params) -> "RiskClassifier":
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"invalid parameter {name!r} for RiskClassifier")
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # only called by scikit-learn >= 1.6, so it is there
        tags.input_tags.allow_nan = True
        return tags

    def _core_params(self) -> Dict[str, Any]:
        threads = self.n_jobs
        return {
            "n_estimators": int(self.n_estimators),
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "max_depth": 2**63 - 1 if self.max_depth is None or self.max_depth <= 0 else int(self.max_depth),
            "max_bin": int(self.max_bin),
            "min_data_in_leaf": int(self.min_child_samples),
            "min_sum_hessian_in_leaf": float(self.min_child_weight),
            "lambda_l2": float(self.reg_lambda),
            "min_gain_to_split": float(self.min_split_gain),
            "bagging_fraction": float(self.subsample),
            "feature_fraction": float(self.colsample_bytree),
            "scale_pos_weight": float(self.scale_pos_weight),
            "monotone_constraints": [int(c) for c in (self.monotone_constraints or [])],
            "early_stopping_rounds": int(self.early_stopping_rounds or 0),
            "seed": int(self.random_state or 0),
            "num_threads": 0 if threads is None or threads < 0 else int(threads),
        }

    def fit(self, X, y, eval_set=None, feature_names: Optional[Sequence[str]] = None) -> "RiskClassifier":
        """Trains on X (NaN = missing) and y (0/1, or two classes that sort so)."""
        names = list(feature_names) if feature_names is not None else (
            [str(c) for c in X.columns] if hasattr(X, "columns") else None)
        x = _matrix(X)
        raw = np.asarray(y).ravel()
        self.classes_ = np.unique(raw)
        if len(self.classes_) != 2:
            raise ValueError("RiskClassifier needs exactly two classes in y")
        labels = (raw == self.classes_[1]).astype(np.float64)
        if names is None:
            names = [f"x{i}" for i in range(x.shape[1])]
        eval_x = eval_y = None
        if eval_set:
            ex, ey = eval_set[0] if isinstance(eval_set, list) else eval_set
            eval_x = _matrix(ex)
            eval_y = (np.asarray(ey).ravel() == self.classes_[1]).astype(np.float64)
        self.model_ = NativeRiskModel.train_gbdt(
            x, labels, names, self._core_params(), self.feature_specs, eval_x, eval_y)
        self.n_features_in_ = x.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        splits, gains = self.model_.importance()
        self.feature_importances_ = np.asarray(splits, dtype=np.int64)
        self.feature_gains_ = np.asarray(gains)
        self.best_iteration_ = self.model_.best_iteration
        return self

    def _check(self):
        if not hasattr(self, "model_"):
            raise ValueError("RiskClassifier is not fitted yet: call fit first")

    def predict_proba(self, X) -> np.ndarray:
        self._check()
        p = self.model_.predict_proba(_matrix(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        p = self.predict_proba(X)[:, 1]
        return np.where(p >= threshold, self.classes_[1], self.classes_[0])

    def score(self, X, y) -> float:
        """Accuracy, as scikit-learn classifiers score."""
        return float(np.mean(self.predict(X) == np.asarray(y).ravel()))

    def explain(self, X, top: int = 3) -> List[Dict[str, Any]]:
        """Per row: ``score``, ``margin``, ``base``, ``contributions`` and the ``reasons`` that
        raise the risk most, each with its ``text``."""
        self._check()
        return [self.model_.explain(list(map(float, row)), top) for row in _matrix(X)]

    def contributions(self, X) -> np.ndarray:
        """TreeSHAP values: rows × (features + 1); each row sums to its log-odds."""
        self._check()
        return self.model_.contributions(_matrix(X))

    def to_json(self) -> str:
        self._check()
        return self.model_.to_json()

    def save(self, path: "os.PathLike[str] | str") -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path: "os.PathLike[str] | str") -> "RiskClassifier":
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    @classmethod
    def from_json(cls, text: str) -> "RiskClassifier":
        model = NativeRiskModel.from_json(text)
        est = cls()
        est.model_ = model
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = len(model.feature_names)
        splits, gains = model.importance()
        est.feature_importances_ = np.asarray(splits, dtype=np.int64)
        est.feature_gains_ = np.asarray(gains)
        est.best_iteration_ = model.best_iteration
        return est
