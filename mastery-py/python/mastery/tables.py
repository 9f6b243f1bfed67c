"""Arrow tables in and out, and progress reporting for long fits.

Every table-shaped argument of ``mastery`` accepts any object with the Arrow PyCapsule
interface (``__arrow_c_stream__`` or ``__arrow_c_array__``): a pyarrow ``Table`` or
``RecordBatch``, a Polars ``DataFrame``, a pandas ``DataFrame`` (2.2+), a DuckDB result.
Columns are read in place by the native module; results come back as :class:`ArrowTable`,
whose buffers are the native results themselves (no copy on the way out), and which any Arrow
library reads through the same interface::

    >>> import pyarrow as pa, mastery
    >>> t = mastery.ArrowTable.from_arrow(pa.table({"score": [0.25, 0.75]}))
    >>> t.num_rows, t.column_names
    (2, ['score'])
    >>> t.to_pandas()["score"].tolist()
    [0.25, 0.75]
"""

from __future__ import annotations

import html
import sys
from typing import Any, Callable, List, Optional, Protocol, Tuple, Union

from . import _mastery

__all__ = ["ArrowTable", "ProgressCallback", "TqdmProgress", "PrintProgress", "progress_callback", "is_arrow_table"]

#: ``callback(stage, done, total)``: ``stage`` is ``"bkt_fit"``, ``"booster_rounds"`` or
#: ``"crossvalidation"``; ``done`` of ``total`` units are finished. Raising an exception in it
#: stops the fit, and that exception is raised by the fit.
ProgressCallback = Callable[[str, int, int], Any]


class _ArrowStream(Protocol):
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...


def is_arrow_table(data: object) -> bool:
    """True when ``data`` should be read through the Arrow PyCapsule interface: anything with
    ``__arrow_c_stream__``/``__arrow_c_array__`` except a pandas DataFrame whose columns are
    all numpy-backed (those are read by pandas' own codes, as before).

    >>> import pyarrow as pa, pandas as pd
    >>> is_arrow_table(pa.table({"a": [1]})), is_arrow_table(pd.DataFrame({"a": [1]}))
    (True, False)
    """
    if not (hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__")):
        return False
    if type(data).__module__.split(".")[0] == "pandas":
        dtypes = getattr(data, "dtypes", None)
        return dtypes is not None and len(dtypes) > 0 and all("pyarrow" in str(d) or str(d) in ("str", "string") for d in dtypes)
    return True


class ArrowTable:
    """A table produced by ``mastery`` (predictions, explanations, features...), held as Arrow
    record batches in native memory. Read it with any Arrow library through
    ``__arrow_c_stream__`` (``pyarrow.table(t)``, ``polars.DataFrame(t)``,
    ``duckdb.sql("from t")``), or with :meth:`to_pandas`, :meth:`to_polars`, :meth:`to_pyarrow`.

    >>> import pyarrow as pa
    >>> t = ArrowTable.from_arrow(pa.table({"x": [1.0]}))
    >>> len(t)
    1
    """

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        if not isinstance(native, _mastery.Table):
            error = _mastery.MasteryError("invalid native: must be a table made by mastery (use ArrowTable.from_arrow)")
            error.code, error.field = "invalid_input", "native"
            raise error
        self._native = native

    @classmethod
    def from_arrow(cls, data: Any) -> "ArrowTable":
        """Any Arrow table-like object as an :class:`ArrowTable` (zero-copy).

        >>> import pyarrow as pa
        >>> ArrowTable.from_arrow(pa.table({"x": [1, 2]})).num_rows
        2
        """
        try:
            native = _mastery.Table.from_arrow(data)
        except Exception:
            error = _mastery.MasteryError("invalid data: must have the Arrow PyCapsule interface")
            error.code, error.field = "invalid_input", "data"
            raise error from None
        return cls(native)

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """The Arrow C stream capsule (the PyCapsule interface)."""
        return self._native.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        """The Arrow C schema capsule."""
        return self._native.__arrow_c_schema__()

    @property
    def num_rows(self) -> int:
        """Rows in the table.

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.num_rows
        2
        """
        return int(self._native.num_rows)

    @property
    def column_names(self) -> List[str]:
        """The column names, in order.

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.column_names
        ['id', 'score']
        """
        return list(self._native.column_names)

    @property
    def shape(self) -> Tuple[int, int]:
        """``(rows, columns)``.

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.shape
        (2, 2)
        """
        return (self.num_rows, len(self.column_names))

    def __len__(self) -> int:
        return self.num_rows

    def to_pyarrow(self) -> Any:
        """A ``pyarrow.Table`` sharing these buffers (requires pyarrow).

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.to_pyarrow().column("score").to_pylist()
        [0.25, 0.75]
        """
        import pyarrow as pa

        return pa.table(self)

    def to_pandas(self, **kwargs: Any) -> Any:
        """A pandas DataFrame (through pyarrow; float columns without nulls are not copied when
        ``split_blocks=True`` is passed).

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.to_pandas()["id"].tolist()
        ['a', 'b']
        """
        return self.to_pyarrow().to_pandas(**kwargs)

    def to_polars(self) -> Any:
        """A Polars DataFrame sharing these buffers (requires polars).

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.to_polars()["score"].sum()
        1.0
        """
        import polars as pl

        return pl.DataFrame(self)

    def column(self, name: str) -> Any:
        """One column as a numpy array (through pyarrow; zero-copy for float columns without
        nulls).

        Examples
        --------
        >>> import pyarrow as pa, mastery
        >>> t = mastery.ArrowTable.from_arrow(pa.table({"id": ["a", "b"], "score": [0.25, 0.75]}))
        >>> t.column("score").tolist()
        [0.25, 0.75]
        """
        return self.to_pyarrow().column(name).to_numpy()

    def __repr__(self) -> str:
        return f"ArrowTable({self.num_rows} rows: {', '.join(self.column_names)})"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.column_names)
        try:
            rows = self.to_pyarrow().slice(0, 10).to_pylist()
        except ImportError:
            rows = []
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in self.column_names) + "</tr>" for r in rows)
        more = f"<p>{self.num_rows} rows</p>"
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


class TqdmProgress:
    """A progress callback that drives a ``tqdm`` bar, one bar per stage::

        model.fit(data=df, progress=TqdmProgress(leave=False))

    >>> p = TqdmProgress(disable=True)
    >>> p("bkt_fit", 0, 10); p("bkt_fit", 10, 10)
    """

    def __init__(self, **tqdm_kwargs: Any) -> None:
        self._kwargs = tqdm_kwargs
        self._bar: Any = None
        self._stage: Optional[str] = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if self._bar is None or stage != self._stage:
            self.close()
            self._bar = tqdm(total=total, desc=stage, **self._kwargs)
            self._stage = stage
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        """Closes the current bar (a finished stage closes its bar by itself).

        Examples
        --------
        >>> from mastery import TqdmProgress
        >>> p = TqdmProgress(disable=True)
        >>> p("bkt_fit", 3, 10)
        >>> p.close()
        """
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class PrintProgress:
    """A progress callback that prints a line to stderr at every tenth of the work (what
    ``verbose=True`` uses when tqdm is not installed).

    >>> PrintProgress(file=sys.stdout)("booster_rounds", 5, 10)
    booster_rounds: 5/10
    """

    def __init__(self, file: Any = None) -> None:
        self._file = file
        self._last = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        step = max(total // 10, 1)
        if done == total or done // step != self._last:
            self._last = done // step
            print(f"{stage}: {done}/{total}", file=self._file or sys.stderr)


def progress_callback(progress: Optional[ProgressCallback], verbose: Union[bool, int]) -> Optional[ProgressCallback]:
    """The callback a fit uses: ``progress`` when given, else a tqdm bar (or printed lines when
    tqdm is missing) when ``verbose``, else none.

    >>> progress_callback(None, False) is None
    True
    """
    if progress is not None:
        return progress
    if not verbose:
        return None
    try:
        import tqdm  # noqa: F401

        return TqdmProgress()
    except ImportError:
        return PrintProgress()
