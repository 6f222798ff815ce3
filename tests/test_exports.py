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


def test_forwarded_apis_are_not_shadowed_by_submodules() -> None:
    import importlib
    import pkgutil

    import shipway.datasets
    import shipway.models

    for package in (shipway.datasets, shipway.models):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    for name in shipway.datasets.PUBLIC:
        assert callable(getattr(shipway.datasets, name)), name
    assert callable(shipway.models.load)


def test_import_shipway_loads_nothing_until_a_name_is_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import shipway.datasets, shipway.models\n"  # before the client, on purpose
        "heavy = ('sqlalchemy', 'pandas', 'numpy', 'httpx', 'shipway.client')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "assert callable(shipway.datasets.add) and callable(shipway.models.load)\n"
        "import shipway as sw\n"
        "assert sw.Client is sw.client.Client and callable(sw.start_run)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_remote_client_starts_without_the_store_the_services_or_pandas() -> None:
    """``import shipway`` + ``set_tracking_uri`` + ``Client()`` against a server: the
    remote client needs only HTTP, so nothing of the local platform loads."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import shipway as sw\n"
        "sw.set_tracking_uri('http://127.0.0.1:9')\n"  # nothing listens: not contacted
        "client = sw.Client()\n"
        "assert type(client.backend).__name__ == 'HttpBackend', client.backend\n"
        "heavy = ('sqlalchemy', 'pandas', 'pyarrow', 'duckdb', 'numpy', 'shipway.services',\n"
        "         'shipway.store', 'shipway.tracking.service', 'shipway.datasets.service')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
