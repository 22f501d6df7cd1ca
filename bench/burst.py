"""A cheap load generator: POSTs fired from one asyncio loop over raw sockets.

The benchmark's client shares the two cores with the server it measures. 200 ``requests``
threads cost about 1 ms of CPU per delivery (and their latencies included waiting for the
client's own GIL); one event loop writing prepared bytes costs a fraction of that.

Each POST goes on its own connection with ``Connection: close``, as FlickRocket's sender
makes them. Latency runs from the start of the connect to the end of the response (the server
closing the connection).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 120


def request_bytes(url: str, body: bytes, method: str = "POST") -> bytes:
    parts = urlsplit(url)
    head = (
        f"{method} {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.x response, 0 if there is none."""
    line = response.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and line[0].startswith(b"HTTP/1.") and line[1].isdigit():
        return int(line[1])
    return 0


async def _one(loop, address: tuple, payload: bytes) -> tuple[int, float, str]:
    started = time.perf_counter()
    received = bytearray()
    error = ""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            await loop.sock_sendall(sock, payload)
            while chunk := await loop.sock_recv(sock, 65536):
                received += chunk
        except OSError as exc:
            # A server may answer (413) and close before reading all of a large body: the
            # answer already read still counts, the reset after it does not.
            error = f"{type(exc).__name__}: {exc}"[:160]
    status = status_of(bytes(received))
    return status, (time.perf_counter() - started) * 1000, "" if status else error or "no response"


async def _fire(
    url: str, bodies: Sequence[bytes], concurrency: int, method: str
) -> list[tuple[int, float, str]]:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    address = (host, parts.port or 80)
    payloads = [request_bytes(url, body, method) for body in bodies]  # built before the clock starts
    results: list[tuple[int, float, str] | None] = [None] * len(payloads)
    next_index = iter(range(len(payloads)))

    async def sender():
        # Like a pool of `concurrency` senders: each starts the next delivery when its last ends.
        for index in next_index:
            try:
                results[index] = await asyncio.wait_for(_one(loop, address, payloads[index]), TIMEOUT_SECONDS)
            except TimeoutError:
                results[index] = (0, TIMEOUT_SECONDS * 1000.0, "TimeoutError")

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return results


def fire(
    url: str, bodies: Sequence[bytes], *, concurrency: int, method: str = "POST"
) -> list[tuple[int, float, str]]:
    """Send every body to ``url``, ``concurrency`` at a time; (status, ms, error) per body, in order."""
    return asyncio.run(_fire(url, bodies, concurrency, method))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def settled(pids: list[int], *, quiet_ticks: float = 0.02, timeout: float = 30.0) -> None:
    """Wait until these processes have started up: each under 4% of a core for half a second."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pids)
        if now - before < quiet_ticks * len(pids):
            return
        before = now
