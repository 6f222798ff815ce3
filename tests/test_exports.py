"""The public API: ``shipway.__all__`` is sorted and every name in it exists."""

import shipway


def test_all_is_sorted_and_complete() -> None:
    assert shipway.__all__ == sorted(shipway.__all__)
    for name in shipway.__all__:
        assert hasattr(shipway, name), name
    public = {n for n in vars(shipway) if not n.startswith("_") and not _is_module(n)}
    assert public <= set(shipway.__all__)


def _is_module(name: str) -> bool:
    return type(getattr(shipway, name)).__name__ == "module"
