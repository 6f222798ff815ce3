"""Running the inference server: one process, several worker processes on one port, or a
background thread (tests, the demo).

The listening socket is created here with ``IPPROTO_TCP`` and handed to uvicorn. uvicorn's
own multi-worker mode creates it with protocol 0, so asyncio never sets TCP_NODELAY on
accepted connections and every keep-alive request waits ~40 ms for a delayed ACK
(FIELD-NOTES). Each worker loads its own copy of the models before it accepts a
connection (uvicorn runs the lifespan start-up before it serves the socket).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from shipway.errors import ConnectionFailed

log = logging.getLogger("shipway.serving")

AppFactory = Callable[..., Any]


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConnectionFailed(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: Any, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop=_loop(),
        http=_http(),
        lifespan="on",
        access_log=False,  # shipway writes its own JSON access log
        log_level=log_level,
        timeout_graceful_shutdown=10,
        backlog=2048,
    )


def _loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _http() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def _worker(
    factory: AppFactory, args: tuple[Any, ...], sock: socket.socket, log_level: str
) -> None:
    # the socket arrives through multiprocessing's pickling (a duplicated descriptor), with
    # the protocol it was created with, so asyncio sets TCP_NODELAY on accepted connections
    setup_logging(log_level)
    server = uvicorn.Server(_config(factory(*args), log_level))
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(3)


def setup_logging(level: str) -> None:
    """Server logs and the JSON access log (one object per line) to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("shipway.access")
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False
    serving = logging.getLogger("shipway.serving")
    if not serving.handlers:
        plain = logging.StreamHandler(sys.stderr)
        plain.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        serving.addHandler(plain)
    serving.setLevel(getattr(logging, level.upper(), logging.INFO))


def run(
    factory: AppFactory,
    args: tuple[Any, ...],
    host: str,
    port: int,
    *,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve until interrupted; ``factory(*args)`` builds the app in each worker."""
    sock = listen(host, port)
    if workers <= 1:
        setup_logging(log_level)
        server = uvicorn.Server(_config(factory(*args), log_level))
        server.run(sockets=[sock])
        if not server.started:
            raise ConnectionFailed("the inference server could not start; see the log above")
        return
    metrics_dir = tempfile.mkdtemp(prefix="shipway-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    context = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    stopping = False

    def spawn() -> Any:
        process = context.Process(
            target=_worker, args=(factory, args, sock, log_level), daemon=False
        )
        process.start()
        return process

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        processes = [spawn() for _ in range(workers)]
        while not stopping:
            time.sleep(0.5)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    if process.exitcode == 3:  # could not start (a model failed to load)
                        raise ConnectionFailed(
                            "a worker could not start (see the log above); stopping"
                        )
                    log.warning(
                        "worker %d exited (%s); starting another", process.pid, process.exitcode
                    )
                    processes[i] = spawn()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(15)
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(metrics_dir, ignore_errors=True)


class BackgroundServe:
    """The inference server in a daemon thread of this process; ``url`` once started."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = listen(host, port)
        self.server = uvicorn.Server(_config(app, "warning"))
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name="shipway-serve",
            daemon=True,
        )
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"

    def start(self, timeout: float = 60.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise ConnectionFailed("the inference server did not start; see the log")
            if time.monotonic() > deadline:
                raise ConnectionFailed(f"the inference server did not start within {timeout:.0f} s")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@contextlib.contextmanager
def background_serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    server = BackgroundServe(app, host, port)
    try:
        yield server.start()
    finally:
        server.stop()
