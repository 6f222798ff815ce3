"""What happens when an alert fires, besides its record and a log line: a webhook POST and
the contract's action (roll the alias back, or start the retraining command)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

SIGNATURE_HEADER = "X-Shipway-Signature"
WEBHOOK_BACKOFF = 0.5  # seconds before the first retry of a webhook; doubles each time


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, as GitHub signs its webhooks."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def outbound_problem(url: str, allow: Sequence[str] = ()) -> str | None:
    """Why ``url`` may not be called from the server, or None: its host resolves to a
    loopback, private, link-local, multicast or reserved address (an alert's webhook must
    not reach into the server's own network) that ``allow`` (hosts or networks an admin
    listed in SHIPWAY_WEBHOOK_ALLOW) does not list. A host that does not resolve is left
    to fail as a delivery."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"{url!r} is not a URL: {exc}"
    host = parsed.host
    if not host:
        return f"{url!r} has no host"
    networks = []
    for item in allow:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            if item.lower() == host.lower():
                return None  # a host the administrator allowed by name
    try:
        infos = socket.getaddrinfo(host, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if any(address in network for network in networks):
            continue
        for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
            if getattr(address, f"is_{kind}"):
                return (
                    f"{host} resolves to {address}, a {kind.replace('_', '-')} address: "
                    "webhooks into internal networks are refused; an administrator can allow "
                    "it with SHIPWAY_WEBHOOK_ALLOW (hosts or networks, e.g. 10.0.0.0/8)"
                )
    return None


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str | None,
    attempts: int = 4,
    backoff: float | None = None,
    timeout: float = 5.0,
    allow: Sequence[str] = (),
) -> dict[str, Any]:
    """POST ``payload`` as JSON, retrying transport errors and 5xx/429 answers with
    doubling waits; a URL into an internal network (``outbound_problem``) is refused and
    redirects are never followed. Never raises: returns what happened, to be kept with
    the alert."""
    problem = outbound_problem(url, allow)
    if problem is not None:
        return {"status": "refused", "attempts": 0, "errors": [problem]}
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json", "User-Agent": "shipway-monitor"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    tries: list[str] = []
    delay = WEBHOOK_BACKOFF if backoff is None else backoff
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(
                url, content=body, headers=headers, timeout=timeout, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            tries.append(f"{type(exc).__name__}: {exc}")
        else:
            if response.status_code < 300:
                return {"status": "delivered", "attempts": attempt, "code": response.status_code}
            tries.append(f"HTTP {response.status_code}")
            if response.status_code < 500 and response.status_code != 429:
                break  # the receiver refused it; retrying will not help
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    return {"status": "failed", "attempts": len(tries), "errors": tries}


def start_retraining(
    command: str,
    context: dict[str, Any],
    log_dir: Path,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Start ``command`` (through the shell) with the alert's context in environment
    variables; runs it creates are tagged ``shipway.alert``. Returns at once; the command
    is stopped (its whole process group) after ``timeout`` seconds."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"retrain-alert-{context['alert_id']}.log"
    env = dict(os.environ)
    env.update(
        {
            "SHIPWAY_ALERT_ID": str(context["alert_id"]),
            "SHIPWAY_ALERT_RULE": str(context["rule"]),
            "SHIPWAY_ALERT_MODEL": str(context["model"]),
            "SHIPWAY_ALERT_VERSION": str(context.get("version") or ""),
            "SHIPWAY_ALERT_JSON": orjson.dumps(context).decode(),
        }
    )
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                start_new_session=True,
            )
    except OSError as exc:
        return {"status": "failed", "error": str(exc), "command": command}
    # a reaper thread waits for it (so it never lingers as a zombie) and enforces the timeout
    threading.Thread(
        target=_reap, args=(process, timeout, log_path), name="shipway-retrain", daemon=True
    ).start()
    return {"status": "started", "pid": process.pid, "command": command, "log": str(log_path)}


def _reap(process: subprocess.Popen[bytes], timeout: float | None, log_path: Path) -> None:
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with open(log_path, "ab") as log:
            log.write(f"\nshipway: stopped after {timeout:.0f} s (retrain.timeout)\n".encode())
        process.wait()
