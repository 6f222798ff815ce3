"""A small closed-loop HTTP/1.1 load generator (keep-alive connections on asyncio streams),
run as its own process so it does not share the server's interpreter.

python -m bench.loadgen HOST PORT PATH BODY_FILE CONCURRENCY SECONDS [CONTENT_TYPE]
prints one JSON line: requests/s, p50/p90/p99 in ms, and the count of non-200 answers.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def worker(
    host: str,
    port: int,
    request: bytes,
    stop: float,
    warm: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop:
                return
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            end = time.perf_counter()
            if start >= warm:
                latencies.append(end - start)
                if b" 200 " not in status_line:
                    errors.append(1)
    finally:
        writer.close()


async def main(argv: list[str]) -> None:
    host, port, path, body_file, concurrency, seconds = argv[:6]
    content_type = argv[6] if len(argv) > 6 else "application/json"
    body = Path(body_file).read_bytes()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    now = time.perf_counter()
    warm = now + 1.0
    stop = warm + float(seconds)
    latencies: list[float] = []
    errors: list[int] = []
    await asyncio.gather(
        *(
            worker(host, int(port), request, stop, warm, latencies, errors)
            for _ in range(int(concurrency))
        )
    )
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        json.dumps(
            {
                "rps": len(latencies) / float(seconds),
                "p50": pct(0.50),
                "p90": pct(0.90),
                "p99": pct(0.99),
                "errors": len(errors),
                "requests": len(latencies),
            }
        )
    )


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(sys.argv[1:]))
