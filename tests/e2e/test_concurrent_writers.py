"""Eight processes log 20,000 metric points each to one server; every point is stored.
Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import shipway as sw

WRITER = """
import sys
import shipway as sw
from shipway.config import Settings

url, worker = sys.argv[1], int(sys.argv[2])
client = sw.Client(url, settings=Settings.load(environ={}, overrides={"home": sys.argv[3]}))
with sw.start_run(experiment="concurrency", name=f"w{worker}", client=client, capture=False) as run:
    for step in range(20_000):
        run.log_metric("loss", worker + step / 20_000, step=step)
        if step % 5_000 == 0:
            run.log_param(f"checkpoint_{step}", step)
print(run.id)
"""


def test_eight_processes_twenty_thousand_points_each(
    server_url: str, settings: object, tmp_path: object
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, server_url, str(i), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    run_ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        run_ids.append(out.strip())
    client = sw.Client(server_url)
    for worker, run_id in enumerate(run_ids):
        history = client.get_metric_history(run_id, "loss")
        assert len(history) == 20_000
        assert sorted(p.step for p in history) == list(range(20_000))
        assert history[-1].value == worker + 19_999 / 20_000
        run = client.get_run(run_id)
        assert run.status == "finished" and len(run.params) == 4
    page = client.search_runs("concurrency", limit=100)
    assert len(page) == 8
