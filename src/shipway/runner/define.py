"""Declaring steps and graphs: ``@sw.step`` functions called inside an ``@sw.pipeline``
function (``shipway.runner.flow``).

>>> @sw.step
... def prepare(raw, test_size=0.2):
...     df = raw.to_pandas()
...     return train_test_split(df, test_size=test_size, random_state=0)
>>> @sw.step
... def train(data, C=1.0):
...     train, _ = data
...     return LogisticRegression(C=C).fit(train[FEATURES], train["y"])
>>> @sw.pipeline(experiment="cancer")
... def cancer(C: float = 1.0):
...     model = train(prepare(sw.dataset("cancer-train")), C=C)
...     version = sw.register(model, "cancer", input_example=...)
...     sw.promote(version, "production")

Inside a pipeline function a step call runs nothing: it returns a :class:`Node`, and a node
passed to another step is that step's input (its return value, or the folder it returned).
Every other argument is a param, part of the step's cache key. Calling a step outside a
pipeline runs the function directly. Calling one step several times fans out (the nodes
are named ``train[0]``, ``train[1]``, … unless ``.named()``); a list of nodes as one
argument fans in.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from shipway.errors import InvalidInput

building: contextvars.ContextVar[Graph | None] = contextvars.ContextVar(
    "shipway_pipeline_graph", default=None
)


@dataclasses.dataclass(frozen=True)
class DatasetInput:
    """A dataset version as a step input: ``sw.dataset("cancer-train")`` (the latest
    version when the pipeline runs) or ``"cancer-train@3"``. The step receives a handle
    with ``.path()``, ``.to_pandas()`` and ``.to_arrow()``."""

    ref: str


@dataclasses.dataclass(frozen=True)
class FileInput:
    """A project file or folder as an input (a shell stage's dep), with its content
    digest taken when the graph is built."""

    path: str
    digest: str


def dataset(ref: str) -> DatasetInput:
    """A dataset version as a step input (``name`` for the latest, or ``name@N``)."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(f"sw.dataset() takes a dataset name or name@version, got {ref!r}")
    return DatasetInput(ref.strip())


class Step:
    """A function the pipeline runs as one tracked, cached task (see the module doc)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        cache: bool = True,
        retries: int = 0,
        resources: dict[str, float] | None = None,
        builtin: str | None = None,
        code: str | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.cache = cache
        self.retries = retries
        self.resources = dict(resources or {})
        self.builtin = builtin  # register | gates | promote: run by the driver itself
        self.code = code  # the code component of the key, when not the function's source
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = building.get()
        if graph is None:  # outside a pipeline: an ordinary function call
            return self.fn(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInput(f"step {self.name!r}: {exc}") from None
        bound.apply_defaults()
        return graph.add(self, dict(bound.arguments))

    def __repr__(self) -> str:
        return f"<step {self.name}>"


def step(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    resources: dict[str, float] | None = None,
) -> Any:
    """Make a function a pipeline step: ``@sw.step`` or ``@sw.step(retries=2,
    resources={"GPU": 1})``. ``cache=False`` runs it every time; ``retries`` re-runs it
    after an exception (a lost worker is always retried); ``resources`` are Dask worker
    resources the task needs."""

    def make(f: Callable[..., Any]) -> Step:
        return Step(f, name=name, cache=cache, retries=retries, resources=resources)

    return make(fn) if fn is not None else make


class Node:
    """One step call in a pipeline: the step, its arguments, and its name in the graph."""

    def __init__(self, step: Step, arguments: dict[str, Any], index: int) -> None:
        self.step = step
        self.arguments = arguments
        self.index = index  # the order of the call
        self.name = step.name
        self.explicit = False
        # called by the driver on a cache hit with (client, output): a shell stage puts
        # its outs back in the project folder
        self.hook: Callable[[Any, dict[str, Any]], None] | None = None

    def named(self, name: str) -> Node:
        """Give this call its own name in the graph (``train(d, C=c).named(f"train-{c}")``)."""
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise InvalidInput(f"a step name is a non-empty string without '/', got {name!r}")
        self.name = name.strip()
        self.explicit = True
        return self

    def upstream(self) -> list[Node]:
        return [n for v in self.arguments.values() for n in walk(v) if isinstance(n, Node)]

    def datasets(self) -> list[DatasetInput]:
        return [d for v in self.arguments.values() for d in walk(v) if isinstance(d, DatasetInput)]

    def __repr__(self) -> str:
        return f"<node {self.name}>"


def walk(value: Any) -> Iterator[Any]:
    """Every leaf of an argument (lists, tuples and dict values are opened)."""
    if isinstance(value, list | tuple):
        for v in value:
            yield from walk(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    else:
        yield value


class Graph:
    def __init__(self) -> None:
        self.nodes: list[Node] = []

    def add(self, step: Step, arguments: dict[str, Any]) -> Node:
        node = Node(step, arguments, len(self.nodes))
        self.nodes.append(node)
        return node

    def finish(self, pipeline: str) -> list[Node]:
        by_base: dict[str, list[Node]] = {}
        for node in self.nodes:
            if not node.explicit:
                by_base.setdefault(node.name, []).append(node)
        for base, nodes in by_base.items():
            if len(nodes) > 1:
                for i, node in enumerate(nodes):
                    node.name = f"{base}[{i}]"
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise InvalidInput(
                    f"pipeline {pipeline!r} has two steps named {node.name!r}; "
                    "give one another name with .named(...)"
                )
            seen.add(node.name)
        return self.nodes
