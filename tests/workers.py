"""Real ``db_worker`` processes against the test database (tests using them need
``django_db(transaction=True)`` so what they write is committed and visible)."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def process_env(**extra) -> dict:
    """The environment of the app's own processes (worker, gunicorn) for this test run."""
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="frapp.settings",
        DATABASE_URL=test_database_url(),
        FLICKROCKET_AUTH_BASE=settings.FLICKROCKET_AUTH_BASE,
        FLICKROCKET_API_BASE=settings.FLICKROCKET_API_BASE,
        FLICKROCKET_ADMIN_ORIGIN=settings.FLICKROCKET_ADMIN_ORIGIN,
        FLICKROCKET_APP_ADMIN_URL=settings.FLICKROCKET_APP_ADMIN_URL,
        FLICKROCKET_CLIENT_ID=settings.FLICKROCKET_CLIENT_ID,
        FLICKROCKET_CLIENT_SECRET=settings.FLICKROCKET_CLIENT_SECRET,
        # The worker subscribes hooks at APP_BASE_URL's receiver: the same one the test serves.
        APP_BASE_URL=settings.APP_BASE_URL,
        TOKEN_ENCRYPTION_KEYS=",".join(settings.TOKEN_ENCRYPTION_KEYS),
        PYTHONPATH=str(ROOT),
    )
    # Their stderr goes to a pipe that is read only at the end: keep it short.
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(*args: str, **env) -> subprocess.Popen:
    """``manage.py db_worker`` as its own process; ``--batch`` makes it exit when idle."""
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.1",
            *args,
        ],
        cwd=ROOT,
        env=process_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


class AppServer:
    """The app under gunicorn, as in production, against the test database."""

    def __init__(self, **env):
        from tests.sandbox_server import free_port

        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = env

    def __enter__(self) -> "AppServer":
        import time

        import requests

        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "frapp.wsgi",
                "-b",
                f"localhost:{self.port}",
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "4",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=process_env(APP_BASE_URL=self.url, **self.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                requests.get(self.url + "/healthz", timeout=(1, 5))
                return self
            # A worker still booting can accept the connection and answer late.
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.05)
        self.process.terminate()  # before reading stderr, which ends only when it exits
        _, err = self.process.communicate(timeout=20)
        raise RuntimeError("gunicorn did not start: " + err)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=20)
