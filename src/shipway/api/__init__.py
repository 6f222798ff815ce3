"""The platform HTTP API under /api/v1."""

from shipway.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
