"""Production refuses unsafe settings; the health check tells the truth about the database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "APP_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": "x" * 64,
    "ALLOWED_HOSTS": "fulfillment.example.com",
    "FLICKROCKET_CLIENT_ID": "id",
    "FLICKROCKET_CLIENT_SECRET": "secret",
    "TOKEN_ENCRYPTION_KEYS": "6vQhU2kq5fXh0bRk3m1uV8wJ0Yy4g7sZp9cT2nL5eAo=",
}


def django_run(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLICKROCKET_", "APP_ENV"))}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "frapp.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_every_secret_set():
    result = django_run("print('started')", **GOOD)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FLICKROCKET_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in GOOD.items() if k != missing}
    result = django_run("pass", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = django_run("pass", **{**GOOD, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_development_needs_no_variable_at_all():
    result = django_run("from django.conf import settings; print(settings.DEBUG)")
    assert result.returncode == 0, result.stderr


def test_healthz_answers_503_when_the_database_does_not():
    code = (
        "from django.test import Client; r = Client().get('/healthz'); "
        "print(r.status_code, r.content.decode())"
    )
    result = django_run(code, DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert result.stdout.startswith("503"), result.stdout + result.stderr
    assert "unreachable" in result.stdout
