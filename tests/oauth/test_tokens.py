"""The token store: one exchange at a time, the new refresh token kept before use."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

import flickrocket as fr
from oauth.clients import client_for
from oauth.crypto import decrypt
from oauth.models import Installation
from oauth.tokens import access_token

pytestmark = pytest.mark.django_db


def test_calls_reuse_the_access_token_until_it_nears_expiry(installed, flickrocket):
    installed(1202)
    client = client_for(1202, purpose="worker")
    client.fulfillment_count()
    client.fulfillment_count()
    client_for(1202, purpose="worker").open_fulfillments()
    assert flickrocket.calls()["token_exchanges"] == 1


def test_access_token_is_refreshed_ahead_of_expiry(installed, flickrocket, settings):
    installed(1202)
    first = access_token(company_id=1202)
    settings.FLICKROCKET_TOKEN_REFRESH_MARGIN = 1800  # everything is "about to expire"
    second = access_token(company_id=1202)
    assert first != second
    assert flickrocket.calls()["token_exchanges"] == 2
    stored = decrypt(Installation.objects.get(company_id=1202).refresh_token_encrypted)
    assert flickrocket.exchange(stored).status_code == 200


def test_expired_answer_refreshes_once_and_retries(installed, flickrocket):
    installed(1202)
    client_for(1202, purpose="worker").fulfillment_count()
    flickrocket.expire_tokens(1202)
    assert client_for(1202, purpose="worker").fulfillment_count() > 0
    assert flickrocket.calls()["token_exchanges"] == 2


def test_invalid_grant_marks_the_shop_for_reinstall(installed, flickrocket):
    installation = installed(1202)
    flickrocket.exchange(decrypt(installation.refresh_token_encrypted))  # token used elsewhere
    with pytest.raises(fr.NeedsReinstall):
        client_for(1202, purpose="worker").open_fulfillments()
    installation.refresh_from_db()
    assert installation.status == Installation.Status.NEEDS_REINSTALL
    assert installation.refresh_token_encrypted == ""


def test_revoked_app_shows_the_reinstall_page_not_an_error(shop, flickrocket):
    assert shop.get("fulfillments/").status_code == 200
    client_for(1202, purpose="worker").fulfillment_count()
    flickrocket.revoke(1202)
    with pytest.raises(fr.NeedsReinstall):
        client_for(1202, purpose="worker").fulfillment_count()
    response = shop.get("fulfillments/")
    assert response.status_code == 200
    assert b"Reconnect FlickRocket Fulfillment" in response.content


def test_disconnect_deletes_the_stored_tokens(shop):
    from django.test import Client

    shop.client = Client()  # a fresh browser with the same session URL
    response = shop.post("oauth/disconnect")
    assert response.status_code == 302
    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.UNINSTALLED
    assert installation.refresh_token_encrypted == installation.access_token_encrypted == ""


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"expires_in": "soon"},
        {".expires": "not a date"},
        {"expires": "Thu, 21 Apr 2016 14:00:22 GMT"},  # in the past
        {"expires_in": -5},
        {"expires_in": None, ".expires": None},
    ],
)
def test_odd_or_missing_expiry_falls_back_to_the_documented_lifetime(payload):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert fr.token_expiry(payload, now=now) == now + timedelta(seconds=1799)


def test_dotted_expiry_key_is_understood():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    payload = {".expires": "Thu, 01 Jan 2026 12:10:00 GMT"}
    assert fr.token_expiry(payload, now=now) == now + timedelta(minutes=10)


def test_tokens_never_reach_the_logs(installed, flickrocket, caplog):
    installation = installed(1202)
    code = decrypt(installation.refresh_token_encrypted)
    with caplog.at_level("DEBUG"):
        client_for(1202, purpose="worker").open_fulfillments()
    token = decrypt(Installation.objects.get(company_id=1202).access_token_encrypted)
    assert code not in caplog.text and token not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_needing_a_token_cause_exactly_one_exchange(installed, flickrocket):
    # PostgreSQL serialises them with a row lock; SQLite with its IMMEDIATE write transactions.
    installed(1202)
    flickrocket.faults(latency_ms=150)  # widen the window in which exchanges could overlap
    barrier = threading.Barrier(20)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(access_token(company_id=1202))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 20 and len(set(results)) == 1
    assert flickrocket.calls()["token_exchanges"] == 1
