"""A pipeline: a function that calls steps (``shipway.runner.define``), with its params,
its graph, and ``run()`` / ``status()`` (``shipway.runner.execute``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from shipway.errors import InvalidInput
from shipway.runner.define import Graph, Node, building


class Pipeline:
    """A pipeline: a function that calls steps (see the module doc). ``run()``, ``status()``
    and ``nodes()`` take its params as keyword arguments."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        experiment: str | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.experiment = experiment or self.name
        self.signature = inspect.signature(fn)
        self.source: str | None = None  # FILE.py:ATTR, set by the loader
        self.project: str | None = None
        self.__doc__ = fn.__doc__

    def params(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The pipeline's params: its function's defaults, overridden by ``given``."""
        try:
            bound = self.signature.bind(**(given or {}))
        except TypeError as exc:
            known = ", ".join(self.signature.parameters) or "none"
            raise InvalidInput(f"pipeline {self.name!r}: {exc} (its params: {known})") from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def nodes(self, params: dict[str, Any] | None = None) -> list[Node]:
        """The graph: every step call, in call order (upstream before downstream)."""
        graph = Graph()
        token = building.set(graph)
        try:
            self.fn(**self.params(params))
        finally:
            building.reset(token)
        if not graph.nodes:
            raise InvalidInput(f"pipeline {self.name!r} calls no step")
        return graph.finish(self.name)

    def run(self, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run it with ``params`` (see ``shipway.runner.execute.run`` for the options)."""
        from shipway.runner.execute import run

        return run(self, params, **kwargs)

    def status(self, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        from shipway.runner.execute import status

        return status(self, params, **kwargs)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def pipeline(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    experiment: str | None = None,
) -> Any:
    """Make a function a pipeline: ``@sw.pipeline`` or ``@sw.pipeline(name="churn",
    experiment="churn")``. Its params are the function's arguments."""

    def make(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name=name, experiment=experiment)

    return make(fn) if fn is not None else make
