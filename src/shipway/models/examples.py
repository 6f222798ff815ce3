"""Input examples: turned into a DataFrame (named columns) or a numpy array (a tensor),
and the first few rows kept in model.yaml as plain JSON-able records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipway.errors import InvalidInput
from shipway.models.jsonable import to_plain
from shipway.models.optional import require

EXAMPLE_ROWS = 5

SUPPORTED_EXAMPLES = (
    "a pandas DataFrame, a list of records (dicts), a dict of columns, "
    "a numpy array or a list of lists"
)


def normalize_example(data: Any, feature_names: Sequence[str] | None = None) -> Any:
    """``data`` as a DataFrame or a numpy array.

    A numpy array becomes a DataFrame when the model knows its feature names (an sklearn
    estimator fitted on a DataFrame), so the package keeps the columns the model expects.
    """
    pd = require("pandas", "sklearn")
    np = require("numpy", "sklearn")
    if isinstance(data, pd.DataFrame):
        return _frame(data, np)
    if isinstance(data, Mapping):
        if not data:
            raise InvalidInput("the input example is empty; give at least one row")
        if all(_is_scalar(v) for v in data.values()):
            return _frame(pd.DataFrame([dict(data)]), np)
        return _frame(pd.DataFrame(dict(data)), np)
    if isinstance(data, (list, tuple)):
        if not data:
            raise InvalidInput("the input example is empty; give at least one row")
        if all(isinstance(r, Mapping) for r in data):
            return _frame(pd.DataFrame(list(data)), np)
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf":
            raise InvalidInput(
                f"the input example is a numpy array of {data.dtype}; arrays must be numeric "
                "(use a DataFrame for string or categorical columns)"
            )
        if feature_names is not None and data.ndim == 2 and data.shape[1] == len(feature_names):
            return pd.DataFrame(data, columns=list(feature_names))
        return data
    raise InvalidInput(
        f"unsupported input example of type {type(data).__name__}; give {SUPPORTED_EXAMPLES}"
    )


def example_records(example: Any, limit: int = EXAMPLE_ROWS) -> list[Any]:
    """The first ``limit`` rows as records (DataFrame) or lists (array), JSON-able."""
    pd = require("pandas", "sklearn")
    if isinstance(example, pd.DataFrame):
        head = example.head(limit)
        return [
            {str(k): to_plain(v) for k, v in row.items()}
            for row in head.astype(object).to_dict(orient="records")
        ]
    return list(to_plain(example[:limit]))


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (list, tuple)) and getattr(value, "ndim", 0) == 0


def _frame(frame: Any, np: Any) -> Any:
    """Column names must be strings; an unnamed all-numeric frame is treated as an array."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    if all(dtype.kind in "biuf" for dtype in frame.dtypes):
        return frame.to_numpy()
    raise InvalidInput(
        "the input example's column names must be strings, got "
        f"{[c for c in frame.columns if not isinstance(c, str)][:5]}; name the columns"
    )
