"""Running the API: in the foreground (``shipway server``) or in a background thread
(``shipway demo`` and the end-to-end tests)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn

from shipway.api.app import create_app
from shipway.errors import ConnectionFailed
from shipway.services import Services


def _config(services: Services, host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(services),
        host=host,
        port=port,
        log_level=kwargs.pop("log_level", "warning"),
        timeout_graceful_shutdown=5,
        **kwargs,
    )


def serve(
    services: Services,
    host: str,
    port: int,
    log_level: str = "info",
    *,
    monitor: bool = True,
    background: Sequence[Any] = (),
) -> None:
    """Serve until interrupted, running the monitor every ``monitor_interval`` seconds
    (unless ``monitor`` is false: ``shipway ui`` only shows) and the ``background`` loops
    (objects with ``start()`` and ``stop()``: the pipeline scheduler)."""
    from shipway.monitoring.loop import MonitorLoop

    check_port(host, port)
    if not monitor:
        uvicorn.Server(_config(services, host, port, log_level=log_level)).run()
        return
    loop = MonitorLoop(
        lambda: services.as_actor("monitor").monitoring.run_all(),
        services.settings.monitor_interval,
    )
    loop.start()
    for other in background:
        other.start()
    try:
        uvicorn.Server(_config(services, host, port, log_level=log_level)).run()
    finally:
        for other in background:
            other.stop()
        loop.stop()


def check_port(host: str, port: int) -> None:
    """Fail with a clear error before uvicorn would exit(3) on a port that is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConnectionFailed(
                f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port"
            ) from None


class BackgroundServer:
    """A uvicorn server in a daemon thread; ``url`` is known once ``start()`` returns."""

    def __init__(self, services: Services, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = uvicorn.Server(_config(services, host, port))
        self.host = host
        self.thread = threading.Thread(target=self.server.run, name="shipway-server", daemon=True)
        self.url = ""

    def start(self, timeout: float = 20.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise ConnectionFailed(
                    f"the server did not start on {self.host}:{self.server.config.port}; "
                    "is the port taken? pick another --port"
                )
            if time.monotonic() > deadline:
                raise ConnectionFailed(f"the server did not start within {timeout:.0f} s")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def background_server(services: Services, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    server = BackgroundServer(services, host, port)
    try:
        yield server.start()
    finally:
        server.stop()
