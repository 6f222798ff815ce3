"""Take the screenshots of docs/ui.md: run the demo on a fresh home, open the workspace
on it with `shipway ui`, and photograph the main pages in headless Chromium.

    .venv/bin/python tools/screenshots.py        # writes docs/img/*.png
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"
PAGES = {
    "runs": "/runs?experiment=demo-breast-cancer",
    "run": None,  # the demo's rf run, found below
    "model": "/models/churn",
    "version": "/models/churn/versions/2",
    "lineage": "/models/churn/lineage",
    "deployment": "/deployments/churn",
    "dataset": "/datasets/churn-train?version=2&against=1",
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shipway = [sys.executable, "-m", "shipway"]
        subprocess.run(
            [*shipway, "demo", "--no-wait", "--port", "0", "--home", str(home)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ui = subprocess.Popen(
            [*shipway, "ui", "--port", "0", "--home", str(home)], stdout=subprocess.PIPE, text=True
        )
        try:
            line = ui.stdout.readline()  # type: ignore[union-attr]
            url = re.search(r"(http://127\.0\.0\.1:\d+)/", line).group(1)  # type: ignore[union-attr]
            for _ in range(100):
                try:
                    httpx.get(url)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            found = httpx.post(
                f"{url}/api/v1/runs/search",
                json={"experiment": "demo-breast-cancer", "filter": "name = 'rf'"},
            )
            PAGES["run"] = f"/runs/{found.json()['runs'][0]['id']}?smooth=0.3"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                for name, path in PAGES.items():
                    page.goto(url + str(path))
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(400)  # charts draw after their data arrives
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    print(f"wrote docs/img/{name}.png")
                browser.close()
        finally:
            ui.terminate()
            ui.wait(timeout=10)


if __name__ == "__main__":
    main()
