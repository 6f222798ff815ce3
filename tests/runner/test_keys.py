"""What a step's code key covers: its source, helpers and classes beside it, the plain
globals and closure values it reads, project modules followed through their imports —
and not an unrelated step of the same file, nor the name the file was loaded under."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

from shipway.runner.keys import code_digest

STEPS = """
import helpers

FEATURES = ["a", "b"]


class Scaler:
    factor = 2


def clean(x):
    return x


def train(x):
    return helpers.fit(clean(x)[FEATURES], Scaler.factor)


def other(x):
    return x + 1


def make(threshold):
    def step(x):
        return x > threshold
    return step
"""


def load(folder: Path, name: str | None = None) -> Any:
    sys.path.insert(0, str(folder))
    try:
        module_name = name or f"steps_{uuid.uuid4().hex}"
        for stale in ("helpers", "deeper"):
            sys.modules.pop(stale, None)
        spec = importlib.util.spec_from_file_location(module_name, folder / "steps.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))


def project(tmp_path: Path, steps: str = STEPS, deeper: str = "K = 1\n") -> Path:
    (tmp_path / "steps.py").write_text(steps)
    (tmp_path / "helpers.py").write_text("import deeper\n\ndef fit(x, k):\n    return x\n")
    (tmp_path / "deeper.py").write_text(deeper)
    return tmp_path


def key(tmp_path: Path, **kwargs: Any) -> str:
    folder = project(tmp_path, **kwargs)
    return code_digest(load(folder).train, folder)


def test_the_key_follows_what_the_step_uses(tmp_path: Path) -> None:
    base = key(tmp_path)
    assert key(tmp_path) == base  # stable
    assert key(tmp_path, steps=STEPS.replace("x + 1", "x + 2")) == base  # another step
    assert key(tmp_path, steps=STEPS.replace('["a", "b"]', '["a", "c"]')) != base  # a global
    assert key(tmp_path, steps=STEPS.replace("factor = 2", "factor = 3")) != base  # a class
    assert (
        key(tmp_path, steps=STEPS.replace("return x\n\n\ndef train", "return -x\n\n\ndef train"))
        != base
    )
    assert key(tmp_path, deeper="K = 2\n") != base  # a module a project module imports


def test_the_same_file_has_the_same_key_whatever_it_was_loaded_as(tmp_path: Path) -> None:
    folder = project(tmp_path)
    a = code_digest(load(folder, "_shipway_pipeline_steps").train, folder)
    b = code_digest(load(folder, "steps").train, folder)
    assert a == b


def test_closure_values_are_part_of_the_key(tmp_path: Path) -> None:
    folder = project(tmp_path)
    module = load(folder)
    assert code_digest(module.make(1), folder) != code_digest(module.make(2), folder)
    assert code_digest(module.make(1), folder) == code_digest(module.make(1), folder)


def test_a_frame_global_is_keyed_by_every_value(tmp_path: Path) -> None:
    import pandas as pd

    from shipway.runner.keys import _value

    frame = pd.DataFrame({"x": range(1000)})
    changed = frame.copy()
    changed.loc[500, "x"] = -1  # in the middle: a repr would not show it
    assert _value(frame) == _value(frame.copy()) != _value(changed)
