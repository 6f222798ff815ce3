"""Constrained argument types shared by the declarations (checked by pydantic on the
server; plain ints and strings to mypy and to callers)."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le, MaxLen, MinLen

from shipway.records import MAX_INT

Number = Annotated[int, Ge(1), Le(MAX_INT)]  # a version, an id: 1 … 2^63-1
Limit = Annotated[int, Ge(1), Le(1000)]  # a page size
Name = Annotated[str, MinLen(1), MaxLen(255)]
