"""Prediction input checked against a signature and converted to what the model was fit on.

Input may be a DataFrame, a list of records, a dict of columns (or one record), a numpy
array or a list of lists (mapped to the signature's column order).

The fast path matters: a DataFrame whose columns and dtypes already match costs one
comparison of the column index, one of the dtypes and one vectorised null check; only
input that differs goes column by column through :mod:`shipway.models.conversion`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from shipway.errors import SchemaError
from shipway.models.conversion import convert_column, target_dtype
from shipway.models.optional import require
from shipway.models.signature import Signature, TensorSpec

SUPPORTED_INPUTS = (
    "a pandas DataFrame, a list of records (dicts), a dict of columns, "
    "a numpy array or a list of lists"
)

# _convert <- InputValidator.prepare <- LoadedModel.prepare <- LoadedModel.predict <- caller:
# point the warning at the line that called predict
_WARN_STACKLEVEL = 5


class InputValidator:
    """Checks and converts input for one signature; build it once per loaded model.

    Example::

        validator = InputValidator(signature)
        frame = validator.prepare([{"age": 41, "plan": "pro"}])
    """

    def __init__(self, signature: Signature) -> None:
        self._pd = require("pandas", "sklearn")
        self._np = require("numpy", "sklearn")
        self._tensor: TensorSpec | None = (
            signature.inputs if isinstance(signature.inputs, TensorSpec) else None
        )
        self._columns = signature.columns
        self._names = [c.name for c in self._columns]
        self._name_set = frozenset(self._names)
        self._index = self._pd.Index(self._names)
        self._dtypes = [target_dtype(c) for c in self._columns]
        # Columns to check for nulls: not nullable, and of a dtype that can hold a null at
        # all (numpy int and bool columns cannot), so the common case checks little.
        np = self._np
        self._null_checked = np.array(
            [
                not c.nullable and _can_hold_null(d, np)
                for c, d in zip(self._columns, self._dtypes, strict=True)
            ],
            dtype=bool,
        )
        self._all_checked = bool(self._null_checked.all())
        self._any_checked = bool(self._null_checked.any())
        self._all_float = all(isinstance(d, np.dtype) and d.kind == "f" for d in self._dtypes)
        if self._tensor is not None:
            self._tensor_dtype = self._np.dtype(self._tensor.dtype)

    def prepare(self, data: Any) -> Any:
        """``data`` as the model's input (DataFrame or array); raises ``SchemaError``."""
        if self._tensor is not None:
            return self._prepare_tensor(data)
        frame = data if isinstance(data, self._pd.DataFrame) else self._to_frame(data)
        if (
            frame.columns.equals(self._index)
            and frame.dtypes.tolist() == self._dtypes
            and not self._has_required_nulls(frame)
        ):
            return frame
        return self._convert(frame)

    def _has_required_nulls(self, frame: Any) -> bool:
        """Whether a column that may not be null has a null (dtypes already match)."""
        if not self._any_checked:
            return False
        if self._all_float and self._all_checked:
            return bool(self._np.isnan(frame.to_numpy()).any())  # one block: no copy
        nulls = frame.isna().to_numpy()
        if self._all_checked:
            return bool(nulls.any())
        return bool(nulls[:, self._null_checked].any())

    def _convert(self, frame: Any) -> Any:
        frame = self._name_positional(frame)
        present = set(frame.columns)
        missing = [c for c in self._columns if c.name not in present]
        if missing:
            listed = ", ".join(f"{c.name!r} ({c.type})" for c in missing)
            raise SchemaError(
                f"missing input column{'s' if len(missing) > 1 else ''} {listed}; the model "
                f"takes {', '.join(self._names)}",
                details={"missing": [{"column": c.name, "expected": c.type} for c in missing]},
            )
        extra = [str(c) for c in frame.columns if c not in self._name_set]
        if extra:
            warnings.warn(
                f"ignoring input columns the model does not take: {', '.join(extra)}",
                UserWarning,
                stacklevel=_WARN_STACKLEVEL,
            )
        columns = {
            c.name: convert_column(frame[c.name], c, dtype)
            for c, dtype in zip(self._columns, self._dtypes, strict=True)
        }
        return self._pd.DataFrame(columns, index=frame.index)

    def _name_positional(self, frame: Any) -> Any:
        """A frame with unnamed columns (0, 1, …) of the right width: the signature's order."""
        if isinstance(frame.columns, self._pd.RangeIndex) and len(frame.columns) == len(
            self._names
        ):
            return frame.set_axis(self._names, axis=1)
        return frame

    def _to_frame(self, data: Any) -> Any:
        pd, np = self._pd, self._np
        try:
            if isinstance(data, Mapping):
                if not data:
                    raise SchemaError("the input is empty; give at least one record")
                if all(_is_scalar(v) for v in data.values()):
                    return pd.DataFrame([dict(data)])
                return pd.DataFrame(dict(data))
            if isinstance(data, pd.Series):
                return pd.DataFrame([data.to_dict()])
            if isinstance(data, (list, tuple)):
                if not data:
                    raise SchemaError("the input is empty; give at least one row")
                if all(isinstance(r, Mapping) for r in data):
                    return pd.DataFrame(list(data))
                rows = list(data) if _is_row(data[0]) else [data]
                self._check_width({len(r) for r in rows})
                return pd.DataFrame(rows, columns=self._names)
            if isinstance(data, np.ndarray):
                array = data[np.newaxis] if data.ndim == 1 else data
                if array.ndim != 2:
                    raise SchemaError(f"expected a 2-D array, got shape {list(data.shape)}")
                self._check_width({array.shape[1]})
                return pd.DataFrame(array, columns=self._names)
        except ValueError as exc:  # ragged rows, columns of different lengths
            raise SchemaError(f"cannot read the input as a table: {exc}") from exc
        raise SchemaError(
            f"unsupported input of type {type(data).__name__}; give {SUPPORTED_INPUTS}"
        )

    def _check_width(self, widths: set[int]) -> None:
        if widths != {len(self._names)}:
            got = ", ".join(str(w) for w in sorted(widths))
            raise SchemaError(
                f"each row must have {len(self._names)} values in the order "
                f"{', '.join(self._names)}; got rows of {got}",
                details={"expected": self._names},
            )

    def _prepare_tensor(self, data: Any) -> Any:
        pd, np = self._pd, self._np
        spec = self._tensor
        assert spec is not None
        if isinstance(data, pd.DataFrame):
            array = data.to_numpy()
        elif isinstance(data, (np.ndarray, list, tuple)):
            try:
                array = np.asarray(data)
            except ValueError as exc:
                raise SchemaError(f"cannot read the input as an array: {exc}") from exc
        else:
            raise SchemaError(
                f"unsupported input of type {type(data).__name__} for a tensor model; give a "
                "numpy array, a list of lists or a DataFrame"
            )
        if array.ndim == len(spec.shape) - 1:
            array = array[np.newaxis]  # one row
        dims = zip(spec.shape[1:], array.shape[1:], strict=False)
        if array.ndim != len(spec.shape) or any(e >= 0 and e != a for e, a in dims):
            raise SchemaError(
                f"expected an array of shape {list(spec.shape)} (-1: any size), "
                f"got {list(array.shape)}",
                details={"expected": list(spec.shape), "got": list(array.shape)},
            )
        if array.dtype == self._tensor_dtype:
            return array
        return self._convert_array(array)

    def _convert_array(self, array: Any) -> Any:
        np = self._np
        target = self._tensor_dtype
        try:
            numbers = array.astype("float64") if array.dtype.kind in "OUS" else array
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"the model takes numbers ({target}); the input has values that are not: {exc}"
            ) from exc
        if target.kind in "iub" and numbers.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                fractional = (np.floor(numbers) != numbers) | ~np.isfinite(numbers)
            if fractional.any():
                value = numbers[np.unravel_index(fractional.argmax(), numbers.shape)]
                raise SchemaError(
                    f"the model takes {target} values, got {value.item()!r}",
                    details={"expected": str(target), "value": value.item()},
                )
        if target.kind == "b" and numbers.dtype.kind != "b" and not np.isin(numbers, [0, 1]).all():
            raise SchemaError(f"the model takes {target} values (0 or 1)")
        return numbers.astype(target)


def prepare_untyped(data: Any) -> Any:
    """Input for a package without a signature: tables become DataFrames, lists arrays."""
    pd = require("pandas", "sklearn")
    np = require("numpy", "sklearn")
    if isinstance(data, (pd.DataFrame, np.ndarray)):
        return data
    if isinstance(data, Mapping):
        if all(_is_scalar(v) for v in data.values()):
            return pd.DataFrame([dict(data)])
        return pd.DataFrame(dict(data))
    if isinstance(data, (list, tuple)) and data and all(isinstance(r, Mapping) for r in data):
        return pd.DataFrame(list(data))
    if isinstance(data, (list, tuple)):
        return np.asarray(data)
    return data


def _can_hold_null(dtype: Any, np: Any) -> bool:
    return not (isinstance(dtype, np.dtype) and dtype.kind in "iub")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (list, tuple)) and getattr(value, "ndim", 0) == 0


def _is_row(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1
