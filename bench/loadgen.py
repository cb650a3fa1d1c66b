"""A lean HTTP/1.1 load generator for machines without ``wrk``: one process, one event loop.

    python -m bench.loadgen URL[,URL...] PATHS_FILE --connections 8 --seconds 10 [--header "K: V"]...
                            [--unique-header NAME]

Keeps ``--connections`` keep-alive connections busy (split in turn across the URLs' servers when
several are given, as a load balancer without stickiness would), each sending a random request
of ``PATHS_FILE`` (one per line: a path to GET, or ``POST <path> <JSON body>``) as soon as its
previous response has been read, like ``wrk`` does. ``--unique-header`` gives every request its
own value of that header (an ``Idempotency-Key``: each POST is a new order). Responses are read
by their framing only (Content-Length or chunked; the body is never
decoded), so a request costs this process a few tens of microseconds and the generator stays
out of the way of the server it measures. Prints one JSON line: requests/s, p50 and p99
latency in ms, and the number of non-2xx/3xx responses plus failed connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from urllib.parse import urlsplit


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; (status, whether the connection stays open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = None
    chunked = False
    keep_alive = True
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = b"close" not in value.lower()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the end
                    pass
                break
            await reader.readexactly(size + 2)
    elif length is not None:
        await reader.readexactly(length)
    else:  # no framing: the body runs to the end of the connection
        await reader.read()
        keep_alive = False
    return status, keep_alive


class Run:
    def __init__(
        self,
        requests: list[tuple[bytes, bytes]],
        seconds: float,
        seed: int,
        unique_header: str | None = None,
    ) -> None:
        self.requests = requests
        self.unique_header = unique_header
        self.tag = f"{time.time_ns():x}-{seed}"  # unique across runs and servers
        self.sent = 0
        self.deadline = time.monotonic() + seconds
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.errors = 0

    async def connection(self, host: str, port: int) -> None:
        writer: asyncio.StreamWriter | None = None
        while time.monotonic() < self.deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                started = time.perf_counter()
                writer.write(self.next_request())
                status, keep_alive = await read_response(reader)
                self.latencies.append((time.perf_counter() - started) * 1000.0)
                self.errors += status >= 400
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                self.errors += 1
                keep_alive = False
                await asyncio.sleep(0.01)
            if not keep_alive and writer is not None:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    def next_request(self) -> bytes:
        head, body = self.rng.choice(self.requests)
        self.sent += 1
        unique = f"{self.unique_header}: {self.tag}-{self.sent}\r\n" if self.unique_header else ""
        return head + unique.encode("latin-1") + b"\r\n" + body


def build_requests(
    host: str, port: int, lines: list[str], headers: list[str]
) -> list[tuple[bytes, bytes]]:
    """(head without its blank line, body) per line of the paths file."""
    extra = "".join(f"{h.strip()}\r\n" for h in headers)
    built = []
    for line in lines:
        method, path, body = "GET", line, b""
        if line.startswith("POST "):
            _, path, text = line.split(" ", 2)
            method, body = "POST", text.encode("utf-8")
            extra_body = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        else:
            extra_body = ""
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}{extra_body}"
        built.append((head.encode("latin-1"), body))
    return built


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def drive(
    urls: list[str],
    paths: list[str],
    connections: int,
    seconds: float,
    headers: list[str],
    unique_header: str | None = None,
) -> dict[str, float]:
    servers = []
    for url in urls:
        parts = urlsplit(url)
        servers.append((parts.hostname or "127.0.0.1", parts.port or 80))
    runs = [
        Run(build_requests(host, port, paths, headers), seconds, seed=8 + n,
            unique_header=unique_header)
        for n, (host, port) in enumerate(servers)
    ]  # fmt: skip
    started = time.monotonic()
    await asyncio.gather(
        *(runs[n % len(runs)].connection(*servers[n % len(runs)]) for n in range(connections))
    )
    elapsed = time.monotonic() - started
    latencies = sorted(latency for run in runs for latency in run.latencies)
    errors = sum(run.errors for run in runs)
    if not latencies:
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": errors}
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("urls", help="a server's URL, or several separated by commas")
    parser.add_argument("paths_file", type=Path)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--unique-header", help="a header whose value differs in every request")
    args = parser.parse_args()
    paths = [p for p in args.paths_file.read_text(encoding="utf-8").splitlines() if p]
    urls = args.urls.split(",")
    result = asyncio.run(
        drive(urls, paths, args.connections, args.seconds, args.header, args.unique_header)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
