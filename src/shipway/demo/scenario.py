"""shipway demo: the main job, end to end, on the embedded default.

Starts a platform server on 127.0.0.1, trains two scikit-learn models on a dataset that
scikit-learn ships (no downloads), tracks both runs through the server, and prints a
comparison and the server URL.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import shipway as sw
from shipway.cli.output import console
from shipway.cli.runs import print_comparison
from shipway.config import Settings
from shipway.demo import contracts as demo_contracts
from shipway.demo import monitoring as demo_monitoring
from shipway.errors import MissingDependency
from shipway.services import Services

EXPERIMENT = "demo-breast-cancer"
MODEL = "demo-cancer"


def _holdout_features() -> Any:
    from sklearn.datasets import load_breast_cancer

    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.tail(100)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _snapshot_data(client: sw.Client, X: Any, y: Any, folder: Path) -> tuple[Any, ...]:
    """Write the splits as CSV and snapshot them as dataset versions; a second training
    version (outliers removed) gives `data diff` something to show."""
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=7)
    for name, features, target in (("train", X_train, y_train), ("holdout", X_test, y_test)):
        (folder / name).mkdir(parents=True, exist_ok=True)
        features.assign(target=target).to_csv(folder / name / f"{name}.csv", index=False)
    train = sw.datasets.add(
        "demo-train", folder / "train", message="75% split, seed 7", client=client
    )
    holdout = sw.datasets.add(
        "demo-holdout", folder / "holdout", message="25% split, seed 7", client=client
    )
    area = X_train["mean area"]
    kept = (area - area.mean()).abs() <= 2 * area.std()
    X_train[kept].assign(target=y_train[kept]).to_csv(folder / "train" / "train.csv", index=False)
    cleaned = sw.datasets.add(
        "demo-train", folder / "train", message="outliers in mean area removed", client=client
    )
    return train, holdout, cleaned, X_train, X_test, y_train, y_test


def _train(client: sw.Client, data_folder: Path) -> list[sw.Run]:
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise MissingDependency(
            "the demo needs scikit-learn: pip install 'shipway[sklearn]'"
        ) from None

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    train, holdout, cleaned, X_train, X_test, y_train, y_test = _snapshot_data(
        client, X, y, data_folder
    )
    console.print(f"snapshotted data: {train.ref}, {holdout.ref} and {cleaned.ref}")
    candidates: list[tuple[str, dict[str, Any], Any]] = [
        (
            "logreg",
            {"model": "logreg", "C": 1.0},
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)),
        ),
        (
            "rf",
            {"model": "rf", "n_estimators": 200, "max_depth": 6},
            RandomForestClassifier(n_estimators=200, max_depth=6, random_state=7),
        ),
    ]
    runs = []
    for name, params, model in candidates:
        with sw.start_run(experiment=EXPERIMENT, name=name, client=client) as run:
            run.log_input(train, context="training")
            run.log_input(holdout, context="holdout")
            run.log_params(params)
            run.log_params({"dataset": "sklearn.load_breast_cancer", "test_size": 0.25})
            if name == "rf":
                # grow the forest in stages so the run has a metric series to look at
                model.set_params(warm_start=True)
                for step, trees in enumerate(range(20, 201, 20)):
                    model.set_params(n_estimators=trees).fit(X_train, y_train)
                    run.log_metric(
                        "val_acc", accuracy_score(y_test, model.predict(X_test)), step=step
                    )
            else:
                model.fit(X_train, y_train)
            proba = model.predict_proba(X_test)[:, 1]
            pred = model.predict(X_test)
            run.log_metrics(
                {
                    "accuracy": accuracy_score(y_test, pred),
                    "f1": f1_score(y_test, pred),
                    "roc_auc": roc_auc_score(y_test, proba),
                }
            )
            run.set_tags({"demo": "true", "team": "getting-started"})
            if name == "rf":
                model.set_params(warm_start=False)  # a plain estimator in the package
            run.log_model(
                model,
                "model",
                input_example=X_test.head(5),
                register=MODEL,
                description=f"{name} on the breast-cancer demo data",
            )
        runs.append(client.get_run(run.id))
    return runs


def _promote(client: sw.Client, runs: list[sw.Run]) -> sw.Run:
    """Stage the better model, then show where it came from and its card."""
    from shipway.registry import card as card_builder

    best = max(runs, key=lambda r: r.metrics.get("roc_auc", float("-inf")))
    version = next(v for v in client.list_model_versions(MODEL) if v.run_id == best.id)
    client.update_registered_model(
        MODEL,
        description="flags tumours as malignant or benign (demo)",
        owners=["demo-ds", "demo-platform"],
        tags={"intended_use": "a walkthrough of shipway; not for clinical use"},
    )
    client.set_alias(MODEL, version.version, "staging", reason="best roc_auc in the demo")
    console.print(
        f"registered {MODEL} v1..v{len(runs)}; staging -> v{version.version} ({best.name})"
    )
    lineage = client.get_lineage(MODEL, version.version)
    inputs = ", ".join(f"{i['dataset']} ({i['context']})" for i in lineage["inputs"])
    console.print(
        f"lineage of {version.uri}: run {lineage['run']['id']} in "
        f"{lineage['run']['experiment']}, data {inputs}"
    )
    card = card_builder.markdown(client.get_model_card(MODEL, version.version))
    head = card.split("## Signature")[0].rstrip()
    console.print(head, markup=False, highlight=False)
    signature = client.get_model_card(MODEL, version.version)["signature"] or {}
    columns = signature.get("inputs") or []
    console.print(
        f"(signature: {len(columns)} input columns, outputs "
        f"{', '.join(o['name'] for o in signature.get('outputs') or [])}; full card: "
        f"shipway models card {MODEL} {version.version})",
        highlight=False,
    )
    loaded = sw.models.load(f"models:/{MODEL}@staging", client=client)
    console.print(f'sw.models.load("models:/{MODEL}@staging") -> a {loaded.flavor} model')
    return best


def _show_diff(client: sw.Client) -> None:
    """The gist of `shipway data diff demo-train@1 demo-train@2`."""
    from shipway.cli.output import table

    result = sw.datasets.diff("demo-train@1", "demo-train@2", client=client)
    for rel, change in result["tables"].items():
        rows = change["rows"]
        shifted = sorted(
            (c for c in change["columns"] if c.get("psi") is not None),
            key=lambda c: -c["psi"],
        )[:5]
        title = (
            f"data diff {result['from']} -> {result['to']}, {rel}: "
            f"rows {rows['old']} -> {rows['new']}"
        )
        cells = [(c["name"], f"{c['psi']:.3f}", c["psi_level"]) for c in shifted]
        console.print(table(title, ["most shifted column", "PSI", "level"], cells))


def _serve(client: sw.Client, best: sw.Run, X: Any) -> None:
    """Promote the best version to production, serve it, and send requests through all
    three protocols; then show the metrics and where the prediction log went."""
    import httpx

    from shipway.cli.output import table
    from shipway.client.serving import ClientModelSource
    from shipway.serving.app import create_app
    from shipway.serving.runtime import Runtime, ServeConfig
    from shipway.serving.workers import background_serve

    version = next(v for v in client.list_model_versions(MODEL) if v.run_id == best.id)
    client.set_alias(MODEL, version.version, "production", reason="demo: best roc_auc")
    uri = f"models:/{MODEL}@production"
    runtime = Runtime(ClientModelSource(client), models=[uri], config=ServeConfig(access_log=False))
    rows = X.to_dict(orient="records")
    with background_serve(create_app(runtime)) as url, httpx.Client(base_url=url) as http:
        console.print(f"\ninference server on {url} serving {uri} (v{version.version})")
        times: dict[str, list[float]] = {"native": [], "v2": [], "mlflow": []}
        for i in range(300):
            row = rows[i % len(rows)]
            protocol = ("native", "v2", "mlflow")[i % 3]
            started = time.perf_counter()
            if protocol == "native":
                r = http.post(f"/v1/models/{MODEL}/predict", json={"records": [row]})
            elif protocol == "v2":
                inputs = [
                    {"name": k, "shape": [1], "datatype": "FP64", "data": [v]}
                    for k, v in row.items()
                ]
                r = http.post(f"/v2/models/{MODEL}/infer", json={"inputs": inputs})
            else:
                r = http.post("/invocations", json={"dataframe_records": [row]})
            r.raise_for_status()
            times[protocol].append((time.perf_counter() - started) * 1000)
        cells = [
            (p, len(t), f"{sorted(t)[len(t) // 2]:.2f}", f"{sorted(t)[int(len(t) * 0.99)]:.2f}")
            for p, t in times.items()
        ]
        console.print(table("300 requests", ["protocol", "requests", "p50 ms", "p99 ms"], cells))
        metrics = http.get("/metrics").text
        for line in metrics.splitlines():
            if line.startswith(("shipway_requests_total", "shipway_prediction_log")):
                console.print(f"  {line}", highlight=False, markup=False)
        assert runtime.writer is not None
        runtime.writer.flush()
    segments = client.predictions.segments(MODEL)
    logged = sum(s.rows for s in segments)
    console.print(
        f"prediction log: {logged} rows in {len(segments)} Parquet segment(s) in the blob store "
        f"({', '.join(s.digest[:12] + '…' for s in segments)}); read it with: shipway "
        f"predictions tail {MODEL} --home {client.settings.home}",
        highlight=False,
    )


def run(settings: Settings, port: int = 5050, wait: bool = True) -> None:
    """Run the getting-started scenario on the home of ``settings``: a server on ``port``
    (0: any free one), tracked models, data versions, serving, and a contract enforced on
    two churn candidates; with ``wait``, serve until Ctrl-C."""
    from shipway.api.server import BackgroundServer

    if port and not _free(port):
        console.print(f"port {port} is taken; using a free one instead")
        port = 0
    services = Services.open(settings)
    server = BackgroundServer(services, "127.0.0.1", port)
    url = server.start()
    try:
        console.print(f"[bold]shipway[/] platform server on {url}  (home: {settings.home})")
        client = sw.Client(url, settings=settings)
        started = time.perf_counter()
        runs = _train(client, settings.home / "demo-data")
        took = time.perf_counter() - started
        console.print(
            f"trained and tracked {len(runs)} runs in {took:.1f}s, experiment {EXPERIMENT!r}"
        )
        print_comparison(runs)
        _show_diff(client)
        best = _promote(client, runs)
        console.print(f"best by roc_auc: [bold]{best.name}[/] ({best.id})")
        _serve(client, best, _holdout_features())
        demo_contracts.run(client, url, settings.home / "demo-data" / "churn")
        demo_monitoring.run(client, url, settings, settings.home / "demo-data" / "churn")
        console.print(f"\nserver: {url}   workspace: {url}/   API docs: {url}/docs")
        console.print(
            f"look at: {url}/models/churn (alias timeline, versions, contract), "
            f"{url}/deployments/churn (monitoring), {url}/runs?experiment={EXPERIMENT}",
            highlight=False,
        )
        console.print(f"log from Python: sw.set_tracking_uri({url!r})", highlight=False)
        console.print(f"list runs:       shipway runs list --home {settings.home}", highlight=False)
        if not wait:
            return
        console.print("serving until Ctrl-C")
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.stop()
        services.close()
