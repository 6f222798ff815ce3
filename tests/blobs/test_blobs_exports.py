"""shipway.blobs exports exactly its sorted __all__."""

from __future__ import annotations

import shipway.blobs


def test_all_is_sorted_and_importable() -> None:
    assert shipway.blobs.__all__ == sorted(shipway.blobs.__all__)
    for name in shipway.blobs.__all__:
        assert getattr(shipway.blobs, name) is not None
