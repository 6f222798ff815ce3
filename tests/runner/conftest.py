"""A real Dask cluster for the pipeline tests: a LocalCluster of two worker processes,
shared by the module's tests (each run submits to it, as ``sw.pipeline.run(dask=…)``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from churn_project import churn_data, churn_models, local_project

__all__ = ["churn_data", "churn_models", "local_project"]


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
