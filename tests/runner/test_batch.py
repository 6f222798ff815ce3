"""Batch scoring on the two-worker cluster: Parquet and CSV, local and on S3 (SeaweedFS),
partitioned, checked against the signature with bad rows set aside and counted by reason,
the predictions equal to the model's own, one assembled file or a folder of parts, the
prediction log, and ``shipway predict``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipway as sw
from shipway.config import Settings
from shipway.errors import ConnectionFailed, InvalidInput, SchemaError
from shipway.runner import predict
from shipway.testing.seaweed import SeaweedServer

BAD = {7: "n/a", 1234: "lots", 9999: None}  # rows whose 'mean radius' does not fit


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, Any]:
    frame = load_breast_cancer(as_frame=True).frame
    X = frame.drop(columns=["target"])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
        X, frame["target"]
    )
    return X, model


def scores(X: pd.DataFrame, rows: int = 12_000) -> pd.DataFrame:
    """``rows`` rows resampled from the data, 'mean radius' as text with three bad values."""
    big = X.sample(n=rows, replace=True, random_state=0).reset_index(drop=True)
    text = big["mean radius"].map(lambda v: f"{v:.6f}").astype(object)
    for row, value in BAD.items():
        if row < rows:
            text[row] = value
    big["mean radius"] = text
    return big


def register(client: sw.Client, X: pd.DataFrame, model: Any) -> None:
    with sw.start_run(experiment="cancer", client=client, capture=False) as run:
        run.log_model(model, input_example=X.head(3), register="cancer")


@pytest.fixture
def home(sqlite_settings: Settings, cancer: tuple[pd.DataFrame, Any]) -> Any:
    client = sw.Client("", settings=sqlite_settings)
    register(client, *cancer)
    yield client
    client.close()


def expected(X: pd.DataFrame, model: Any, frame: pd.DataFrame) -> pd.Series:
    good = frame.drop(index=[r for r in BAD if r < len(frame)]).copy()
    good["mean radius"] = good["mean radius"].astype(float)
    return pd.Series(model.predict(good[X.columns]), index=good.index)


def test_parquet_in_partitions_with_bad_rows_set_aside_and_predictions_exact(
    home: sw.Client, cancer: tuple[pd.DataFrame, Any], dask_client: Any, tmp_path: Path
) -> None:
    X, model = cancer
    frame = scores(X)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "in.parquet", row_group_size=1500)
    report = predict(
        "models:/cancer/1",
        str(tmp_path / "in.parquet"),
        str(tmp_path / "out"),
        partition_rows=3000,
        proba=True,
        client=home,
        dask=dask_client,
    )
    assert report.partitions == 4 and report.rows == 12_000
    assert (report.predicted, report.rejected) == (12_000 - 3, 3)
    parts = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert len(parts) == 4
    out = pd.concat([pd.read_parquet(p) for p in parts]).set_index("_row").sort_index()
    want = expected(X, model, frame)
    assert list(out.index) == list(want.index)
    assert (out["prediction"].to_numpy() == want.to_numpy()).all()
    assert {"proba_0", "proba_1"} <= set(out.columns)
    assert np.allclose(out["proba_0"] + out["proba_1"], 1.0)
    rejected = pd.concat(pd.read_parquet(p) for p in (tmp_path / "out.rejected").glob("*.parquet"))
    assert sorted(rejected["_row"]) == sorted(BAD)
    assert all("mean radius" in r for r in rejected["_reason"])
    assert sum(report.reasons.values()) == 3 and report.rejected_output == str(
        tmp_path / "out.rejected"
    )
    with pytest.raises(InvalidInput, match="exists; remove it or pass --force"):
        predict(
            "models:/cancer/1", str(tmp_path / "in.parquet"), str(tmp_path / "out"), client=home
        )


def test_csv_into_one_file_is_the_same_and_a_missing_column_is_refused_first(
    home: sw.Client, cancer: tuple[pd.DataFrame, Any], dask_client: Any, tmp_path: Path
) -> None:
    X, model = cancer
    frame = scores(X, rows=5000)
    frame.to_csv(tmp_path / "in.csv", index=False)
    report = predict(
        "models:/cancer/1",
        str(tmp_path / "in.csv"),
        str(tmp_path / "predictions.parquet"),
        partition_rows=1000,
        keep_columns=True,
        client=home,
        dask=dask_client,
    )
    assert report.partitions >= 4 and report.rows == 5000 and report.rejected == 2  # rows 7, 1234
    out = pd.read_parquet(tmp_path / "predictions.parquet").set_index("_row").sort_index()
    want = expected(X, model, frame)
    assert len(out) == 4998 and (out["prediction"].to_numpy() == want.to_numpy()).all()
    assert "worst area" in out.columns  # --keep-columns
    assert not (tmp_path / "predictions.parquet.parts").exists()
    frame.drop(columns=["worst area"]).to_parquet(tmp_path / "narrow.parquet")
    with pytest.raises(SchemaError, match="lacks column\\(s\\) worst area"):
        predict(
            "models:/cancer/1",
            str(tmp_path / "narrow.parquet"),
            str(tmp_path / "n"),
            client=home,
            dask=dask_client,
        )
    assert not (tmp_path / "n").exists()


def test_a_dataset_input_logged_to_the_prediction_log_as_batch(
    home: sw.Client, cancer: tuple[pd.DataFrame, Any], dask_client: Any, tmp_path: Path
) -> None:
    X, _ = cancer
    X.to_parquet(tmp_path / "clean.parquet")
    sw.datasets.add("cancer-scores", tmp_path / "clean.parquet", client=home)
    report = predict(
        "models:/cancer/1",
        "cancer-scores@1",
        str(tmp_path / "out"),
        log=True,
        client=home,
        dask=dask_client,
    )
    assert report.rejected == 0 and report.predicted == len(X)
    segments = home.predictions.segments("cancer")
    assert sum(s.rows for s in segments) == len(X)
    logged = home.backend.predictions_query(
        "cancer", "SELECT DISTINCT arm, protocol FROM predictions"
    )
    assert logged.to_pylist() == [{"arm": "batch", "protocol": "batch"}]


@pytest.mark.s3
def test_input_and_output_on_s3(
    seaweed: SeaweedServer,
    s3_env: None,
    tmp_path: Path,
    cancer: tuple[pd.DataFrame, Any],
    dask_client: Any,
) -> None:
    """Scored on a LocalCluster of its own (the default), whose workers start with the
    S3 credentials; a worker without them fails with a clear error."""
    import boto3

    settings = Settings.load(
        overrides={"home": str(tmp_path / "home"), "s3_endpoint_url": seaweed.endpoint_url},
        environ={},
    )
    client = sw.Client("", settings=settings)
    X, model = cancer
    register(client, X, model)
    bucket = "shipway-batch-test"
    s3 = boto3.client("s3", endpoint_url=seaweed.endpoint_url)
    s3.create_bucket(Bucket=bucket)
    prefix = f"run-{time.time_ns()}"
    frame = scores(X, rows=4000)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "in.parquet", row_group_size=1000)
    s3.upload_file(str(tmp_path / "in.parquet"), bucket, f"{prefix}/in.parquet")
    report = predict(
        "models:/cancer/1",
        f"s3://{bucket}/{prefix}/in.parquet",
        f"s3://{bucket}/{prefix}/out.parquet",
        partition_rows=2000,
        client=client,
    )
    assert (report.rows, report.rejected) == (4000, 2)
    s3.download_file(bucket, f"{prefix}/out.parquet", str(tmp_path / "got.parquet"))
    out = pd.read_parquet(tmp_path / "got.parquet").set_index("_row").sort_index()
    want = expected(X, model, frame)
    assert (out["prediction"].to_numpy() == want.to_numpy()).all()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert any(k.startswith(f"{prefix}/out.parquet.rejected/") for k in keys)
    assert not any(".tmp-" in k for k in keys)
    with pytest.raises(ConnectionFailed, match="cannot read .* AWS credentials"):
        predict(  # the shared cluster's workers started without credentials
            "models:/cancer/1",
            f"s3://{bucket}/{prefix}/in.parquet",
            f"s3://{bucket}/{prefix}/again",
            client=client,
            dask=dask_client,
        )
    client.close()


def test_the_cli_reports_rejected_rows_and_exits_1(
    home: sw.Client, cancer: tuple[pd.DataFrame, Any], dask_client: Any, tmp_path: Path
) -> None:
    X, _ = cancer
    scores(X, rows=3000).to_parquet(tmp_path / "in.parquet")
    env = {**os.environ, "SHIPWAY_DASK_SCHEDULER": dask_client.scheduler.address}
    base = [sys.executable, "-m", "shipway", "predict", "models:/cancer/1", "--home"]
    args = [*base, str(home.settings.home), "-i", str(tmp_path / "in.parquet")]
    done = subprocess.run(
        [*args, "-o", str(tmp_path / "o"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["rejected"] == 2 and report["predicted"] == 2998
    table = subprocess.run(
        [*args, "-o", str(tmp_path / "o2")], capture_output=True, text=True, env=env, timeout=240
    )
    assert "2 row(s) rejected" in table.stdout and "mean radius" in table.stdout
    nope = subprocess.run(
        [*base, str(home.settings.home), "-i", "nowhere.parquet", "-o", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert nope.returncode == 2 and "neither a file or folder here" in nope.stderr


def test_a_malformed_csv_line_is_a_clear_error_naming_its_place(
    home: sw.Client, cancer: tuple[pd.DataFrame, Any], dask_client: Any, tmp_path: Path
) -> None:
    X, _ = cancer
    X.head(50).to_csv(tmp_path / "in.csv", index=False)
    with (tmp_path / "in.csv").open("a") as f:
        f.write("1,2,3\n")  # 3 fields where the header has 30
    with pytest.raises(InvalidInput, match=r"bytes \d+-\d+ of .*in.csv cannot be read"):
        predict(
            "models:/cancer/1",
            str(tmp_path / "in.csv"),
            str(tmp_path / "out"),
            client=home,
            dask=dask_client,
        )
