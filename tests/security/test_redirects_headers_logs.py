"""Open redirects, response headers, secrets in logs, and the production deploy check."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from frapp.logging import JsonFormatter
from fulfillment.outbox.models import PendingUpdate
from oauth.crypto import decrypt
from oauth.models import Installation
from tests.factories import deliver_webhook, launch_query, webhook_body

from .conftest import app_patterns, fill, int_params

pytestmark = pytest.mark.django_db

EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "https:evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
]
NEXT_NAMES = ["next", "return_to", "redirect", "redirect_to", "url", "back"]


def _off_site(location: str, allowed_origins: set[str]) -> bool:
    if location.startswith("/") and not location.startswith(("//", "/\\")):
        return False
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}" not in allowed_origins


@pytest.mark.parametrize("route", [r for r, _ in app_patterns()])
def test_no_route_redirects_off_site(route, shop, flickrocket, settings):
    pattern = dict(app_patterns())[route]
    url = fill(route, dict.fromkeys(int_params(pattern), 999999))
    allowed = {flickrocket.url}  # FlickRocket's auth and admin (install, callback)
    for target in EVIL:
        params = {name: target for name in NEXT_NAMES}
        for response in (
            shop.get(url, params),
            shop.post(
                url + "?" + "&".join(f"{k}={requests.utils.quote(v)}" for k, v in params.items()), params
            ),
        ):
            if response.has_header("Location"):
                assert not _off_site(response["Location"], allowed), (route, response["Location"])
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert f'href="{target}"'.encode() not in body, route


def test_launch_ignores_next_and_stays_in_the_app(client, installed, flickrocket):
    installed(1202)
    response = client.get(launch_query(1202) + "&next=https://evil.example/")
    assert response.status_code == 302
    assert response["Location"].startswith("/s/")


# --- Headers ------------------------------------------------------------------------------


def _frame_ancestors(response) -> str:
    policy = response.get("Content-Security-Policy", "")
    return next((d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors")), "")


def test_embedded_pages_may_be_framed_only_by_the_flickrocket_admin(shop, settings):
    for path in ("fulfillments/", "prices/", "subscriptions/", "oauth/install", "fulfillments/999999/"):
        response = shop.get(path)
        assert _frame_ancestors(response) == f"frame-ancestors {settings.FLICKROCKET_ADMIN_ORIGIN}", path
        assert "X-Frame-Options" not in response, path
        assert response["Referrer-Policy"] == "same-origin", path  # the URL carries the session
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert "script-src 'self'" in response["Content-Security-Policy"], path
        assert "unsafe-inline" not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_everything_outside_the_iframe_refuses_framing(client, db):
    for path in (
        "/oauth/callback",
        "/oauth/authorize",
        "/healthz",
        "/webhooks/flickrocket",
        "/staff/login/",
        "/fulfillments/",
        "/no-such-page",
    ):
        response = client.get(path)
        assert response["X-Frame-Options"] == "DENY", path
        assert _frame_ancestors(response) == "frame-ancestors 'none'", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["X-Content-Type-Options"] == "nosniff", path


# --- Secrets in logs ------------------------------------------------------------------------


@pytest.fixture
def all_log_output():
    """What the configured console handler writes (plain in development), plus the same
    records through the production JSON formatter, with DEBUG records included."""
    console = logging.getHandlerByName("console")
    plain = io.StringIO()
    previous = console.setStream(plain)
    as_json = io.StringIO()
    json_handler = logging.StreamHandler(as_json)
    json_handler.filters = list(console.filters)
    json_handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(json_handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: plain.getvalue() + as_json.getvalue()
    finally:
        root.setLevel(old_level)
        root.removeHandler(json_handler)
        console.setStream(previous)


def test_no_secret_reaches_the_logs(all_log_output, flickrocket, embedded, client, settings):
    secrets = {settings.FLICKROCKET_CLIENT_SECRET}
    query = launch_query(1202, "4711")
    secrets.add(parse_qs(urlsplit(query).query)["hmac"][0])
    # A full install: launch, install button, FlickRocket's consent, callback, token exchange.
    shop = embedded(1202, "4711")
    secrets.add(shop.prefix.removeprefix("/s/"))
    authorize = shop.post("oauth/install")["Location"]
    state = parse_qs(urlsplit(authorize).query)
    consent = requests.post(
        flickrocket.url + "/oauth2/auth",
        data={
            **{k: v[0] for k, v in state.items()},
            "decision": "approve",
            "company": 1202,
        },
        allow_redirects=False,
        timeout=10,
    )
    callback = urlsplit(consent.headers["Location"])
    secrets.add(parse_qs(callback.query)["code"][0])
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    shop = embedded(1202, "4711")
    secrets.add(shop.prefix.removeprefix("/s/"))
    # API calls, an expired token refreshed on the way, a 404 and a refused POST in the session.
    assert shop.get("fulfillments/").status_code == 200
    flickrocket.expire_tokens(1202)
    Installation.objects.update(access_token_expires_at="2100-01-01T00:00:00Z")
    assert shop.get("prices/").status_code == 200
    assert shop.get("subscriptions/").status_code == 200
    shop.get("fulfillments/999999999/")
    assert client.get(shop.prefix + "/fulfillments/not-a-page").status_code == 404
    client.get(query + "0")  # a refused launch with a near-miss signature
    # Webhooks: a good one and a forged one.
    body = webhook_body(1202, "order/create")
    secrets.add(body["hash"])
    assert deliver_webhook(client, body).status_code == 200
    assert deliver_webhook(client, {**body, "company_id": 1305}).status_code == 401

    installation = Installation.objects.get(company_id=1202)
    secrets |= {decrypt(installation.refresh_token_encrypted), decrypt(installation.access_token_encrypted)}
    assert installation.token_exchanges >= 2  # the expired token really was replaced
    output = all_log_output()
    assert "Not Found" in output and "token exchange" in output  # the logs were captured
    leaked = sorted(s for s in secrets if s and s in output)
    assert leaked == []
    assert not PendingUpdate.objects.exists()


# --- Production settings ---------------------------------------------------------------------


def test_manage_py_check_deploy_is_clean_with_production_settings():
    root = Path(__file__).resolve().parents[2]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))},
        "APP_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": Fernet.generate_key().decode() * 2,
        "ALLOWED_HOSTS": "fulfillment.example.com",
        "APP_BASE_URL": "https://fulfillment.example.com",
        "FLICKROCKET_CLIENT_ID": "ci",
        "FLICKROCKET_CLIENT_SECRET": "ci-secret",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_session_key_in_any_record_of_embedded_404_403_csrf_and_500(
    all_log_output, caplog, capfd, installed, embedded, monkeypatch
):
    """Every record, as the app's console, a JSON handler and pytest's own (filterless) caplog
    handler write it; runs in other configurations: tests/frapp/test_logs.py."""
    from django.test import Client

    from fulfillment.webhooks import selectors as webhook_selectors

    installed(1202)
    shop = embedded(1202, "4711")
    key = shop.prefix.removeprefix("/s/")

    def broken(**kwargs):
        raise RuntimeError(f"deliveries failed for {shop.prefix}/subscriptions/deliveries/ ({key})")

    monkeypatch.setattr(webhook_selectors, "deliveries_page", broken)
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    with caplog.at_level(logging.DEBUG):
        assert browser.get(shop.url("no-such-page/")).status_code == 404
        assert browser.get("/s/" + "q" * 32 + "/fulfillments/").status_code == 403
        referer = {"HTTP_REFERER": "http://testserver" + shop.url("oauth/connection")}
        assert browser.post(shop.url("oauth/disconnect"), **referer).status_code == 403  # no CSRF token
        assert browser.get(shop.url("subscriptions/deliveries/")).status_code == 500
        assert browser.get(shop.url(f"no-such-page/?again={key}")).status_code == 404
    captured = capfd.readouterr()
    output = all_log_output() + caplog.text + captured.out + captured.err
    assert "Forbidden (CSRF" in output and "deliveries failed for" in output and "Not Found" in output
    assert key not in output and "q" * 32 not in output
    for record in caplog.records:
        request = getattr(record, "request", None)
        if request is not None:
            assert key not in request.path and key not in request.META.get("PATH_INFO", "")


def test_a_path_with_line_breaks_cannot_forge_a_log_line(all_log_output, client):
    client.get("/foo%0d%0aINFO fake line")
    client.get("/foo%E2%80%A8INFO fake line%C2%85INFO fake line%1b[2J")
    output = all_log_output()
    assert "/foo\\r\\nINFO fake line" in output and "\\u2028INFO fake line\\x85INFO fake line\\x1b" in output
    assert not [line for line in output.splitlines() if line.startswith("INFO fake line")]


@pytest.mark.parametrize("formatter", ["plain", "json"])
def test_an_exception_message_with_line_breaks_stays_inside_its_record(formatter):
    from frapp.logging import PlainFormatter

    try:
        raise ValueError("bad value\nINFO fake line\u2028INFO fake line")
    except ValueError:
        record = logging.getLogger("frapp.test").makeRecord(
            "frapp.test",
            logging.ERROR,
            __file__,
            1,
            "failed on %s",
            ("x\r\nINFO fake line",),
            sys.exc_info(),
            extra={"path": "/p\nINFO fake line", "request_id": "-"},
        )
    text = (PlainFormatter() if formatter == "plain" else JsonFormatter()).format(record)
    lines = text.splitlines()
    assert not [line for line in lines if line.startswith("INFO fake line")]
    if formatter == "json":
        assert len(lines) == 1
        payload = __import__("json").loads(text)
        assert "\n" not in payload["message"] and "\n" not in payload["path"]
        assert not [line for line in payload["exc"].splitlines() if not line.startswith("    ")]
    else:
        assert lines[0].endswith("failed on x\\r\\nINFO fake line")
        assert all(line.startswith("    ") for line in lines[1:])
