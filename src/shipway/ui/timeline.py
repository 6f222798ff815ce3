"""The alias timeline, laid out on the server: one lane per alias, one segment per stretch
of time the alias held a version, a mark at every move. Pure arithmetic over the alias
history, so the same history always draws the same picture (and a test can read it).

"What was in production last Tuesday, and who decided?" is the segment under Tuesday in
the production lane; its mark says who moved it there, when and why, and links to the
promotion (gate report, sign-offs) that allowed it when there was one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from shipway.records import AliasEvent, Promotion

WIDTH = 1000.0  # the drawing's width in SVG units; x positions are fractions of it
MATCH_MS = 5000  # a move and the promotion that made it are recorded together


@dataclasses.dataclass(frozen=True)
class Segment:
    version: int
    start: int  # ms
    end: int  # ms (now, for the version the alias holds today)
    x: float
    width: float
    current: bool


@dataclasses.dataclass(frozen=True)
class Mark:
    event: AliasEvent
    x: float
    promotion: Promotion | None  # the promotion that made this move, if one did


@dataclasses.dataclass(frozen=True)
class Lane:
    alias: str
    segments: list[Segment]
    marks: list[Mark]


def lanes(
    events: Sequence[AliasEvent], promotions: Sequence[Promotion], now: int
) -> tuple[list[Lane], int, int]:
    """The lanes (aliases in the order they were first set) and the time span drawn."""
    ordered = sorted(events, key=lambda e: e.time)
    if not ordered:
        return [], now, now
    start = ordered[0].time
    end = max(now, ordered[-1].time + 1)
    span = end - start

    def x_of(ms: int) -> float:
        return round(WIDTH * (ms - start) / span, 2)

    out = []
    for alias in dict.fromkeys(e.alias for e in ordered):
        moves = [e for e in ordered if e.alias == alias]
        segments = []
        for i, move in enumerate(moves):
            if move.to_version is None:
                continue  # removed: a gap until the next move
            until = moves[i + 1].time if i + 1 < len(moves) else end
            x0, x1 = x_of(move.time), x_of(until)
            segments.append(
                Segment(
                    version=move.to_version,
                    start=move.time,
                    end=until,
                    x=x0,
                    width=max(x1 - x0, 1.0),
                    current=i + 1 == len(moves),
                )
            )
        marks = [Mark(m, x_of(m.time), _promotion_of(m, promotions)) for m in moves]
        out.append(Lane(alias, segments, marks))
    return out, start, end


def _promotion_of(move: AliasEvent, promotions: Sequence[Promotion]) -> Promotion | None:
    for p in promotions:
        if (
            p.alias == move.alias
            and p.version == move.to_version
            and p.outcome in ("promoted", "forced")
            and abs(p.created_at - move.time) <= MATCH_MS
        ):
            return p
    return None
