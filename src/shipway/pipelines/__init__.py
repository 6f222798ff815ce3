"""Pipelines on the platform's side: definitions, the step cache, runs and their triggers,
schedules. Defining and executing pipelines is ``shipway.runner`` (``sw.step``,
``sw.pipeline``), which reaches this package through the declared operations."""
