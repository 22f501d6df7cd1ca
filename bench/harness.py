"""Shared by the benchmarks: a real sandbox, a real gunicorn app, an installed shop.

Everything runs as separate processes on this machine, like production: the benchmark talks
HTTP to gunicorn, gunicorn talks HTTP to the sandbox. Figures come from the app's own
``Server-Timing`` header (time waiting on FlickRocket vs our own) and the sandbox's call log.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sandbox_server import SandboxServer, free_port  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):7.2f} ms  p99 {percentile(values, 99):7.2f} ms"


def server_timing(response: requests.Response) -> dict[str, float]:
    timings = {}
    for part in response.headers.get("Server-Timing", "").split(","):
        match = re.search(r"(\w+);dur=([\d.]+)", part)
        if match:
            timings[match[1]] = float(match[2])
    return timings


class App:
    """gunicorn serving the app on localhost against its own database."""

    def __init__(
        self,
        sandbox: SandboxServer,
        *,
        database_url: str | None = None,
        workers: int = 2,
        threads: int = 4,
        extra_env: dict | None = None,
        gunicorn_args: tuple[str, ...] = (),
    ):
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.tmp = tempfile.mkdtemp(prefix="frbench-")
        self.database_url = (
            database_url or os.environ.get("DATABASE_URL") or (f"sqlite:///{self.tmp}/bench.sqlite3")
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "frapp.settings",
            "DATABASE_URL": self.database_url,
            "APP_BASE_URL": self.url,
            "FLICKROCKET_AUTH_BASE": sandbox.url,
            "FLICKROCKET_API_BASE": sandbox.url,
            "FLICKROCKET_ADMIN_ORIGIN": sandbox.url,
            "LOG_LEVEL": "WARNING",
            # As in production (APP_ENV=production refuses DEBUG): with DEBUG on, Django keeps
            # every query of a request with its parameters, which is not what a shop runs.
            # DEBUG=true in the environment measures a development server instead.
            "DEBUG": os.environ.get("DEBUG", "false"),
            "PYTHONPATH": str(ROOT),
            **(extra_env or {}),
        }
        self.workers, self.threads = workers, threads
        self.gunicorn_args = tuple(gunicorn_args)
        self.process: subprocess.Popen | None = None
        self.sandbox = sandbox

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def start(self) -> App:
        if self.database_url.startswith("postgres"):
            self.manage("flush", "--noinput")
        self.manage("migrate", "--noinput")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "frapp.wsgi",
                "-b",
                f"localhost:{self.port}",
                "-w",
                str(self.workers),
                # As the Procfile runs production (see the reason there): gthread, and at most
                # two connections per thread held by a process.
                "-k",
                "gthread",
                "--threads",
                str(self.threads),
                "--worker-connections",
                str(2 * self.threads),
                "--timeout",
                "120",
                "--no-control-socket",
                *self.gunicorn_args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(200):
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:  # refused or slow while it boots
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def peak_rss_mb(self) -> float:
        """Highest resident memory (VmHWM) of any gunicorn worker so far."""
        peaks = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status)[1]) / 1024)
        return max(peaks) if peaks else float("nan")

    def install(self, company_id: int = 1202) -> None:
        """Leave the shop installed as a finished OAuth would (the code stored, encrypted)."""
        code = self.sandbox.grant(company_id)
        self.manage(
            "shell",
            "-c",
            (
                "from oauth.models import Installation; from oauth.crypto import encrypt; "
                "from django.utils import timezone; "
                f"Installation.objects.update_or_create(company_id={company_id}, defaults=dict("
                f"status='installed', scopes='orders,products,webhooks', installed_by='bench', "
                f"installed_at=timezone.now(), refresh_token_encrypted=encrypt('{code}'), "
                "access_token_encrypted='', access_token_expires_at=None))"
            ),
        )

    def launch(self, company_id: int = 1202, user_id: str = "4711") -> requests.Session:
        """A browser-like session inside the app: ``session.app_prefix`` is ``/s/<key>``."""
        import base64
        import hashlib
        import hmac

        secret = self.env.get("FLICKROCKET_CLIENT_SECRET", "sandbox-app-secret")
        message = base64.b64encode(f"?UserID={user_id}&CompanyID={company_id}".encode())
        signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        session = requests.Session()
        response = session.get(
            self.url + "/?" + urlencode({"UserID": user_id, "CompanyID": company_id, "hmac": signature}),
            allow_redirects=False,
            timeout=30,
        )
        session.app_prefix = response.headers["Location"].rstrip("/")
        return session


@contextmanager
def running(open_orders: int = 1000, *, sandbox_overrides: dict | None = None, **app_kwargs):
    with SandboxServer() as sandbox:
        sandbox.reset(open_orders=open_orders, **(sandbox_overrides or {}))
        app = App(sandbox, **app_kwargs).start()
        try:
            yield sandbox, app
        finally:
            app.stop()


def measure(session: requests.Session, app: App, path: str, repeat: int, *, absolute: str = "") -> dict:
    """GET a page ``repeat`` times; collect total, FlickRocket and own server time.

    ``absolute`` is a path outside the embedded session (``/healthz``)."""
    totals, waits, own = [], [], []
    url = app.url + (absolute or session.app_prefix + path)
    for _ in range(repeat):
        response = session.get(url, timeout=60)
        response.raise_for_status()
        timing = server_timing(response)
        waits.append(timing.get("flickrocket", 0.0))
        own.append(timing.get("app", 0.0))
        totals.append(timing.get("flickrocket", 0.0) + timing.get("app", 0.0))
    return {"total": totals, "flickrocket": waits, "own": own, "median": statistics.median(totals)}
