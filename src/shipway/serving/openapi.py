"""The inference server's OpenAPI 3.1 document, generated from the served models'
signatures: each model gets its own typed predict route with its input example."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipway._version import __version__

if TYPE_CHECKING:
    from shipway.serving.runtime import Runtime, Slot

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
            "required": ["code", "message"],
        }
    },
}
_OUTPUT_TYPES = {"int": "integer", "float": "number", "bool": "boolean"}


def _error_responses() -> dict[str, Any]:
    described = {
        "400": "Malformed body, or input that does not match the model's signature (names "
        "the field or column; code invalid_input, schema_error or prediction_failed)",
        "401": "Missing or unknown token / API key (when the server requires one)",
        "404": "Unknown model or version",
        "413": "Body or row count over the server's limits",
        "503": "The model is still loading",
    }
    return {
        code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
        for code, text in described.items()
    }


def _predict_operation(name: str, slot: Slot, pinned: bool) -> dict[str, Any]:
    signature = slot.model.signature
    if signature is None:
        row: dict[str, Any] = {"type": "object"}
    else:
        row = signature.to_json_schema()
        row.pop("$schema", None)
        if not signature.is_tensor:
            row["additionalProperties"] = False
    columns = (
        {"type": "object", "additionalProperties": {"type": "array"}}
        if signature is None or signature.is_tensor
        else {
            "type": "object",
            "properties": {
                c.name: {"type": "array", "items": c.json_schema()} for c in signature.columns
            },
            "required": [c.name for c in signature.columns if not c.nullable],
            "additionalProperties": False,
        }
    )
    body_schema = {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "records": {"type": "array", "items": row, "minItems": 1},
                    "probabilities": {"type": "boolean", "default": False},
                },
                "required": ["records"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "columns": columns,
                    "probabilities": {"type": "boolean", "default": False},
                },
                "required": ["columns"],
                "additionalProperties": False,
            },
        ]
    }
    prediction_type = "string"
    if signature is not None:
        for output in signature.outputs:
            if output.name == "prediction":
                prediction_type = _OUTPUT_TYPES.get(output.type, "string")
    response = {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "request_id": {"type": "string"},
            "predictions": {"type": "array", "items": {"type": prediction_type}},
            "probabilities": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}},
                "description": "Present when the request sets probabilities: true; columns "
                "in the order of 'classes'",
            },
            "classes": {"type": "array"},
        },
        "required": ["model", "version", "request_id", "predictions"],
    }
    example = slot.model.info.input_example
    content: dict[str, Any] = {"schema": body_schema}
    if example:
        content["example"] = {"records": example[:2]}
    operation: dict[str, Any] = {
        "summary": f"Predict with {name}" + (" (a pinned version)" if pinned else ""),
        "description": (
            f"Serves {slot.name} version {slot.number} ({slot.model.flavor}). "
            "Send X-Request-ID to choose the request id; X-Traffic-Key keeps a caller on "
            "one arm of a canary."
        ),
        "operationId": f"predict_{name}" + ("_version" if pinned else ""),
        "tags": [name],
        "requestBody": {"required": True, "content": {"application/json": content}},
        "responses": {
            "200": {
                "description": "Predictions",
                "content": {"application/json": {"schema": response}},
            },
            **_error_responses(),
        },
    }
    if pinned:
        operation["parameters"] = [
            {"name": "version", "in": "path", "required": True, "schema": {"type": "integer"}}
        ]
    return operation


def openapi_document(runtime: Runtime) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name in sorted(runtime.endpoints):
        slot = runtime.endpoints[name].primary
        paths[f"/v1/models/{name}/predict"] = {"post": _predict_operation(name, slot, False)}
        paths[f"/v1/models/{name}/versions/{{version}}/predict"] = {
            "post": _predict_operation(name, slot, True)
        }
    generic = {"type": "object"}
    paths["/invocations"] = {
        "post": {
            "summary": "MLflow-style scoring",
            "description": "dataframe_split, dataframe_records, instances or inputs as JSON, or "
            "text/csv; ?model=NAME when several models are served.",
            "requestBody": {
                "content": {
                    "application/json": {"schema": generic},
                    "text/csv": {"schema": {"type": "string"}},
                }
            },
            "responses": {"200": {"description": "{predictions: [...]}"}, **_error_responses()},
        }
    }
    paths["/v2/models/{name}/infer"] = {
        "post": {
            "summary": "Open Inference Protocol v2 inference",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {"content": {"application/json": {"schema": generic}}},
            "responses": {"200": {"description": "Output tensors"}},
        }
    }
    for path, summary in (
        ("/health/live", "Liveness"),
        ("/health/ready", "Readiness: every model loaded and warmed up"),
        ("/metrics", "Prometheus metrics"),
    ):
        paths[path] = {"get": {"summary": summary, "responses": {"200": {"description": "OK"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "shipway inference server", "version": __version__},
        "paths": paths,
    }
