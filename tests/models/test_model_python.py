"""python flavor: a PythonModel subclass with an artifact file and its own code."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.errors import InvalidInput
from shipway.models import ModelContext, PythonModel, load_package, save_package


class Thresholds(PythonModel):
    """Flags rows whose score passes a cutoff read from a JSON artifact."""

    def __init__(self, cutoffs: Path) -> None:
        self.artifacts = {"cutoffs": cutoffs}
        self.cutoff: float | None = None
        self.classes = ["keep", "flag"]

    def load(self, context: ModelContext) -> None:
        self.cutoff = json.loads(context.artifacts["cutoffs"].read_text())["score"]

    def predict(self, inputs: pd.DataFrame) -> Any:
        assert self.cutoff is not None
        return np.where(inputs["score"].to_numpy() > self.cutoff, "flag", "keep")

    def predict_proba(self, inputs: pd.DataFrame) -> Any:
        p = (inputs["score"].to_numpy() > 0.5).astype(float)
        return np.column_stack([1 - p, p])


class Doubler(PythonModel):
    def predict(self, inputs: Any) -> Any:
        return np.asarray(inputs) * 2


def test_python_model_with_a_data_file(tmp_path: Path) -> None:
    cutoffs = tmp_path / "cutoffs.json"
    cutoffs.write_text(json.dumps({"score": 0.7}))
    model = Thresholds(cutoffs)
    example = pd.DataFrame({"score": [0.1, 0.9], "segment": ["a", "b"]})
    info = save_package(model, tmp_path / "pkg", input_example=example)
    assert model.cutoff is None  # saving did not call load() on the caller's object
    assert set(info.files) == {"python_model.pkl", "artifacts/cutoffs/cutoffs.json"}
    assert info.classes == ["keep", "flag"] and info.predict_proba
    assert info.signature is not None
    assert [o.to_dict() for o in info.signature.outputs][0] == {
        "name": "prediction",
        "type": "string",
    }
    cutoffs.write_text(json.dumps({"score": 0.0}))  # the package keeps its own copy
    loaded = load_package(tmp_path / "pkg")
    got = loaded.predict([{"score": 0.75, "segment": "a"}, {"score": 0.2, "segment": "b"}])
    assert got.tolist() == ["flag", "keep"]
    assert loaded.predict_proba({"score": [0.9], "segment": ["x"]}).tolist() == [[0.0, 1.0]]


def test_python_model_without_predict_proba(tmp_path: Path) -> None:
    info = save_package(Doubler(), tmp_path / "pkg", input_example=np.ones((2, 3)))
    assert not info.predict_proba
    loaded = load_package(tmp_path / "pkg")
    assert loaded.predict([[1, 2, 3]]).tolist() == [[2.0, 4.0, 6.0]]
    with pytest.raises(InvalidInput, match="no predict_proba"):
        loaded.predict_proba([[1, 2, 3]])


def test_python_files_are_shipped_under_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "tripler_model.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from shipway.models import PythonModel

            class Tripler(PythonModel):
                def predict(self, inputs):
                    return np.asarray(inputs) * 3
            """
        )
    )
    with monkeypatch.context() as patch:
        patch.syspath_prepend(str(source))
        import tripler_model  # type: ignore[import-not-found]

        save_package(
            tripler_model.Tripler(),
            tmp_path / "pkg",
            input_example=[[1.0, 2.0]],
            python_files=[source / "tripler_model.py"],
        )
    del sys.modules["tripler_model"]
    (source / "tripler_model.py").unlink()
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_package adds code/ to it
    loaded = load_package(tmp_path / "pkg")
    assert (tmp_path / "pkg" / "code" / "tripler_model.py").is_file()
    assert loaded.predict([[1.0, 2.0]]).tolist() == [[3.0, 6.0]]
    monkeypatch.delitem(sys.modules, "tripler_model")


def test_artifact_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="artifact 'cutoffs'.*does not exist"):
        save_package(Thresholds(tmp_path / "absent.json"), tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()
