"""Helpers for tests, including a user's own: a temporary home, a server in a thread."""

from shipway.testing.home import temporary_home, temporary_server

__all__ = ["temporary_home", "temporary_server"]
