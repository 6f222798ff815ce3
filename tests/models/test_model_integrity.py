"""Packages are verified before loading and warn about other library versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline

from shipway.errors import IntegrityError, InvalidInput, NotFound
from shipway.models import load_package, read_info, requirements_txt, save_package


@pytest.fixture
def package(tmp_path: Path, iris: tuple[pd.DataFrame, Any], mixed_pipeline: Pipeline) -> Path:
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    path = tmp_path / "pkg"
    save_package(
        LogisticRegression(max_iter=300).fit(X, y),
        path,
        input_example=X.head(),
        python_files=[_helper(tmp_path)],
    )
    return path


def _helper(tmp_path: Path) -> Path:
    file = tmp_path / "features_helper.py"
    file.write_text("SCALE = 2\n")
    return file


def test_flipped_bytes_are_caught(package: Path) -> None:
    model = package / "model.pkl"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"model.pkl in the model package .* does not match"):
        load_package(package)


def test_verify_false_skips_the_digests(package: Path) -> None:
    data = yaml.safe_load((package / "model.yaml").read_text())
    data["files"]["model.pkl"]["digest"] = "0" * 64
    (package / "model.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(IntegrityError):
        load_package(package)
    assert load_package(package, verify=False).predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0]


def test_missing_file_is_named(package: Path) -> None:
    (package / "code" / "features_helper.py").unlink()
    with pytest.raises(IntegrityError, match="code/features_helper.py is missing") as caught:
        load_package(package)
    assert caught.value.details["file"] == "code/features_helper.py"


def test_unknown_extra_files_are_refused(package: Path) -> None:
    # an unlisted file could be imported on load (code/ is on sys.path): refuse it
    (package / "notes.txt").write_text("hello")
    with pytest.raises(IntegrityError, match="notes.txt"):
        load_package(package)


def test_version_mismatch_warns_once_listing_each(package: Path) -> None:
    data = yaml.safe_load((package / "model.yaml").read_text())
    data["requirements"]["packages"]["scikit-learn"] = "0.24.2"
    data["requirements"]["packages"]["numpy"] = "1.19.0"
    (package / "model.yaml").write_text(yaml.safe_dump(data))
    with pytest.warns(UserWarning) as record:
        model = load_package(package)
    assert len(record) == 1 and record[0].filename == __file__
    message = str(record[0].message)
    assert "scikit-learn: logged 0.24.2, installed " in message
    assert "numpy: logged 1.19.0, installed " in message
    assert model.predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0]


def test_requirements_txt(package: Path) -> None:
    info = read_info(package)
    text = requirements_txt(info)
    lines = text.splitlines()
    assert lines[0].startswith("# model package requirements (saved with python 3.")
    assert lines[1:] == sorted(f"{k}=={v}" for k, v in info.requirements.packages.items())
    assert any(line.startswith("scikit-learn==") for line in lines)
    assert any(line.startswith("shipway==") for line in lines)


def test_read_info_errors(tmp_path: Path, package: Path) -> None:
    with pytest.raises(NotFound, match="no model package"):
        read_info(tmp_path / "nowhere")
    data = yaml.safe_load((package / "model.yaml").read_text())
    data["format"] = 99
    (package / "model.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidInput, match="format 99; this shipway reads format 1"):
        load_package(package)


def test_paths_outside_the_package_are_refused(package: Path) -> None:
    data = yaml.safe_load((package / "model.yaml").read_text())
    data["files"]["../escape.txt"] = {"digest": "0" * 64, "size": 1}
    (package / "model.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(IntegrityError, match="outside the package"):
        load_package(package)
