"""Settings: environment > config.toml in the home > defaults; frozen; clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shipway.config import SETTINGS, Settings
from shipway.errors import InvalidInput


def test_defaults(tmp_path: Path) -> None:
    s = Settings.load(overrides={"home": str(tmp_path)}, environ={})
    assert s.home == tmp_path
    assert s.database_url == f"sqlite:///{tmp_path / 'shipway.db'}"
    assert s.blob_location == str(tmp_path / "blobs")
    assert s.port == 5050 and s.auth is False


def test_precedence_env_over_file_over_default(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('port = 6000\nauth = true\nhost = "0.0.0.0"\n')
    env = {"SHIPWAY_HOME": str(tmp_path), "SHIPWAY_PORT": "7000"}
    s = Settings.load(environ=env)
    assert s.port == 7000  # env wins
    assert s.auth is True and s.host == "0.0.0.0"  # from the file
    assert s.retries == 5  # default


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = Settings.load(overrides={"home": str(tmp_path)}, environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_bad_values_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="SHIPWAY_PORT must be a int, got 'abc'"):
        Settings.load(environ={"SHIPWAY_HOME": str(tmp_path), "SHIPWAY_PORT": "abc"})
    (tmp_path / "config.toml").write_text("colour = 'red'\n")
    with pytest.raises(InvalidInput, match="unknown setting"):
        Settings.load(environ={"SHIPWAY_HOME": str(tmp_path)})
    (tmp_path / "config.toml").write_text("port = \n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        Settings.load(environ={"SHIPWAY_HOME": str(tmp_path)})


def test_every_setting_is_a_field() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert fields == {s.name for s in SETTINGS}
    assert all(s.help for s in SETTINGS)


def test_home_cannot_be_set_inside_the_home(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("home = '/elsewhere'\n")
    with pytest.raises(InvalidInput, match="'home' cannot be set"):
        Settings.load(environ={"SHIPWAY_HOME": str(tmp_path)})


def test_client_follows_the_tracking_uri_setting(tmp_path: Path) -> None:
    import shipway as sw

    settings = Settings.load(
        overrides={"home": str(tmp_path), "tracking_uri": "http://127.0.0.1:9"}, environ={}
    )
    assert sw.Client(settings=settings).tracking_uri == "http://127.0.0.1:9"
