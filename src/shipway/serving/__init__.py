"""Serving: the inference server, deployments and the prediction log.

- ``deployments``: what a server serves under one name (model URI + traffic policy);
- ``predictions``: the stored prediction log (Parquet segments, read with DuckDB);
- ``app``/``runtime``: the ASGI inference server and the model versions it has loaded;
- ``protocols``: native, Open Inference Protocol v2 and MLflow ``/invocations``, one module
  each (routes, decoding, encoding, error shape); ``server``: what they share (the
  prediction path, health, the error envelope);
- ``workers``: running it in one or several processes on one port.
"""
