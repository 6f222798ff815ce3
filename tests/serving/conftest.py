"""Fixtures for the inference server: a registry with two real scikit-learn versions of
``cancer`` (breast-cancer data that scikit-learn ships), and servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from serving_helpers import serving
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import shipway as sw
from shipway.config import Settings
from shipway.serving.runtime import Runtime


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def fitted(cancer: tuple[pd.DataFrame, pd.Series]) -> dict[int, Any]:
    X, y = cancer
    return {
        1: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
        2: DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y),
    }


@pytest.fixture
def registry(
    sqlite_settings: Settings, cancer: tuple[pd.DataFrame, pd.Series], fitted: dict[int, Any]
) -> Iterator[sw.Client]:
    """A local home with cancer v1 (logistic regression, production) and v2 (a tree)."""
    X, _ = cancer
    client = sw.Client("", settings=sqlite_settings)
    for number in (1, 2):
        with sw.start_run(experiment="cancer", client=client, capture=False) as run:
            run.log_model(fitted[number], input_example=X.head(3), register="cancer")
    client.registry.set_alias("cancer", 1, "production")
    yield client
    client.close()


@pytest.fixture
def served(registry: sw.Client) -> Iterator[tuple[str, Runtime]]:
    with serving(registry, ["models:/cancer@production"]) as pair:
        yield pair
