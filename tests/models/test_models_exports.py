"""shipway.models exports exactly its sorted __all__ and imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

import shipway.models


def test_all_is_sorted_and_importable() -> None:
    assert shipway.models.__all__ == sorted(shipway.models.__all__)
    for name in shipway.models.__all__:
        assert getattr(shipway.models, name) is not None
    assert shipway.models.SUPPORTED_FLAVORS == (
        "sklearn", "xgboost", "lightgbm", "onnx", "python", "mlflow"
    )  # fmt: skip


def test_import_is_lazy() -> None:
    code = (
        "import sys, shipway.models; "
        "heavy = {'pandas', 'numpy', 'sklearn', 'xgboost', 'lightgbm', 'onnx', 'onnxruntime'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
