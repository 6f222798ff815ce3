"""A churn project in a shipway home: train and holdout datasets, and two registered
versions of ``churn`` (v1 logistic regression that meets the contract, v2 a one-split
tree that does not), each trained in a run that links its data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import shipway as sw
from shipway.config import Settings
from shipway.demo.churn import FEATURES, churn_frame, contract_text, good_model, weak_model


@dataclass
class Project:
    client: sw.Client
    train: pd.DataFrame
    holdout: pd.DataFrame
    train_ref: str
    holdout_ref: str
    models: dict[int, Any]
    folder: Path

    def contract(self, **changes: Any) -> str:
        """The demo contract, with a short latency measurement so tests stay quick and
        budgets a loaded CI machine meets (tests about latency set their own)."""
        options: dict[str, Any] = {"requests": 30, "warmup": 5, "p95_ms": 2000, "p99_ms": 5000}
        options.update(changes)
        return contract_text(self.holdout_ref, **options)


@pytest.fixture(scope="session")
def churn_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return churn_frame(3000, seed=1), churn_frame(1200, seed=2)


@pytest.fixture(scope="session")
def churn_models(churn_data: tuple[pd.DataFrame, pd.DataFrame]) -> dict[int, Any]:
    train, _ = churn_data
    return {1: good_model(train), 2: weak_model(train)}


def build_project(
    client: sw.Client,
    folder: Path,
    data: tuple[pd.DataFrame, pd.DataFrame],
    models: dict[int, Any],
) -> Project:
    train, holdout = data
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    holdout.to_csv(folder / "holdout.csv", index=False)
    train_v = sw.datasets.add("churn-train", folder / "train.csv", client=client)
    holdout_v = sw.datasets.add("churn-holdout", folder / "holdout.csv", client=client)
    for number in (1, 2):
        with sw.start_run(experiment="churn", client=client) as run:
            run.log_input(train_v, context="training")
            run.log_input(holdout_v, context="holdout")
            version = run.log_model(
                models[number], input_example=train[FEATURES].head(3), register="churn"
            )
        assert version is not None and version.version == number
    return Project(client, train, holdout, train_v.ref, holdout_v.ref, models, folder)


@pytest.fixture
def project(
    client: sw.Client,
    tmp_path: Path,
    churn_data: tuple[pd.DataFrame, pd.DataFrame],
    churn_models: dict[int, Any],
) -> Project:
    """The project through both clients (in-process and HTTP) on both databases."""
    return build_project(client, tmp_path / "project", churn_data, churn_models)


@pytest.fixture
def local_project(
    sqlite_settings: Settings,
    tmp_path: Path,
    churn_data: tuple[pd.DataFrame, pd.DataFrame],
    churn_models: dict[int, Any],
) -> Iterator[Project]:
    """The project in a local SQLite home, for tests about one check at a time."""
    client = sw.Client("", settings=sqlite_settings)
    yield build_project(client, tmp_path / "project", churn_data, churn_models)
    client.close()
