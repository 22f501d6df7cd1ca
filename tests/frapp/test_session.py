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


def _backdate_launch(prefix: str, seconds: int, *, touched: bool = False) -> None:
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore(prefix.split("/")[-1])
    store["created"] = int(time.time()) - seconds
    if touched:
        store["touched"] = store["created"]
    store.save()


def test_session_ends_at_its_maximum_age_even_if_used_a_minute_ago(client, settings):
    make_installation(1202)
    assert settings.APP_SESSION_MAX_AGE_SECONDS == 12 * 60 * 60  # the default
    prefix = launch(client, 1202)
    assert client.get(prefix + "/fulfillments/").status_code == 200
    _backdate_launch(prefix, settings.APP_SESSION_MAX_AGE_SECONDS - 60)
    assert client.get(prefix + "/fulfillments/").status_code == 200  # busy, not yet too old

    _backdate_launch(prefix, settings.APP_SESSION_MAX_AGE_SECONDS + 1)
    response = client.get(prefix + "/fulfillments/")
    assert response.status_code == 403
    assert b"Your session has ended" in response.content
    assert not Session.objects.filter(session_key=prefix.split("/")[-1]).exists()
    assert client.get(launch(client, 1202) + "/fulfillments/").status_code == 200  # a new launch


def test_session_row_expires_no_later_than_its_maximum_age(client, settings):
    make_installation(1202)
    settings.APP_SESSION_MAX_AGE_SECONDS = 300
    prefix = launch(client, 1202)
    client.get(prefix + "/fulfillments/")
    _backdate_launch(prefix, 240, touched=True)  # last touched long enough ago to touch again
    client.get(prefix + "/fulfillments/")
    row = Session.objects.get(session_key=prefix.split("/")[-1])
    remaining = row.expire_date.timestamp() - time.time()
    assert 0 < remaining <= 61  # clearsessions removes it once the lifetime is over
