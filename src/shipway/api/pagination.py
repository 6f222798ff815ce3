"""Cursor pagination for lists that are small enough to build in memory."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, TypeVar

from shipway.errors import InvalidInput

T = TypeVar("T")


def page(items: Sequence[T], limit: int, cursor: str | None) -> tuple[Sequence[T], str | None]:
    if limit < 1 or limit > 1000:
        raise InvalidInput(f"limit must be from 1 to 1000, got {limit}")
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
            if start < 0:
                raise ValueError
        except ValueError:
            raise InvalidInput(f"cursor {cursor!r} is not valid; use next_cursor") from None
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    token = base64.urlsafe_b64encode(str(start + limit).encode()).decode().rstrip("=")
    return chunk, token if more else None


def body(key: str, items: Sequence[Any], next_cursor: str | None) -> dict[str, Any]:
    return {key: [i.to_dict() for i in items], "next_cursor": next_cursor}
