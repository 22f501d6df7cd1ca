"""Fixtures for the platform package's tests: a client for company 1202 against the sandbox."""

import json
import threading

import pytest

from oauth.clients import client_for


@pytest.fixture
def api(installed):
    installed(1202)
    return client_for(1202, purpose="worker", max_rate_wait=5)


def list_calls(sandbox, endpoint):
    return sandbox.calls()["by_endpoint"].get(endpoint, {}).get("count", 0)


class FakePlatform:
    """A local HTTP server answering with ``answer(method, path, query)`` -> (status, headers,
    body) and keeping every request, for answers the sandbox never gives."""

    def __init__(self, answer):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        self.requests = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                platform.requests.append(
                    (self.command, url.path, query, self.rfile.read(length), dict(self.headers))
                )
                status, headers, body = answer(self.command, url.path, query)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _any  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_platform():
    started = []

    def start(answer) -> FakePlatform:
        platform = FakePlatform(answer)
        started.append(platform)
        return platform

    yield start
    for platform in started:
        platform.server.shutdown()
        platform.server.server_close()
