"""A real FlickRocket sandbox process for tests.

``SandboxServer`` starts ``python -m sandbox.serve`` on a free port and talks to its
``/_control/`` API. The session fixture ``sandbox_server`` starts one per test session
(one per pytest-xdist worker, since each worker is its own session); the function
fixture ``sandbox`` resets it to the seed with default settings before every test.

Register with ``pytest_plugins = ["tests.sandbox_server"]`` in the root conftest.
Nothing here imports Django or the app.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]

# Settings every test starts from; fixed here rather than inherited from the developer's
# shell so a stray SANDBOX_OPEN_ORDERS=10000 does not slow the suite down. A test
# changes them with ``sandbox.reset(**overrides)`` or ``sandbox.settings(**changes)``.
TEST_DEFAULTS = {
    "client_id": "fr-fulfillment",
    "client_secret": "sandbox-app-secret",
    "app_start_url": "http://localhost:8000/",
    "app_redirect_uri": "http://localhost:8000/oauth/callback",
    "app_authorization_url": "http://localhost:8000/oauth/authorize",
    "token_lifetime": 1799,
    "bucket_size": 40,
    "leak_rate": 2.0,
    "time_scale": 1.0,
    "open_orders": 60,
    "shipped_orders": 40,
    "seed": 42,
    "delivery_timeout": 5.0,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxError(AssertionError):
    pass


class SandboxServer:
    def __init__(self, port: int | None = None, env: dict | None = None, startup_timeout=20.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.http = requests.Session()

    # ------------------------------------------------------------------ process

    def start(self) -> "SandboxServer":
        env = {**os.environ, **{k: str(v) for k, v in self.env.items()}}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env.pop("DJANGO_SETTINGS_MODULE", None)  # serve.py sets its own
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.serve", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=None,  # errors show up in pytest's captured stderr
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SandboxError(f"sandbox exited with {self.process.returncode} on start")
            try:
                if self.http.get(self.url + "/_control/state", timeout=1).ok:
                    return self
            except requests.RequestException:  # refused or slow while it boots
                pass
            time.sleep(0.05)
        self.stop()
        raise SandboxError(f"sandbox did not answer on {self.url} within {self.startup_timeout}s")

    def stop(self):
        # Close our keep-alive connections first: gunicorn's graceful stop waits for them.
        self.http.close()
        if self.process and self.process.poll() is None:
            # SIGINT is gunicorn's quick shutdown; SIGTERM would wait out the graceful timeout.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ control API

    def control(self, path: str, json=None, method: str | None = None, **params):
        """Call ``/_control/<path>``: POST when a body is given, else GET."""
        method = method or ("POST" if json is not None else "GET")
        url = f"{self.url}/_control/{path.lstrip('/')}"
        try:
            response = self.http.request(method, url, json=json, params=params, timeout=30)
        except requests.ConnectionError:
            # gunicorn closes idle keep-alive connections; a pooled one can be dead on reuse.
            # Control calls are safe to repeat, so try once more on a fresh connection.
            self.http.close()
            response = self.http.request(method, url, json=json, params=params, timeout=30)
        if response.status_code != 200:
            raise SandboxError(f"{method} /_control/{path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self, **overrides) -> dict:
        """Reseed with the test defaults plus ``overrides``; clears tokens, hooks, faults, log."""
        return self.control("reset", {**TEST_DEFAULTS, **overrides})

    def state(self) -> dict:
        return self.control("state")

    def settings(self, **changes) -> dict:
        """Change settings without reseeding (bucket, lifetime, time_scale, app URLs...)."""
        return self.control("settings", changes)["settings"]

    def faults(self, **faults) -> dict:
        """Replace the fault set; no arguments clears every fault."""
        return self.control("faults", faults)["faults"]

    def calls(self) -> dict:
        return self.control("calls")

    def clear_calls(self):
        return self.control("calls/clear", {})

    def grant(self, company_id: int = 1202, scope: str = "orders,products,webhooks") -> str:
        """Install the app for a company as the consent page would; returns the code."""
        return self.control("grant", {"company_id": company_id, "scope": scope})["code"]

    def revoke(self, company_id: int = 1202) -> dict:
        return self.control("revoke", {"company_id": company_id})

    def create_order(self, company_id: int = 1202, **fields) -> dict:
        return self.control("orders", {"company_id": company_id, **fields})["fulfillment"]

    def fire_event(self, company_id: int, topic: str, data: dict) -> list[int]:
        return self.control("events", {"company_id": company_id, "topic": topic, "data": data})["deliveries"]

    def fulfillments(self, company_id: int = 1202) -> list[dict]:
        return self.control(f"fulfillments/{company_id}")["fulfillments"]

    def fulfillment(self, company_id: int, order_id: int) -> dict:
        return next(o for o in self.fulfillments(company_id) if o["id"] == order_id)

    def deliveries(self, hook_id: int | None = None) -> list[dict]:
        params = {"hook_id": hook_id} if hook_id is not None else {}
        return self.control("deliveries", **params)["deliveries"]

    def expire_tokens(self, company_id: int | None = None) -> int:
        return self.control("expire_tokens", {"company_id": company_id})["expired"]

    def sign_launch(self, company_id: int = 1202, user_id: str = "4711") -> str:
        return self.control("sign_launch", company_id=company_id, user_id=user_id)["url"]

    # ------------------------------------------------------------------ platform helpers

    def exchange(self, code: str, client_id: str = "fr-fulfillment") -> requests.Response:
        """``POST /token`` exactly as the contract's client does it."""
        return self.http.post(
            self.url + "/token",
            data={"grant_type": "refresh_token", "refresh_token": code, "client_id": client_id},
            timeout=30,
        )

    def access_token(self, company_id: int = 1202, scope: str = "orders,products,webhooks") -> str:
        """Grant + exchange in one go: a fresh access token for the company."""
        response = self.exchange(self.grant(company_id, scope))
        response.raise_for_status()
        return response.json()["access_token"]

    def wait_for(self, predicate, timeout: float = 5.0, interval: float = 0.02):
        """Poll ``predicate()`` until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server) -> SandboxServer:
    sandbox_server.reset()
    return sandbox_server
