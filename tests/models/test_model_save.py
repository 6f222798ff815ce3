"""save_package: refusals, atomicity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from shipway.errors import Conflict, InvalidInput
from shipway.models import SUPPORTED_FLAVORS, save_package


def test_unsupported_object_lists_the_flavors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="sklearn, xgboost, lightgbm, onnx, python") as caught:
        save_package({"weights": [1, 2]}, tmp_path / "pkg")
    assert caught.value.details["supported"] == list(SUPPORTED_FLAVORS)
    assert not (tmp_path / "pkg").exists()


def test_unknown_or_wrong_flavor_name(tmp_path: Path, mixed_pipeline: Pipeline) -> None:
    with pytest.raises(InvalidInput, match="unknown model flavor 'torch'"):
        save_package(mixed_pipeline, tmp_path / "a", flavor="torch")
    with pytest.raises(InvalidInput, match="not a xgboost model"):
        save_package(mixed_pipeline, tmp_path / "b", flavor="xgboost")


def test_example_that_does_not_fit_the_model(
    tmp_path: Path, cancer_pipeline: Pipeline, iris: tuple[pd.DataFrame, Any]
) -> None:
    X, _ = iris
    with pytest.raises(InvalidInput, match="the input example does not fit the model: ") as caught:
        save_package(cancer_pipeline, tmp_path / "pkg", input_example=X.head())
    assert "feature names" in str(caught.value)  # the model's own message is kept
    assert list(tmp_path.iterdir()) == []  # no half-written package or staging folder


def test_existing_folder_is_not_overwritten(tmp_path: Path, mixed_pipeline: Pipeline) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "keep.txt").write_text("x")
    with pytest.raises(Conflict, match="already exists"):
        save_package(mixed_pipeline, tmp_path / "pkg")
    (tmp_path / "empty").mkdir()
    save_package(mixed_pipeline, tmp_path / "empty")  # an empty folder is fine
    assert (tmp_path / "empty" / "model.yaml").is_file()


def test_unsupported_example_type(tmp_path: Path, mixed_pipeline: Pipeline) -> None:
    with pytest.raises(InvalidInput, match="unsupported input example of type str"):
        save_package(mixed_pipeline, tmp_path / "pkg", input_example="age=3")
