"""Small real models for the model-package tests: fitted once per session."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

PLANS = ["basic", "plus", "pro"]
CITIES = ["lyon", "oslo", "lima", "kobe"]


def mixed_frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """int, float, category and string columns, as a churn table might have."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "income": rng.normal(50.0, 12.0, rows).round(2),
            "plan": pd.Categorical(rng.choice(PLANS, rows), categories=PLANS),
            "city": pd.Series(rng.choice(CITIES, rows), dtype="str"),
        }
    )


def mixed_target(frame: pd.DataFrame) -> Any:
    return ((frame["age"] > 45) ^ (frame["plan"] == "pro")).astype(int).to_numpy()


@pytest.fixture(scope="session")
def mixed() -> tuple[pd.DataFrame, Any]:
    frame = mixed_frame()
    return frame, mixed_target(frame)


@pytest.fixture(scope="session")
def mixed_pipeline(mixed: tuple[pd.DataFrame, Any]) -> Pipeline:
    frame, y = mixed
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "city"]),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=500)).fit(frame, y)


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def cancer_pipeline(cancer: tuple[pd.DataFrame, Any]) -> Pipeline:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, Any]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y
