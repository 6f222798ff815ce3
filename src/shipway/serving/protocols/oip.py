"""The Open Inference Protocol v2 (KServe, Triton, MLServer): tensors in, tensors out.

A tabular model takes either one 1-D tensor per column, named after the column (as
MLServer's pandas codec sends them), or a single 2-D tensor ``[rows, columns]`` in the
signature's column order. It answers with ``predict`` (``[rows]``) and, for classifiers,
``predict_proba`` (``[rows, classes]``).

The binary tensor extension is supported both ways: a request whose JSON header is
followed by raw tensor bytes (``Inference-Header-Content-Length``), and binary outputs
when asked for (``parameters.binary_data`` on an output, or ``binary_data_output``).

Routes: ``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``,
``/v2/models/{name}[/versions/{v}]``, ``…/ready`` and ``POST …/infer``. They are a sub-app
with its own exception handlers, so every error under ``/v2`` (an unknown route and a
wrong method too) has the protocol's shape ``{"error": "message"}``.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shipway import errors
from shipway._version import __version__
from shipway.errors import InvalidInput, SchemaError
from shipway.http_status import status_for
from shipway.serving.codecs import Codec, Rows, names_hint, parse_json
from shipway.serving.runtime import Slot
from shipway.serving.server import (
    INTERNAL,
    Prefix,
    Server,
    http_error,
    json_error,
    json_response,
    parse_version,
)

DATATYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
_COLUMN_DATATYPES = {"int": "INT64", "float": "FP64", "bool": "BOOL"}


def datatype_of(array: Any) -> str:
    kind = array.dtype.kind
    if kind in "OUS":
        return "BYTES"
    for name, dtype in DATATYPES.items():
        if dtype is not np.object_ and array.dtype == np.dtype(dtype):
            return name
    return "FP64"


def column_datatype(column_type: str) -> str:
    return _COLUMN_DATATYPES.get(column_type, "BYTES")


def decode_request(
    codec: Codec, body: bytes, header_length: str | None
) -> tuple[Rows, dict[str, Any]]:
    """``(rows, request)``; the request keeps ``id`` and ``outputs`` for the answer."""
    binary = b""
    if header_length is not None:
        try:
            length = int(header_length)
        except ValueError:
            length = -1
        if not 0 <= length <= len(body):
            raise InvalidInput(
                f"Inference-Header-Content-Length {header_length!r} is not a length within "
                f"the body ({len(body)} bytes)"
            )
        body, binary = body[:length], body[length:]
    request = parse_json(body)
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise InvalidInput("the request must be a JSON object with an 'inputs' list of tensors")
    tensors = _tensors(request["inputs"], binary)
    return _rows(codec, tensors), request


def _tensors(inputs: list[Any], binary: bytes) -> dict[str, Any]:
    tensors: dict[str, Any] = {}
    offset = 0
    for i, spec in enumerate(inputs):
        if not isinstance(spec, dict):
            raise InvalidInput(f"inputs[{i}] must be an object")
        name, shape, datatype = spec.get("name"), spec.get("shape"), spec.get("datatype")
        where = f"input {name!r}" if isinstance(name, str) else f"inputs[{i}]"
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{where} needs a 'name'")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise InvalidInput(f"{where} needs a 'shape' (a list of non-negative integers)")
        if datatype not in DATATYPES:
            raise InvalidInput(
                f"{where} has datatype {datatype!r}; use one of {', '.join(DATATYPES)}"
            )
        count = int(np.prod(shape)) if shape else 1
        params = spec.get("parameters") or {}
        size = params.get("binary_data_size") if isinstance(params, dict) else None
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise InvalidInput(f"{where}: binary_data_size {size!r} runs past the body")
            chunk = binary[offset : offset + size]
            offset += size
            array = _from_binary(chunk, datatype, count, where)
        else:
            if "data" not in spec:
                raise InvalidInput(f"{where} has no 'data' (and no binary_data_size)")
            array = _from_json(spec["data"], datatype, where)
        if array.size != count:
            raise InvalidInput(
                f"{where} has {array.size} values but its shape {shape} needs {count}"
            )
        tensors[name] = array.reshape(shape)
    return tensors


def _from_json(data: Any, datatype: str, where: str) -> Any:
    try:
        if datatype == "BYTES":
            flat = np.asarray(data, dtype=object).ravel()
            return flat
        return np.asarray(data, dtype=DATATYPES[datatype]).ravel()
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{where}: data does not hold {datatype} values ({exc})") from exc


def _from_binary(chunk: bytes, datatype: str, count: int, where: str) -> Any:
    if datatype == "BYTES":
        items: list[str] = []
        pos = 0
        while pos < len(chunk):
            if pos + 4 > len(chunk):
                raise InvalidInput(f"{where}: truncated BYTES element")
            (n,) = struct.unpack_from("<I", chunk, pos)
            pos += 4
            items.append(chunk[pos : pos + n].decode("utf-8", "replace"))
            pos += n
        return np.asarray(items, dtype=object)
    dtype = np.dtype(DATATYPES[datatype])
    if len(chunk) != count * dtype.itemsize:
        raise InvalidInput(
            f"{where}: {len(chunk)} bytes of binary data, expected {count * dtype.itemsize} "
            f"({count} × {datatype})"
        )
    return np.frombuffer(chunk, dtype=dtype.newbyteorder("<"))


def _rows(codec: Codec, tensors: dict[str, Any]) -> Rows:
    if codec.tensor is not None:
        if len(tensors) != 1:
            raise SchemaError("this model takes one input tensor")
        (array,) = tensors.values()
        if array.dtype == object:
            raise SchemaError("this model takes a numeric tensor, not BYTES")
        if array.ndim == len(codec.tensor.shape) - 1:
            array = array[np.newaxis]
        codec.check_rows(array.shape[0])
        return Rows(array.shape[0], array=array)
    names = set(tensors)
    if codec.all_float and names == codec.name_set:
        flat = [
            tensors[n].reshape(-1)
            if tensors[n].ndim == 2 and tensors[n].shape[1] == 1
            else tensors[n]
            for n in codec.names
        ]
        if (
            all(a.ndim == 1 and a.dtype.kind in "fiu" for a in flat)
            and len({a.shape[0] for a in flat}) == 1
        ):
            codec.check_rows(flat[0].shape[0])
            return Rows(flat[0].shape[0], matrix=np.column_stack(flat).astype(np.float64))
    if names and names <= codec.name_set or not codec.names:
        columns: dict[str, list[Any]] = {}
        lengths = set()
        for name, array in tensors.items():
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise SchemaError(
                    f"input {name!r} must be a 1-D tensor [rows] (or [rows, 1]), got shape "
                    f"{list(array.shape)}"
                )
            lengths.add(array.shape[0])
            columns[name] = [_plain(v) for v in array.tolist()]
        if len(lengths) != 1:
            raise SchemaError(f"the input tensors have different row counts: {sorted(lengths)}")
        missing = [n for n in codec.required if n not in columns]
        if missing:
            raise SchemaError(
                f"missing input tensor{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                f"the model takes {names_hint(codec.names)} (or one [rows, "
                f"{len(codec.names)}] tensor)"
            )
        n = lengths.pop()
        codec.check_rows(n)
        if not codec.names:
            return Rows(n, columns=columns)
        return Rows(n, columns={c: columns.get(c) or [None] * n for c in codec.names})
    if len(tensors) == 1:
        ((name, array),) = tensors.items()
        if array.ndim == 2 and array.shape[1] == len(codec.names):
            return codec.from_array(array.tolist(), f"input {name!r}")
        raise SchemaError(
            f"input {name!r} has shape {list(array.shape)}; one tensor must be [rows, "
            f"{len(codec.names)}] with the columns in the order {names_hint(codec.names)}, or "
            "send one 1-D tensor per column, named after it"
        )
    unknown = sorted(names - codec.name_set)
    raise SchemaError(
        f"unknown input tensor{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; the model "
        f"takes {names_hint(codec.names)} (one 1-D tensor each) or one "
        f"[rows, {len(codec.names)}] tensor"
    )


def _plain(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def wanted_outputs(request: dict[str, Any], available: list[str]) -> list[tuple[str, bool]]:
    """``[(output name, binary?)]`` the request asks for (all by default)."""
    params = request.get("parameters") or {}
    default_binary = bool(isinstance(params, dict) and params.get("binary_data_output"))
    asked = request.get("outputs")
    if asked is None:
        return [(available[0], default_binary)]
    if not isinstance(asked, list):
        raise InvalidInput("'outputs' must be a list of {name: ...} objects")
    out = []
    for i, spec in enumerate(asked):
        name = spec.get("name") if isinstance(spec, dict) else None
        if name not in available:
            raise InvalidInput(
                f"outputs[{i}] asks for {name!r}; this model has {', '.join(available)}"
            )
        p = spec.get("parameters") or {}
        out.append(
            (
                name,
                bool(p.get("binary_data", default_binary))
                if isinstance(p, dict)
                else default_binary,
            )
        )
    return out


def encode_response(
    model: str,
    version: int,
    request_id: str | None,
    results: dict[str, Any],
    wanted: list[tuple[str, bool]],
) -> tuple[bytes, dict[str, str]]:
    """The response body and its extra headers (binary outputs go after the JSON)."""
    outputs = []
    chunks: list[bytes] = []
    for name, binary in wanted:
        array = np.asarray(results[name])
        datatype = datatype_of(array)
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary:
            raw = _to_binary(array, datatype)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            data = array.ravel()
            entry["data"] = [str(v) for v in data] if datatype == "BYTES" else data.tolist()
        outputs.append(entry)
    header: dict[str, Any] = {
        "model_name": model,
        "model_version": str(version),
        "outputs": outputs,
    }
    if request_id is not None:
        header["id"] = request_id
    head = orjson.dumps(header, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return head, {}
    return head + b"".join(chunks), {"Inference-Header-Content-Length": str(len(head))}


def _to_binary(array: Any, datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for v in array.ravel():
            b = v if isinstance(v, bytes) else str(v).encode()
            parts.append(struct.pack("<I", len(b)) + b)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


# the protocol's routes ------------------------------------------------------------------


class Infer:
    """An inference request in, an inference response out (JSON or binary tensors)."""

    name = "v2"

    def decode(
        self, request: Request, slot: Slot, body: bytes
    ) -> tuple[Rows, tuple[str | None, list[tuple[str, bool]]]]:
        """The rows, and the request's ``id`` and wanted outputs for the answer."""
        header = request.headers.get("inference-header-content-length")
        rows, parsed = decode_request(slot.codec, body, header)
        available = ["predict", "predict_proba"] if slot.has_proba else ["predict"]
        given = parsed.get("id")
        return rows, (given if isinstance(given, str) else None, wanted_outputs(parsed, available))

    def wants_proba(self, parsed: tuple[str | None, list[tuple[str, bool]]]) -> bool:
        return any(name == "predict_proba" for name, _ in parsed[1])

    def encode(
        self,
        slot: Slot,
        request_id: str,
        parsed: tuple[str | None, list[tuple[str, bool]]],
        predictions: Any,
        proba: Any,
    ) -> Response:
        results = {"predict": predictions, "predict_proba": proba}
        body, headers = encode_response(slot.name, slot.number, parsed[0], results, parsed[1])
        media = "application/octet-stream" if headers else "application/json"
        return Response(body, 200, headers=headers, media_type=media)

    def error(self, status: int, code: str, message: str, details: Any) -> Response:
        return error(status, message)


def error(status: int, message: str) -> Response:
    """The protocol's error shape: ``{"error": "message"}``."""
    return json_error({"error": message}, status)


class _Handlers:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.runtime = server.runtime
        self.adapter = Infer()

    async def infer(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = parse_version(request.path_params.get("version"))
        return await self.server.predict(request, self.adapter, name, version)

    async def model(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = parse_version(request.path_params.get("version"))
        self.server.check_access(request, name)
        endpoint = self.runtime.endpoint(name)
        slot = endpoint.slot(version)
        return json_response(
            {
                "name": name,
                "versions": [str(v) for v in sorted(endpoint.slots)],
                "platform": f"shipway_{slot.model.flavor}",
                "inputs": _input_metadata(slot),
                "outputs": _output_metadata(slot),
            }
        )

    async def model_ready(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = parse_version(request.path_params.get("version"))
        self.runtime.endpoint(name).slot(version)
        return json_response({"name": name, "ready": True})

    async def server_metadata(self, request: Request) -> Response:
        return json_response(
            {"name": "shipway", "version": __version__, "extensions": ["binary_tensor_data"]}
        )


def _input_metadata(slot: Slot) -> list[dict[str, Any]]:
    tensor = slot.codec.tensor
    if tensor is None:
        return [
            {"name": c.name, "datatype": column_datatype(c.type), "shape": [-1]}
            for c in slot.codec.specs
        ]
    datatype = datatype_of(np.zeros(0, tensor.dtype))
    return [{"name": "input", "datatype": datatype, "shape": list(tensor.shape)}]


def _output_metadata(slot: Slot) -> list[dict[str, Any]]:
    outputs = [{"name": "predict", "datatype": _predict_datatype(slot), "shape": [-1]}]
    if slot.has_proba:
        width = len(slot.codec.classes or []) or -1
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, width]})
    return outputs


def _predict_datatype(slot: Slot) -> str:
    outputs = slot.model.signature.outputs if slot.model.signature is not None else ()
    for o in outputs:
        if o.name == "prediction":
            return column_datatype(o.type)
    return "FP64"


async def _shipway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ShipwayError)
    return error(status_for(exc), exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status, _, message = http_error(request, exc)
    return error(status, message)


async def _server_error(request: Request, exc: Exception) -> Response:
    # the exception goes on up to the app's handler, which logs it (once)
    return error(500, INTERNAL)


def routes(server: Server) -> list[BaseRoute]:
    """Everything under ``/v2``, as a sub-app answering errors in the protocol's shape."""
    handlers = _Handlers(server)
    model = "/v2/models/{name}"
    pinned = "/v2/models/{name}/versions/{version}"
    app = Starlette(
        routes=[
            Route("/v2", handlers.server_metadata, methods=["GET"]),
            Route("/v2/health/live", server.live, methods=["GET"]),
            Route("/v2/health/ready", server.ready, methods=["GET"]),
            Route(model, handlers.model, methods=["GET"]),
            Route(pinned, handlers.model, methods=["GET"]),
            Route(f"{model}/ready", handlers.model_ready, methods=["GET"]),
            Route(f"{pinned}/ready", handlers.model_ready, methods=["GET"]),
            Route(f"{model}/infer", handlers.infer, methods=["POST"]),
            Route(f"{pinned}/infer", handlers.infer, methods=["POST"]),
        ],
        exception_handlers={
            errors.ShipwayError: _shipway_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    return [Prefix("/v2", app)]
