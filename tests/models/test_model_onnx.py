"""onnx flavor: scikit-learn models converted with to_onnx, served by onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from shipway.errors import InvalidInput
from shipway.models import load_package, save_package, to_onnx


def test_single_tensor_input(
    tmp_path: Path, cancer: tuple[pd.DataFrame, Any], cancer_pipeline: Pipeline
) -> None:
    X, _ = cancer
    proto = to_onnx(cancer_pipeline, X.head())
    assert isinstance(proto, onnx.ModelProto) and len(proto.graph.input) == 1
    info = save_package(proto, tmp_path / "pkg", input_example=X.head())
    assert info.flavor == "onnx" and set(info.files) == {"model.onnx"}
    assert info.classes == [0, 1] and info.predict_proba
    assert {"onnx", "onnxruntime"} <= set(info.requirements.packages)
    loaded = load_package(tmp_path / "pkg")
    np.testing.assert_array_equal(loaded.predict(X), cancer_pipeline.predict(X))
    np.testing.assert_allclose(
        loaded.predict_proba(X), cancer_pipeline.predict_proba(X), rtol=0, atol=1e-5
    )


def test_one_input_per_column(
    tmp_path: Path, mixed: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline
) -> None:
    frame, _ = mixed
    proto = to_onnx(mixed_pipeline, frame.head())
    assert [i.name for i in proto.graph.input] == ["age", "income", "plan", "city"]
    save_package(proto, tmp_path / "pkg", input_example=frame.head())
    loaded = load_package(tmp_path / "pkg")
    records = frame.astype(object).to_dict(orient="records")
    np.testing.assert_array_equal(loaded.predict(records), mixed_pipeline.predict(frame))
    np.testing.assert_allclose(
        loaded.predict_proba(frame), mixed_pipeline.predict_proba(frame), rtol=0, atol=1e-5
    )


def test_path_or_bytes_with_flavor_onnx(tmp_path: Path, iris: tuple[pd.DataFrame, Any]) -> None:
    X, y = iris
    ridge = Ridge().fit(X, y)
    file = tmp_path / "ridge.onnx"
    file.write_bytes(to_onnx(ridge, X.head()).SerializeToString())
    for name, model in (("from-path", file), ("from-bytes", file.read_bytes())):
        info = save_package(model, tmp_path / name, flavor="onnx", input_example=X.head())
        assert info.classes is None and not info.predict_proba
        loaded = load_package(tmp_path / name)
        np.testing.assert_allclose(loaded.predict(X), ridge.predict(X), rtol=1e-4, atol=1e-4)
    with pytest.raises(InvalidInput, match="the onnx flavor takes"):
        save_package(tmp_path / "absent.onnx", tmp_path / "bad", flavor="onnx")
