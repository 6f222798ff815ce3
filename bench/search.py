"""Run search: 100,000 runs with 5 params and 5 metrics each, on SQLite.
`metrics.acc > 0.9 and params.model = 'rf'` ordered by `metrics.acc desc`, first page of
100 full runs (params, latest metrics and tags loaded), through the tracking service.

Baseline: the same question asked the plain way on the same database: membership
subqueries per condition and a correlated subquery for the sort key,
then the same loading of the 100 runs.
"""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.common import Result, median_ms
from shipway.config import Settings
from shipway.services import Services
from shipway.store import runs as runs_repo
from shipway.store.tables import experiments, latest_metrics, params, runs

RUNS = 100_000
FILTER = "metrics.acc > 0.9 and params.model = 'rf'"
ORDER = ["metrics.acc desc"]


def populate(services: Services) -> None:
    rng = random.Random(7)
    now = int(time.time() * 1000)
    with services.db.write() as conn:
        exp_id = conn.execute(
            experiments.insert()
            .values(name="bench", description="", created_at=now, created_by="bench")
            .returning(experiments.c.id)
        ).scalar_one()
        run_rows, param_rows, metric_rows = [], [], []
        for pk in range(1, RUNS + 1):
            run_rows.append(
                {
                    "pk": pk,
                    "id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "experiment_id": exp_id,
                    "name": f"run-{pk}",
                    "status": "finished",
                    "user": "bench",
                    "start_time": now - pk,
                    "end_time": now,
                    "deleted": False,
                }
            )
            model = rng.choice(["rf", "lr", "xgb", "svm"])
            for key, value in [
                ("model", model),
                ("depth", str(rng.randint(2, 12))),
                ("lr", str(rng.random())),
                ("seed", str(pk)),
                ("features", rng.choice(["all", "top20"])),
            ]:
                param_rows.append({"run_pk": pk, "key": key, "value": value})
            for key in ("acc", "f1", "loss", "auc", "precision"):
                metric_rows.append(
                    {"run_pk": pk, "key": key, "value": rng.random(), "step": 9, "timestamp": now}
                )
        conn.execute(runs.insert(), run_rows)
        conn.execute(params.insert(), param_rows)
        conn.execute(latest_metrics.insert(), metric_rows)
    with services.db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def baseline_query(services: Services) -> list[object]:
    acc = (
        sa.select(latest_metrics.c.value)
        .where(latest_metrics.c.run_pk == runs.c.pk, latest_metrics.c.key == "acc")
        .scalar_subquery()
    )
    query = (
        sa.select(runs.c.pk)
        .where(
            runs.c.pk.in_(
                sa.select(latest_metrics.c.run_pk).where(
                    latest_metrics.c.key == "acc", latest_metrics.c.value > 0.9
                )
            ),
            runs.c.pk.in_(
                sa.select(params.c.run_pk).where(params.c.key == "model", params.c.value == "rf")
            ),
            runs.c.deleted == sa.false(),
        )
        .order_by(acc.desc())
        .limit(100)
    )
    with services.db.read() as conn:
        pks = list(conn.execute(query).scalars())
        return list(runs_repo.load(conn, pks))


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(overrides={"home": str(Path(tmp))}, environ={})
        services = Services.open(settings)
        populate(services)
        tracking = services.tracking

        def ours() -> object:
            page = tracking.search_runs("bench", filter=FILTER, order_by=ORDER, limit=100)
            assert len(page) == 100 and page.next_cursor
            return page

        first = [r.id for r in ours()]
        assert first == [r.id for r in baseline_query(services)]  # type: ignore[attr-defined]
        figure = median_ms(ours, 30)
        baseline = median_ms(lambda: baseline_query(services), 10)
        services.close()
    return [
        Result(
            "search 100k runs, first page of 100",
            figure,
            "ms (median)",
            "plain subqueries",
            baseline,
            "median < 50 ms on SQLite",
            higher_is_better=False,
        )
    ]
