"""xgboost and lightgbm flavors: scikit-learn wrappers and native Boosters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from shipway.errors import InvalidInput
from shipway.models import load_package, read_info, save_package


@pytest.fixture(scope="module")
def table(mixed: tuple[pd.DataFrame, Any]) -> tuple[pd.DataFrame, Any]:
    """Boosters take numbers and categories, not free text: drop the string column."""
    frame, y = mixed
    return frame.drop(columns=["city"]), y


def test_xgb_classifier(tmp_path: Path, table: tuple[pd.DataFrame, Any]) -> None:
    X, y = table
    model = xgb.XGBClassifier(n_estimators=8, max_depth=3, enable_categorical=True).fit(X, y)
    info = save_package(model, tmp_path / "pkg", input_example=X.head())
    assert info.flavor == "xgboost" and set(info.files) == {"model.ubj"}
    assert info.flavor_options == {"estimator": "XGBClassifier"}
    assert info.predict_proba and info.classes == [0, 1]
    assert {"xgboost", "xgboost-cpu"} & set(info.requirements.packages)
    loaded = load_package(tmp_path / "pkg")
    rows = X.head(30)
    np.testing.assert_array_equal(loaded.predict(rows), model.predict(rows))
    records = rows.astype(object).to_dict(orient="records")
    np.testing.assert_allclose(loaded.predict_proba(records), model.predict_proba(rows))


def test_xgb_booster(tmp_path: Path, iris: tuple[pd.DataFrame, Any]) -> None:
    X, y = iris
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(X, y), num_boost_round=4
    )
    info = save_package(booster, tmp_path / "pkg", input_example=X.head())
    assert info.flavor_options == {"estimator": "Booster"} and not info.predict_proba
    loaded = load_package(tmp_path / "pkg")
    expected = booster.predict(xgb.DMatrix(X.head(7)))
    np.testing.assert_allclose(loaded.predict(X.head(7).to_numpy()), expected)
    with pytest.raises(InvalidInput, match="no predict_proba"):
        loaded.predict_proba(X.head())


def test_lgbm_classifier(tmp_path: Path, table: tuple[pd.DataFrame, Any]) -> None:
    X, y = table
    labels = np.array(["stay", "churn"])[y]  # string labels survive the pickle
    model = lgb.LGBMClassifier(n_estimators=10, min_child_samples=5, verbose=-1).fit(X, labels)
    info = save_package(model, tmp_path / "pkg", input_example=X.head())
    assert info.flavor == "lightgbm" and set(info.files) == {"model.pkl"}
    assert info.classes == ["churn", "stay"] and info.predict_proba
    loaded = load_package(tmp_path / "pkg")
    rows = X.head(40)
    np.testing.assert_array_equal(loaded.predict(rows), model.predict(rows))
    np.testing.assert_allclose(loaded.predict_proba(rows.to_numpy()), model.predict_proba(rows))


def test_lgbm_booster(tmp_path: Path, cancer: tuple[pd.DataFrame, Any]) -> None:
    X, y = cancer
    booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), num_boost_round=5
    )
    save_package(booster, tmp_path / "pkg", input_example=X.head())
    info = read_info(tmp_path / "pkg")
    assert set(info.files) == {"model.txt"} and info.flavor_options == {"format": "booster"}
    loaded = load_package(tmp_path / "pkg")
    np.testing.assert_allclose(loaded.predict(X.head(9)), booster.predict(X.head(9)))
    assert not loaded.has_predict_proba
