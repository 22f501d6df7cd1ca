import time

import pytest
from django.contrib.sessions.models import Session

from tests.factories import launch, make_installation

pytestmark = pytest.mark.django_db


def test_session_travels_in_the_url_not_in_a_cookie(client):
    make_installation(1202)
    prefix = launch(client, 1202)
    client.cookies.clear()
    response = client.get(prefix + "/fulfillments/")
    assert response.status_code == 200
    assert f'href="{prefix}/fulfillments/"'.encode() in response.content


def test_unknown_session_key_gets_the_session_ended_page(client):
    response = client.get("/s/" + "a" * 32 + "/fulfillments/")
    assert response.status_code == 403
    assert b"Your session has ended" in response.content


def test_session_expires_after_the_idle_time(client, settings):
    make_installation(1202)
    settings.APP_SESSION_IDLE_SECONDS = 1
    prefix = launch(client, 1202)
    assert client.get(prefix + "/fulfillments/").status_code == 200
    time.sleep(2.1)
    assert client.get(prefix + "/fulfillments/").status_code == 403


def test_a_new_launch_gets_its_own_session(client):
    first = launch(client, 1202)
    second = launch(client, 1202)
    assert first != second
    assert Session.objects.count() == 2


def test_embedded_post_without_csrf_token_is_refused(client):
    client = client.__class__(enforce_csrf_checks=True)
    make_installation(1202)
    prefix = launch(client, 1202)
    response = client.post(prefix + "/oauth/disconnect")
    assert response.status_code == 403


def test_embedded_post_with_the_session_csrf_token_is_accepted(client):
    client = client.__class__(enforce_csrf_checks=True)
    make_installation(1202)
    prefix = launch(client, 1202)
    page = client.get(prefix + "/oauth/install")
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(prefix + "/oauth/disconnect", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == prefix + "/oauth/install"


def test_session_key_never_reaches_the_request_log(client, caplog):
    make_installation(1202)
    prefix = launch(client, 1202)
    with caplog.at_level("INFO", logger="frapp.request"):
        client.get(prefix + "/fulfillments/")
    key = prefix.split("/")[-1]
    assert "/fulfillments/" in caplog.text
    assert key not in caplog.text


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
