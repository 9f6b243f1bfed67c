"""A pyBKT-compatible front end: ``from mastery.pybkt import Model`` instead of
``from pyBKT.models import Model``. Fitting and prediction run in Rust with the GIL released."""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

from . import _mastery
from .tables import ArrowTable, ProgressCallback, is_arrow_table, progress_callback

_DEFAULTS = {
    "order_id": "order_id",
    "skill_name": "skill_name",
    "correct": "correct",
    "user_id": "user_id",
    "template_id": "template_id",
}


def _add_columns(df, **columns):
    """Adds numpy columns to a DataFrame without copying them (``df[name] = array`` copies
    under pandas' copy-on-write; a Series on the frame's own index is taken as it is)."""
    import pandas as pd

    for name, values in columns.items():
        df[name] = pd.Series(values, index=df.index, copy=False)


def _metric(name, predicted, correct):
    predicted, correct = list(map(float, predicted)), list(map(int, correct))
    if callable(name):
        return name(correct, predicted)
    if name not in ("rmse", "accuracy", "auc"):
        raise ValueError(f"unknown metric {name!r}")
    return _mastery.evaluate(predicted, correct)[name]


class BKTModel:
    """Bayesian Knowledge Tracing with pyBKT's parameters, semantics and method names.

    Fits run in Rust (EM with ``num_fits`` seeded restarts); the fitted model saves as the versioned
    JSON file that Rust, WASM and mobile load. In a notebook it shows a table of the fitted
    parameters.

    Examples
    --------
    >>> import pandas as pd, mastery
    >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
    ...                     "correct": [0, 1, 1, 1, 0, 0]})
    >>> mastery.BKTModel(num_fits=1).fit(data=log)
    BKTModel(seed=42, num_fits=1; 1 skills)
    """

    def __init__(self, seed: int = 42, num_fits: int = 5, parallel: bool = False, **options: Any):
        self.seed = seed
        self.num_fits = num_fits
        self.parallel = parallel  # accepted for compatibility; fitting is single-threaded
        self.options = options
        self.defaults = dict(_DEFAULTS)
        self._native: Optional[_mastery.NativeBktModel] = None
        self._columns: dict = {}

    # ------------------------------------------------------------------ data
    def _arrow_columns(self, multilearn: Any = False, multigs: Any = False, multiprior: Any = False) -> dict:
        """The column names the native Arrow reader takes (``defaults`` applied)."""
        d = self.defaults
        template = None
        for flag in (multilearn, multigs):
            if flag:
                template = flag if isinstance(flag, str) else d["template_id"]
        prior = (multiprior if isinstance(multiprior, str) else d["correct"]) if multiprior else None
        return {"user_id": d["user_id"], "skill_name": d["skill_name"], "correct": d["correct"],
                "order_id": d["order_id"], "template_id": template, "prior_group": prior}

    def _arrow(self, data: Any, skills: Union[None, str, Sequence[str]] = None) -> Any:
        """An Arrow input, filtered to ``skills`` when given (Polars or pyarrow filter)."""
        if skills is None:
            return data
        wanted = [skills] if isinstance(skills, str) else [str(s) for s in skills]
        column = self.defaults["skill_name"]
        if type(data).__module__.split(".")[0] == "polars":
            import polars as pl

            return data.filter(pl.col(column).cast(pl.Utf8).is_in(wanted))
        import pyarrow as pa
        import pyarrow.compute as pc

        table = pa.table(data)
        return table.filter(pc.is_in(pc.cast(table[column], pa.string()), value_set=pa.array(wanted)))

    def _frame(self, data_path=None, data=None, skills: Union[None, str, Sequence[str]] = None):
        import pandas as pd

        if data is None:
            if data_path is None:
                raise ValueError("pass data= (a DataFrame) or data_path=")
            data = pd.read_csv(data_path, low_memory=False)
        if skills is not None:
            wanted = [skills] if isinstance(skills, str) else list(skills)
            data = data[data[self.defaults["skill_name"]].astype(str).isin(wanted)]
        return data

    def _pandas_arrow(self, df, multilearn: Any = False, multigs: Any = False, multiprior: Any = False) -> Any:
        """The columns BKT reads of a pandas DataFrame as a pyarrow Table (strings and
        categoricals interned natively, no per-row Python work), or None when pyarrow is missing
        or a column is not plainly typed (those go through ``pandas.factorize``)."""
        try:
            import pandas as pd
            import pyarrow as pa
        except ImportError:  # pragma: no cover
            return None
        if not isinstance(df, pd.DataFrame) or not df.columns.is_unique:
            return None
        wanted = {k: v for k, v in self._arrow_columns(multilearn, multigs, multiprior).items() if v}
        if wanted["order_id"] not in df.columns:
            del wanted["order_id"]
        if any(name not in df.columns for name in wanted.values()):
            return None
        numeric = [wanted["correct"]] + ([wanted["order_id"]] if "order_id" in wanted else [])
        if not all(pd.api.types.is_integer_dtype(df[n]) or pd.api.types.is_bool_dtype(df[n]) for n in numeric):
            return None
        names = list(dict.fromkeys(wanted.values()))
        try:
            return pa.Table.from_pandas(df[names], preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError):
            return None

    def _columns_of(self, df, multilearn, multigs, multiprior=False):
        """numpy int64 codes (``pandas.factorize``, first-appearance order) and the names."""
        import numpy as np
        import pandas as pd

        d = self.defaults
        for key in ("user_id", "skill_name", "correct"):
            if d[key] not in df.columns:
                raise ValueError(f"data has no {d[key]!r} column")
        template_column = None
        for flag in (multilearn, multigs):
            if flag:
                template_column = flag if isinstance(flag, str) else d["template_id"]
        learner = pd.factorize(df[d["user_id"]])[0].astype(np.int64)
        skill, skill_names = pd.factorize(df[d["skill_name"]].astype(str))
        correct = np.clip(df[d["correct"]].to_numpy(dtype=np.int64), 0, 1)
        order = df[d["order_id"]].to_numpy(dtype=np.int64) if d["order_id"] in df.columns else None
        def coded(column):
            if not column:
                return None, []
            codes, names = pd.factorize(df[column].astype(str))
            return codes.astype(np.int64), [str(n) for n in names]

        template, template_names = coded(template_column)
        # pyBKT's multiprior groups learners by their first answer's correctness by default.
        prior_column = (multiprior if isinstance(multiprior, str) else d["correct"]) if multiprior else None
        prior_group, prior_names = coded(prior_column)
        names = [[str(n) for n in skill_names], template_names, prior_names]
        return (learner, skill.astype(np.int64), correct, order, template, prior_group, names)

    # ------------------------------------------------------------------ pyBKT API
    def fit(self, data_path=None, data=None, skills=None, forgets=False, multilearn=False, multigs=False,
            multiprior=False, defaults=None, progress: Optional[ProgressCallback] = None,
            verbose: bool = False, **options) -> "BKTModel":
        """Fits one model per skill (``forgets``, ``multilearn``, ``multigs`` as in pyBKT).

        ``data`` is a pandas DataFrame or any Arrow table (pyarrow, Polars, DuckDB: read in
        place, codes interned natively). ``progress(stage, done, total)`` is called as restarts
        finish (``verbose=True``: a tqdm bar); Ctrl-C stops the fit with ``KeyboardInterrupt``.

        >>> import polars as pl
        >>> log = pl.DataFrame({"user_id": ["a", "a", "b", "b"], "skill_name": ["s"] * 4,
        ...                     "correct": [0, 1, 1, 1]})
        >>> sorted(BKTModel(num_fits=1).fit(data=log).params().index.get_level_values("param").unique())
        ['forgets', 'guesses', 'learns', 'prior', 'slips']
        """
        if defaults:
            self.defaults.update(defaults)
        opts = {"forgets": bool(forgets), "multilearn": bool(multilearn), "multigs": bool(multigs),
                "multiprior": bool(multiprior), "num_fits": self.num_fits, "seed": self.seed}
        opts.update(self.options)
        opts.update(options)
        callback = progress_callback(progress, verbose)
        self._columns = {"multilearn": multilearn, "multigs": multigs, "multiprior": multiprior}
        if data is not None and is_arrow_table(data):
            self._native = _mastery.bkt_fit_arrow(self._arrow(data, skills),
                                                  self._arrow_columns(multilearn, multigs, multiprior),
                                                  options=opts, progress=callback)
            return self
        df = self._frame(data_path, data, skills)
        table = self._pandas_arrow(df, multilearn, multigs, multiprior)
        if table is not None:
            self._native = _mastery.bkt_fit_arrow(table, self._arrow_columns(multilearn, multigs, multiprior),
                                                  options=opts, progress=callback)
            return self
        columns = self._columns_of(df, multilearn, multigs, multiprior)
        self._native = _mastery.NativeBktModel.fit(*columns, options=opts, progress=callback)
        return self

    def _predict_frame(self, df):
        """``(P(correct), P(known))`` per row of a pandas DataFrame, as numpy arrays."""
        native = self._require()
        c = self._columns
        flags = (c.get("multilearn"), c.get("multigs"), c.get("multiprior"))
        table = self._pandas_arrow(df, *flags)
        if table is not None:
            return _mastery.bkt_predict_arrow_numpy(native, table, self._arrow_columns(*flags))
        return native.predict(*self._columns_of(df, *flags))

    def _require(self):
        if self._native is None:
            raise ValueError("model is not fitted; call fit() or load() first")
        return self._native

    def predict_table(self, data: Any) -> ArrowTable:
        """``correct_predictions`` and ``state_predictions`` per row of ``data`` (a pandas
        DataFrame or any Arrow table), as an :class:`ArrowTable` in input order.

        >>> import pyarrow as pa
        >>> log = pa.table({"user_id": ["a", "a"], "skill_name": ["s", "s"], "correct": [0, 1]})
        >>> BKTModel(num_fits=1).fit(data=log).predict_table(log).column_names
        ['correct_predictions', 'state_predictions']
        """
        native = self._require()
        c = self._columns
        columns = self._arrow_columns(c.get("multilearn"), c.get("multigs"), c.get("multiprior"))
        return ArrowTable(_mastery.bkt_predict_arrow(native, data, columns))

    def predict(self, data_path=None, data=None):
        """The data with ``correct_predictions`` and ``state_predictions`` columns added: a
        Polars DataFrame for Polars input, a pyarrow Table for other Arrow input, else pandas.

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> model.predict(data=log).columns.tolist()
        ['user_id', 'skill_name', 'correct', 'correct_predictions', 'state_predictions']
        """
        self._require()
        if data is not None and is_arrow_table(data):
            predictions = self.predict_table(data)
            module = type(data).__module__.split(".")[0]
            if module == "polars":
                import polars as pl

                return data.with_columns(pl.DataFrame(predictions))
            import pyarrow as pa

            table = pa.table(data)
            extra = pa.table(predictions)
            for name in extra.column_names:
                table = table.append_column(name, extra[name])
            return table.to_pandas() if module == "pandas" else table
        df = self._frame(data_path, data).copy(deep=False)  # new columns only: the caller's frame is unchanged
        correct, state = self._predict_frame(df)
        _add_columns(df, correct_predictions=correct, state_predictions=state)
        return df

    def evaluate(self, data_path=None, data=None, metric: Union[str, Iterable] = "rmse"):
        """``metric`` (``"rmse"``, ``"accuracy"``, ``"auc"`` or a callable ``f(truth, predicted)``,
        or a list of them) of the model's predictions on ``data``, as in pyBKT.

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> round(model.evaluate(data=log), 3), round(model.evaluate(data=log, metric="accuracy"), 3)
        (0.441, 0.667)
        """
        predicted = self.predict(data_path, data)
        if not hasattr(predicted, "iloc"):  # Arrow or Polars: the same columns through pandas
            predicted = predicted.to_pandas()
        truth = predicted[self.defaults["correct"]].astype(int).clip(0, 1)
        metrics = [metric] if isinstance(metric, str) or callable(metric) else list(metric)
        values = [_metric(m, predicted["correct_predictions"], truth) for m in metrics]
        return values[0] if len(values) == 1 else values

    def crossvalidate(self, data_path=None, data=None, skills=None, folds: int = 5, metric="rmse", forgets=False,
                      multilearn=False, multigs=False, multiprior=False, progress: Optional[ProgressCallback] = None,
                      verbose: bool = False, **options):
        """k-fold cross-validation by learner (in Rust); one row per skill with the mean metric.
        ``progress``/``verbose`` and Ctrl-C as in :meth:`fit` (stage ``"crossvalidation"``).

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> model.crossvalidate(data=log, folds=3).round(3)
               mean_rmse
        skill
        s          0.79
        """
        import pandas as pd

        if metric not in ("rmse", "accuracy", "auc"):
            raise ValueError(f"unknown metric {metric!r}")
        opts = {"forgets": bool(forgets), "multilearn": bool(multilearn), "multigs": bool(multigs),
                "multiprior": bool(multiprior), "num_fits": self.num_fits, "seed": self.seed}
        opts.update(self.options)
        opts.update(options)
        callback = progress_callback(progress, verbose)
        if data is not None and is_arrow_table(data):
            per_skill = _mastery.bkt_crossvalidate_arrow(
                self._arrow(data, skills), self._arrow_columns(multilearn, multigs, multiprior), folds,
                options=opts, progress=callback)
        else:
            df = self._frame(data_path, data, skills)
            columns = self._columns_of(df, multilearn, multigs, multiprior)
            per_skill = _mastery.NativeBktModel.crossvalidate(*columns, folds, options=opts, progress=callback)
        def mean(evals):
            values = [f[metric] for f in evals if f.get(metric) is not None]  # no AUC in one-outcome folds
            return sum(values) / len(values) if values else float("nan")

        rows = [{"skill": skill, f"mean_{metric}": mean(evals)} for skill, evals in per_skill.items()]
        return pd.DataFrame(rows).set_index("skill")

    def params(self):
        """pyBKT's layout: index (skill, param, class), column ``value``.

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> model.params().index.get_level_values("param").tolist()
        ['prior', 'learns', 'guesses', 'slips', 'forgets']
        """
        import pandas as pd

        rows = []
        for skill, m in self._require().skills().items():
            p = m["params"]
            rows.append((skill, "prior", "default", p["prior"]))
            for name in sorted(m.get("prior_groups", {}), key=m.get("prior_groups", {}).get):
                rows.append((skill, "prior", name, p["priors"][m["prior_groups"][name]]))
            learn_names = sorted(m["learn_classes"], key=m["learn_classes"].get) or ["default"]
            gs_names = sorted(m["gs_classes"], key=m["gs_classes"].get) or ["default"]
            for name, value in zip(learn_names, p["learns"]):
                rows.append((skill, "learns", name, value))
            for name, value in zip(gs_names, p["guesses"]):
                rows.append((skill, "guesses", name, value))
            for name, value in zip(gs_names, p["slips"]):
                rows.append((skill, "slips", name, value))
            for name, value in zip(learn_names, p["forgets"]):
                rows.append((skill, "forgets", name, value))
        return pd.DataFrame(rows, columns=["skill", "param", "class", "value"]).set_index(["skill", "param", "class"])

    def update(self, skill: str, state: Optional[dict], correct: bool, template: Optional[str] = None,
               prior_group: Optional[str] = None) -> dict:
        """One O(1) online step for one learner: returns the new ``{p_known, attempts, correct}``
        (pass the previous state back in; ``None`` starts from the prior).

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> state = model.update("s", None, True)
        >>> state["attempts"], round(state["p_known"], 3)
        (1, 0.994)
        """
        return self._require().update(skill, state, bool(correct), template, prior_group)

    def save(self, path: str) -> None:
        """Writes the versioned JSON model file (loadable in Rust, WASM and on mobile).

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> model.save("bkt.json")
        >>> mastery.BKTModel().load("bkt.json").params().equals(model.params())
        True
        """
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    def load(self, path: str) -> "BKTModel":
        """Loads a model file written by :meth:`save` (or any runtime) into this model; returns it.

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> model.save("bkt.json")
        >>> mastery.BKTModel().load("bkt.json")
        BKTModel(seed=42, num_fits=5; 1 skills)
        """
        with open(path, encoding="utf-8") as f:
            self._native = _mastery.NativeBktModel.from_json(f.read())
        self._columns = {}
        return self

    def to_json(self) -> str:
        """The versioned JSON model file as text.

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> model.to_json().startswith('{"format":"mastery.bkt","version":1')
        True
        """
        return self._require().to_json()

    @classmethod
    def from_json(cls, text: str) -> "BKTModel":
        """A model from the JSON text of :meth:`to_json`.

        Examples
        --------
        >>> import pandas as pd, mastery
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = mastery.BKTModel(num_fits=1).fit(data=log)
        >>> mastery.BKTModel.from_json(model.to_json())
        BKTModel(seed=42, num_fits=5; 1 skills)
        """
        model = cls()
        model._native = _mastery.NativeBktModel.from_json(text)
        return model

    def __repr__(self) -> str:
        fitted = f"{len(self._native.skills())} skills" if self._native is not None else "not fitted"
        return f"{type(self).__name__}(seed={self.seed}, num_fits={self.num_fits}; {fitted})"

    def _repr_html_(self) -> str:
        """A notebook table: one row per skill with its fitted parameters.

        >>> "<table" in BKTModel()._repr_html_()
        True
        """
        import html

        if self._native is None:
            return f"<table><caption>{html.escape(repr(self))}</caption></table>"
        head = "<tr><th>skill</th><th>prior</th><th>learn</th><th>guess</th><th>slip</th><th>forget</th><th>log-likelihood</th></tr>"
        rows = []
        for skill, m in list(self._native.skills().items())[:50]:
            p = m["params"]
            cells = [p["prior"], p["learns"][0], p["guesses"][0], p["slips"][0], p["forgets"][0]]
            rows.append(f"<tr><td>{html.escape(skill)}</td>" + "".join(f"<td>{v:.4f}</td>" for v in cells)
                        + f"<td>{m.get('log_likelihood', float('nan')):.1f}</td></tr>")
        return f"<table><caption>{html.escape(repr(self))}</caption>{head}{''.join(rows)}</table>"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_native"] = self._native.to_json() if self._native is not None else None
        return state

    def __setstate__(self, state):
        native = state.pop("_native")
        self.__dict__.update(state)
        self._native = _mastery.NativeBktModel.from_json(native) if native else None
