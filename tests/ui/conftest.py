"""Browser tests drive Debian's Chromium (``/usr/bin/chromium``, installed by ``make
install``) through Playwright: Playwright cannot download its own browser on these
machines. (pytest-playwright is not used: its base-url plugin errors on this pytest.)"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shipway.config import Settings

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"  # from the npm registry (MPL-2.0)

CHROMIUM = "/usr/bin/chromium"
# as root, with no network: no sandbox, and none of Chromium's background connections
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh page recording every host it asks, every dialog a script opens and every
    console error (a script or style the page's policy blocks shows there)."""
    context = browser.new_context()
    page = context.new_page()
    page.hosts = set()  # type: ignore[attr-defined]
    page.dialogs = []  # type: ignore[attr-defined]
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.hosts.add(urlsplit(r.url).netloc))  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda m: page.console_errors.append(m.text) if m.type == "error" else None,  # type: ignore[attr-defined]
    )
    yield page
    context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve() -> object:
    """``serve(settings, auth=False)``: a context manager running `shipway server`."""
    return _serve


@contextlib.contextmanager
def _serve(settings: Settings, *, auth: bool = False) -> Iterator[str]:
    """`shipway server` over ``settings``' home and database, as its own process; its URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env |= {"SHIPWAY_HOME": str(settings.home), "SHIPWAY_DB_URL": settings.database_url}
    flag = "--auth" if auth else "--no-auth"
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipway", "server", "--port", str(port), flag],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def accessibility(browser: Browser) -> Iterator[Callable[..., list[str]]]:
    """``check(url, cookies=())``: the serious and critical axe-core violations of the page
    at ``url``, one line each (rule, impact, the first offending elements). The checking
    context bypasses the page's CSP only so the test can inject axe; the page is the same."""
    context = browser.new_context(bypass_csp=True)

    def check(url: str, cookies: list[dict[str, object]] | None = None) -> list[str]:
        if cookies:
            context.add_cookies(cookies)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        page.close()
        return [
            f"{url}: {v['id']} ({v['impact']}): "
            + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:3])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]

    yield check
    context.close()
