"""Helpers for the sandbox's own tests: an API client and a webhook receiver.

The ``sandbox`` / ``sandbox_server`` fixtures come from tests/sandbox_server.py, which the
root conftest registers as a plugin.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests


class Api:
    """Bearer-authenticated calls to the sandbox's /api and /admin, like the app makes."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.base_url + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path, body, **kwargs):
        return self.request("PUT", path, json=body, **kwargs)

    def post(self, path, body, **kwargs):
        return self.request("POST", path, json=body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(sandbox):
    """``api(company_id=1202, scope=...)`` -> an Api holding a fresh access token."""
    clients = []

    def make(company_id: int = 1202, scope: str = "orders,products,webhooks") -> Api:
        client = Api(sandbox.url, sandbox.access_token(company_id, scope))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.http.close()


class Receiver:
    """A tiny webhook endpoint: answers with scripted statuses, records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[int] = []  # statuses to answer with, in order
        self.default_status = 200
        self.delay = 0.0  # seconds to wait before answering (to provoke sender timeouts)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else receiver.default_status
                    receiver.requests.append(
                        {
                            "t": time.monotonic(),
                            "path": self.path,
                            "headers": dict(self.headers),
                            "raw": body,
                            "json": json.loads(body),
                            "status": status,
                        }
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def respond(self, *statuses: int, then: int = 200):
        with self.lock:
            self.script = list(statuses)
            self.default_status = then

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
