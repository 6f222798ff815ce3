"""`shipway models env`: a version's pinned environment as requirements.txt, a Conda
environment.yml and a pyproject fragment, and an environment checked against it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipway as sw
from shipway.config import Settings


@pytest.fixture
def home(sqlite_settings: Settings) -> Any:
    client = sw.Client("", settings=sqlite_settings)
    X, y = load_iris(return_X_y=True, as_frame=True)
    with sw.start_run(experiment="iris", client=client, capture=False) as run:
        run.log_model(LogisticRegression(max_iter=500).fit(X, y), input_example=X.head(2),
                      register="iris")  # fmt: skip
    yield client
    client.close()


def env(home: sw.Client, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "shipway", "models", "env", "models:/iris/1", *args]
    return subprocess.run(
        [*command, "--home", str(home.settings.home)], capture_output=True, text=True, timeout=120
    )


def test_the_environment_in_each_format_pins_the_same_packages(home: sw.Client) -> None:
    import sklearn

    pinned = json.loads(env(home, "--format", "json").stdout)
    assert pinned["packages"]["scikit-learn"] == sklearn.__version__
    conda = yaml.safe_load(env(home, "--format", "conda").stdout)
    assert conda["name"] == "iris-v1"
    assert f"python={pinned['python']}" in conda["dependencies"]
    pip = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert f"scikit-learn=={sklearn.__version__}" in pip
    project = tomllib.loads(env(home, "--format", "pyproject").stdout)["project"]
    assert f"scikit-learn=={sklearn.__version__}" in project["dependencies"]
    assert project["requires-python"] == "==" + ".".join(pinned["python"].split(".")[:2]) + ".*"
    plain = env(home).stdout
    assert f"scikit-learn=={sklearn.__version__}" in plain.splitlines()
    bad = env(home, "--format", "nope")
    assert bad.returncode == 2 and "environment format 'nope' is not one of" in bad.stderr


def test_an_environment_is_checked_against_the_pins(home: sw.Client, tmp_path: Path) -> None:
    fits = env(home, "--check")
    assert fits.returncode == 0 and "fits iris v1" in fits.stdout, fits.stdout + fits.stderr
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")],
                   check=True, timeout=120)  # fmt: skip
    bare = env(home, "--check", "--python", str(tmp_path / "bare" / "bin" / "python"))
    assert bare.returncode == 1
    assert "scikit-learn: missing (the package pins" in bare.stdout
    nowhere = env(home, "--check", "--python", str(tmp_path / "no-python"))
    assert nowhere.returncode == 2 and "give a Python interpreter" in nowhere.stderr
