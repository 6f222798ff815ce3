"""The protocols the inference server speaks, one module each.

- ``native``: ``POST /v1/models/{name}/predict``, ``GET /v1/models``, ``/openapi.json``
  and ``/docs``;
- ``oip``: the Open Inference Protocol v2 under ``/v2`` (tritonclient, KServe, MLServer);
- ``mlflow``: MLflow-style ``POST /invocations``, ``/ping`` and ``/health``.

A protocol module holds its routes (``routes(server)``), its decoding and encoding (an
:class:`~shipway.serving.server.Adapter` for the shared prediction path) and its error
shape. A protocol whose error shape is not the platform's envelope is a sub-app with its
own exception handlers under its prefix (see ``oip``), so nothing looks at the path to
choose the shape.
"""
