"""The contract's privacy rules reach the prediction log: columns to drop are not logged,
columns to hash are logged as the SHA-256 of their text."""

from __future__ import annotations

import hashlib

import httpx
from churn_project import Project

from shipway.client.serving import ClientModelSource
from shipway.demo.churn import FEATURES
from shipway.serving.app import create_app
from shipway.serving.runtime import Runtime, ServeConfig
from shipway.serving.workers import background_serve


def test_log_hashes_and_drops_what_the_contract_says(local_project: Project) -> None:
    client = local_project.client
    text = local_project.contract().replace(
        "log: {hash: [customer_id], drop: [email]}", "log: {hash: [plan], drop: [support_calls]}"
    )
    client.set_contract("churn", text)
    source = ClientModelSource(client)
    assert source.log_rules("churn") == {"hash": ["email", "plan"], "drop": ["support_calls"]}
    config = ServeConfig(access_log=False, log_flush_seconds=0.1, poll_interval=0)
    runtime = Runtime(source, models=["models:/churn/1"], config=config)
    rows = local_project.holdout[FEATURES].head(5).to_dict(orient="records")
    with background_serve(create_app(runtime)) as url, httpx.Client(base_url=url) as http:
        response = http.post("/v1/models/churn/predict", json={"records": rows})
        assert response.status_code == 200, response.text
        assert runtime.writer is not None
        runtime.writer.flush()
    logged = client.backend.predictions_query(
        "churn", "SELECT inputs FROM predictions ORDER BY row"
    ).to_pylist()
    assert [r["inputs"] for r in logged] == [
        {
            "tenure_months": row["tenure_months"],
            "plan": hashlib.sha256(row["plan"].encode()).hexdigest(),
            "monthly_charges": row["monthly_charges"],
        }
        for row in rows
    ]


def test_models_without_a_contract_log_every_input(local_project: Project) -> None:
    assert ClientModelSource(local_project.client).log_rules("churn") == {}
