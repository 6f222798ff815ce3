"""The Python SDK: one interface over two backends (in-process services, HTTP)."""

from shipway.client.client import Client, get_tracking_uri, open_backend, set_tracking_uri
from shipway.client.run import ActiveRun, active_run, start_run

__all__ = [
    "ActiveRun",
    "Client",
    "active_run",
    "get_tracking_uri",
    "open_backend",
    "set_tracking_uri",
    "start_run",
]
