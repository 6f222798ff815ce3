"""The serving benchmark's baseline: a minimal Starlette app that parses the JSON body
into a DataFrame and calls the same scikit-learn pipeline (pickled at SHIPWAY_BENCH_MODEL)."""

from __future__ import annotations

import os
import pickle

import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

with open(os.environ["SHIPWAY_BENCH_MODEL"], "rb") as fh:
    model = pickle.load(fh)


async def predict(request: Request) -> JSONResponse:
    body = await request.json()
    frame = pd.DataFrame(body["records"])
    return JSONResponse({"predictions": model.predict(frame).tolist()})


app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
