"""A layered graph laid out on the server: the lineage page's dataset versions → runs →
model versions → deployments → alerts, one column per layer.

The layout is deterministic (the same graph always gives the same picture, so a test can
read positions): nodes start in the order given, then each layer is ordered by the mean
position of its neighbours in the layer before it (one sweep left to right, then one right
to left, the barycenter heuristic of Sugiyama-style drawing), which removes most edge
crossings in graphs this shape; ties keep the earlier order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

COLUMN = 230.0  # SVG units between layers
ROW = 46.0  # between nodes of a layer
NODE_W, NODE_H = 180.0, 32.0


@dataclasses.dataclass(frozen=True)
class Node:
    id: str
    layer: int
    label: str
    href: str | None = None
    kind: str = ""  # a CSS class: dataset, run, version, deployment, alert
    detail: str = ""  # a tooltip


@dataclasses.dataclass(frozen=True)
class Placed:
    node: Node
    x: float
    y: float


@dataclasses.dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str  # an SVG path from the source's right side to the target's left side
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Layout:
    nodes: list[Placed]
    edges: list[Edge]
    width: float
    height: float


def layout(nodes: Sequence[Node], edges: Sequence[tuple[str, str, str]]) -> Layout:
    """Place ``nodes`` (unique ids; a later duplicate is dropped) in their layers and
    route ``edges`` (source id, target id, label) between them."""
    unique = list({n.id: n for n in reversed(nodes)}.values())[::-1]
    known = {n.id for n in unique}
    links = [(s, t, label) for s, t, label in edges if s in known and t in known]
    layers: dict[int, list[Node]] = {}
    for n in unique:
        layers.setdefault(n.layer, []).append(n)
    order = sorted(layers)
    neighbours: dict[str, list[str]] = {n.id: [] for n in unique}
    for s, t, _ in links:
        neighbours[s].append(t)
        neighbours[t].append(s)
    rank = {n.id: i for layer in layers.values() for i, n in enumerate(layer)}
    layer_of = {n.id: n.layer for n in unique}
    for sweep, step in ((order[1:], -1), (order[-2::-1], 1)):
        for key in sweep:

            def weight(n: Node, side: int = key + step) -> float:
                near = [rank[m] for m in neighbours[n.id] if layer_of[m] == side]
                return sum(near) / len(near) if near else rank[n.id]

            layer = layers[key]
            layer.sort(key=weight)  # stable: ties keep the earlier order
            rank.update({n.id: i for i, n in enumerate(layer)})
    tallest = max((len(v) for v in layers.values()), default=0)
    height = max(tallest * ROW, ROW)
    placed: dict[str, Placed] = {}
    for column, key in enumerate(order):
        layer = layers[key]
        top = (height - len(layer) * ROW) / 2
        for i, n in enumerate(layer):
            placed[n.id] = Placed(n, column * COLUMN, round(top + i * ROW, 2))
    routed = [Edge(s, t, _path(placed[s], placed[t]), label) for s, t, label in links]
    return Layout(list(placed.values()), routed, len(order) * COLUMN - (COLUMN - NODE_W), height)


def _path(a: Placed, b: Placed) -> str:
    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
    x2, y2 = b.x, b.y + NODE_H / 2
    mid = (x1 + x2) / 2
    return f"M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}"
