"""sklearn flavor: a Pipeline with a ColumnTransformer over mixed dtypes, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from shipway.errors import InvalidInput
from shipway.models import LoadedModel, SchemaError, load_package, read_info, save_package


@pytest.fixture
def loaded(
    tmp_path: Path, mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> LoadedModel:
    frame, _ = mixed
    save_package(mixed_pipeline, tmp_path / "pkg", input_example=frame.head(20))
    return load_package(tmp_path / "pkg")


def test_package_layout_and_model_yaml(
    tmp_path: Path, mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    frame, _ = mixed
    info = save_package(
        mixed_pipeline, tmp_path / "pkg", input_example=frame.head(20), description="churn"
    )
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == ["model.pkl", "model.yaml"]
    assert info == read_info(tmp_path / "pkg")
    assert info.flavor == "sklearn" and info.description == "churn" and info.format == 1
    assert set(info.files) == {"model.pkl"} and len(info.files["model.pkl"].digest) == 64
    assert info.predict_proba is True and info.classes == [0, 1]
    assert info.input_example is not None and len(info.input_example) == 5
    assert info.input_example[0]["plan"] in ("basic", "plus", "pro")
    assert {"scikit-learn", "numpy", "pandas", "shipway"} <= set(info.requirements.packages)
    assert info.signature is not None
    columns = {c.name: c for c in info.signature.columns}
    assert [columns[n].type for n in ("age", "income", "plan", "city")] == [
        "int",
        "float",
        "category",
        "string",
    ]
    assert columns["plan"].categories == ("basic", "plus", "pro")
    assert [o.name for o in info.signature.outputs] == ["prediction", "probabilities"]
    assert info.signature.outputs[1].shape == (-1, 2)


def test_every_input_form_predicts_like_the_raw_pipeline(
    loaded: LoadedModel, mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    frame, _ = mixed
    rows = frame.head(25)
    expected = mixed_pipeline.predict(rows)
    records = rows.astype(object).to_dict(orient="records")
    as_lists = rows.astype(object).to_numpy().tolist()
    forms = [
        rows,
        records,
        {name: rows[name].astype(object).tolist() for name in rows.columns},
        rows.astype(object).to_numpy(),
        as_lists,
        rows[["city", "plan", "income", "age"]],  # another column order
    ]
    for data in forms:
        np.testing.assert_array_equal(loaded.predict(data), expected)
    np.testing.assert_allclose(loaded.predict_proba(records), mixed_pipeline.predict_proba(rows))
    one = loaded.predict(records[0])  # a single record
    assert one.tolist() == expected[:1].tolist()


def test_inputs_are_converted_to_the_training_dtypes(loaded: LoadedModel) -> None:
    prepared = loaded.prepare([{"age": "41", "income": 3, "plan": "pro", "city": "oslo"}])
    assert prepared["age"].dtype == np.dtype("int64")
    assert prepared["income"].dtype == np.dtype("float64")
    assert list(prepared["plan"].cat.categories) == ["basic", "plus", "pro"]
    assert str(prepared["city"].dtype) == "str"


def test_matching_dataframe_passes_through_unchanged(
    loaded: LoadedModel, mixed: tuple[pd.DataFrame, Any]
) -> None:
    rows = mixed[0].head(3)
    assert loaded.prepare(rows) is rows


def test_missing_column(loaded: LoadedModel) -> None:
    with pytest.raises(SchemaError, match=r"missing input column 'plan' \(category\)"):
        loaded.predict([{"age": 30, "income": 1.0, "city": "oslo"}])


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("age", "thirty", r"column 'age' expects int values, got 'thirty'"),
        ("age", 30.5, r"column 'age' expects int values, got 30.5"),
        ("income", "lots", r"column 'income' expects float values, got 'lots'"),
        ("city", 12, r"column 'city' expects string values, got 12"),
    ],
)
def test_wrong_type(loaded: LoadedModel, column: str, value: Any, message: str) -> None:
    record = {"age": 30, "income": 1.0, "plan": "pro", "city": "oslo", column: value}
    with pytest.raises(SchemaError, match=message) as caught:
        loaded.predict([record])
    assert caught.value.details["column"] == column
    assert caught.value.code == "schema_error" and isinstance(caught.value, InvalidInput)


def test_unknown_category(loaded: LoadedModel) -> None:
    record = {"age": 30, "income": 1.0, "plan": "gold", "city": "oslo"}
    with pytest.raises(
        SchemaError,
        match=r"column 'plan' has unknown category 'gold' .*allowed: 'basic', 'plus', 'pro'",
    ):
        loaded.predict([record])


def test_null_in_non_nullable_column(loaded: LoadedModel, mixed: tuple[pd.DataFrame, Any]) -> None:
    rows = mixed[0].head(3).copy()
    rows["income"] = rows["income"].astype("float64")
    rows.loc[1, "income"] = np.nan
    with pytest.raises(SchemaError, match=r"column 'income' \(float\) has a null value in row 1"):
        loaded.predict(rows)
    with pytest.raises(SchemaError, match="column 'plan'.*null"):
        loaded.predict([{"age": 30, "income": 1.0, "plan": None, "city": "oslo"}])


def test_extra_columns_are_dropped_with_a_warning(
    loaded: LoadedModel, mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    rows = mixed[0].head(4).assign(customer_id=[1, 2, 3, 4], note="x")
    with pytest.warns(UserWarning, match="customer_id, note") as record:
        got = loaded.predict(rows)
    assert record[0].filename == __file__  # points at the caller's line
    np.testing.assert_array_equal(got, mixed_pipeline.predict(mixed[0].head(4)))


def test_row_width_must_match_the_signature(loaded: LoadedModel) -> None:
    with pytest.raises(SchemaError, match="each row must have 4 values"):
        loaded.predict([[30, 1.0, "pro"]])


def test_no_predict_proba(tmp_path: Path, iris: tuple[pd.DataFrame, Any]) -> None:
    X, y = iris
    info = save_package(SVC().fit(X, y), tmp_path / "svc", input_example=X.head())
    assert info.predict_proba is False and info.classes == [0, 1, 2]
    model = load_package(tmp_path / "svc")
    assert not model.has_predict_proba
    with pytest.raises(InvalidInput, match="this model has no predict_proba"):
        model.predict_proba(X.head())
    assert model.predict(X.head()).tolist() == [0, 0, 0, 0, 0]


def test_tensor_signature_from_a_numpy_example(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = X @ np.array([1.0, 2.0])
    save_package(LinearRegression().fit(X, y), tmp_path / "lr", input_example=X[:3])
    model = load_package(tmp_path / "lr")
    assert model.signature is not None and model.signature.is_tensor
    assert model.signature.to_dict()["inputs"] == {
        "type": "tensor",
        "dtype": "float64",
        "shape": [-1, 2],
    }
    np.testing.assert_allclose(model.predict([[1, 1], [2, 0]]), [3.0, 2.0])
    np.testing.assert_allclose(model.predict([1, 1]), [3.0])
    with pytest.raises(SchemaError, match=r"shape \[-1, 2\]"):
        model.predict([[1, 2, 3]])


def test_numpy_example_for_a_frame_fitted_model_keeps_the_columns(
    tmp_path: Path, cancer: tuple[pd.DataFrame, Any], cancer_pipeline: Pipeline
) -> None:
    X, _ = cancer
    info = save_package(cancer_pipeline, tmp_path / "pkg", input_example=X.to_numpy()[:5])
    assert info.signature is not None and not info.signature.is_tensor
    model = load_package(tmp_path / "pkg")
    np.testing.assert_array_equal(model.predict(X.to_numpy()[:9]), cancer_pipeline.predict(X[:9]))


def test_without_example_or_signature(tmp_path: Path, iris: tuple[pd.DataFrame, Any]) -> None:
    X, y = iris
    fitted = LinearRegression().fit(X.to_numpy(), y)
    info = save_package(fitted, tmp_path / "pkg")
    assert info.signature is None and info.input_example is None
    assert "signature: null" in (tmp_path / "pkg" / "model.yaml").read_text()
    model = load_package(tmp_path / "pkg")
    np.testing.assert_allclose(
        model.predict(X.to_numpy()[:3].tolist()), fitted.predict(X.to_numpy()[:3])
    )


def test_given_signature_is_used_and_checked_against_the_example(
    tmp_path: Path, mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    signature = {
        "inputs": [
            {"name": "age", "type": "int"},
            {"name": "income", "type": "float", "nullable": True},
            {"name": "plan", "type": "category", "categories": ["basic", "plus", "pro"]},
            {"name": "city", "type": "string"},
        ]
    }
    frame = mixed[0]
    info = save_package(
        mixed_pipeline, tmp_path / "pkg", input_example=frame.head(), signature=signature
    )
    assert info.signature is not None and info.signature.columns[1].nullable
    assert [o.name for o in info.signature.outputs] == ["prediction", "probabilities"]
    bad = {"inputs": [{"name": "age", "type": "int"}, {"name": "tier", "type": "string"}]}
    with pytest.raises(SchemaError, match="missing input column 'tier'"):
        save_package(mixed_pipeline, tmp_path / "bad", input_example=frame.head(), signature=bad)
    assert not (tmp_path / "bad").exists()
