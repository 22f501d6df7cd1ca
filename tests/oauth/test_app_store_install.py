"""Installs started from the App Store's Authorization URL: bound to no shop until proven."""

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth.crypto import decrypt
from oauth.models import Installation, OAuthFlow, PendingGrant
from oauth.services import access_token
from tests.factories import make_installation
from tests.oauth.test_install import consent

pytestmark = pytest.mark.django_db


def app_store_install(client, sandbox, company, *, scope="orders,products,webhooks"):
    """The App Store calls the Authorization URL; the owner consents for ``company``."""
    response = client.get(f"/oauth/authorize?scope={scope}&CompanyID={company}")
    assert response.status_code == 302
    return client.get(consent(sandbox, response["Location"], company=company))


def test_app_store_flow_belongs_to_no_shop_and_keeps_company_id_only_as_a_hint(flickrocket, client):
    client.get("/oauth/authorize?scope=orders&CompanyID=1305")
    flow = OAuthFlow.objects.get()
    assert flow.company_id is None
    assert flow.company_hint == 1305


def test_app_store_install_of_a_shop_with_orders_works_without_a_click(flickrocket, client, embedded):
    response = app_store_install(client, flickrocket, 1305)

    assert response.status_code == 302
    assert response["Location"] == flickrocket.url + "/shell/1305/apps"
    installation = Installation.objects.get(company_id=1305)
    assert installation.status == Installation.Status.INSTALLED
    assert not PendingGrant.objects.exists()
    # one exchange, and the stored refresh token is the live one
    assert flickrocket.calls()["token_exchanges"] == 1
    assert flickrocket.exchange(decrypt(installation.refresh_token_encrypted)).status_code == 200


def test_app_store_install_of_a_shop_without_orders_works_after_one_confirm_click(
    flickrocket, client, embedded
):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    response = app_store_install(client, flickrocket, 1305)
    assert response.status_code == 302
    assert not Installation.objects.exists()
    pending = PendingGrant.objects.get(company_id=1305)
    # the exchange's new refresh token was kept before anything read with the access token
    assert decrypt(pending.refresh_token_encrypted) and pending.user_name == "owner@alpine-audio.example"

    shop = embedded(1305, "5120")
    page = shop.get("fulfillments/")
    assert page.status_code == 200
    assert b"Finish connecting" in page.content
    assert b"owner@alpine-audio.example" in page.content
    assert b'<code class="me-1">orders</code>' in page.content

    confirmed = shop.post(f"oauth/pending/{pending.pk}/confirm")
    assert confirmed.status_code == 302
    installation = Installation.objects.get(company_id=1305)
    assert installation.status == Installation.Status.INSTALLED
    assert installation.installed_by == "5120"
    assert not PendingGrant.objects.exists()
    assert shop.get(confirmed["Location"].removeprefix(shop.prefix)).status_code == 200
    assert access_token(company_id=1305)
    assert b"Finish connecting" not in shop.get("fulfillments/").content


def test_app_store_install_while_flickrocket_is_down_is_held_and_confirmed_later(
    flickrocket, client, embedded
):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    url = client.get("/oauth/authorize?scope=orders,products,webhooks")["Location"]
    callback = consent(flickrocket, url, company=1305)
    flickrocket.faults(outage=True)
    response = client.get(callback)
    assert response.status_code == 502
    assert PendingGrant.objects.filter(company_id=1305).exists()  # the code is kept

    flickrocket.faults()
    shop = embedded(1305, "5120")
    assert shop.post(f"oauth/pending/{PendingGrant.objects.get().pk}/confirm").status_code == 302
    assert access_token(company_id=1305)
    assert Installation.objects.get(company_id=1305).token_exchanges >= 1


def test_expired_pending_grant_is_neither_shown_nor_confirmable(flickrocket, client, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    app_store_install(client, flickrocket, 1305)
    pending = PendingGrant.objects.get()
    PendingGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    shop = embedded(1305, "5120")
    assert b"Finish connecting" not in shop.get("fulfillments/").content
    response = shop.post(f"oauth/pending/{pending.pk}/confirm")
    assert response.status_code == 302
    assert not Installation.objects.exists()
    assert b"no longer available" in shop.get("oauth/install").content


def test_discarding_a_pending_grant_forgets_it(flickrocket, client, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    app_store_install(client, flickrocket, 1305)
    shop = embedded(1305, "5120")
    assert shop.post(f"oauth/pending/{PendingGrant.objects.get().pk}/discard").status_code == 302
    assert not PendingGrant.objects.exists()
    assert b"Install FlickRocket Fulfillment" in shop.get("fulfillments/").content


def test_confirm_of_an_unknown_or_huge_grant_id_is_a_message_not_an_error(flickrocket, embedded):
    shop = embedded(1305, "5120")
    for grant_id in (1, 10**30):
        assert shop.post(f"oauth/pending/{grant_id}/confirm").status_code == 302
        assert shop.post(f"oauth/pending/{grant_id}/discard").status_code == 302


def test_prune_command_deletes_expired_flows_and_pending_grants_only(flickrocket, client, settings):
    client.get("/oauth/authorize?scope=orders")
    client.get("/oauth/authorize?scope=orders")
    old, fresh = OAuthFlow.objects.order_by("pk")
    OAuthFlow.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE + 1)
    )
    now = timezone.now()
    PendingGrant.objects.create(company_id=1202, refresh_token_encrypted="x", expires_at=now - timedelta(1))
    live = PendingGrant.objects.create(
        company_id=1202, refresh_token_encrypted="y", expires_at=now + timedelta(1)
    )

    call_command("prune_oauth_flows", stdout=io.StringIO())

    assert list(OAuthFlow.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert list(PendingGrant.objects.values_list("pk", flat=True)) == [live.pk]


def test_callback_on_an_expired_app_store_flow_is_refused(flickrocket, client):
    url = client.get("/oauth/authorize?scope=orders,products,webhooks")["Location"]
    callback = consent(flickrocket, url, company=1305)
    OAuthFlow.objects.update(created_at=timezone.now() - timedelta(hours=1))
    response = client.get(callback)
    assert response.status_code == 400
    assert b"expired" in response.content
    assert not Installation.objects.exists() and not PendingGrant.objects.exists()


def test_callback_on_a_pruned_flow_is_refused(flickrocket, client):
    url = client.get("/oauth/authorize?scope=orders,products,webhooks")["Location"]
    callback = consent(flickrocket, url, company=1305)
    OAuthFlow.objects.update(created_at=timezone.now() - timedelta(hours=1))
    call_command("prune_oauth_flows", stdout=io.StringIO())
    assert not OAuthFlow.objects.exists()
    response = client.get(callback)
    assert response.status_code == 400
    assert not Installation.objects.exists() and not PendingGrant.objects.exists()


def test_install_button_asks_for_extra_known_scopes_on_top_of_defaults_and_current(flickrocket, embedded):
    make_installation(1202, scopes="orders,statistics")
    shop = embedded(1202)
    response = shop.post("oauth/install", {"scope": "customers, bogus,orders,users"})
    assert response.status_code == 302
    scope = parse_qs(urlsplit(response["Location"]).query)["scope"][0]
    assert scope == "orders,products,webhooks,statistics,customers,users"


def test_install_button_without_scope_asks_for_the_defaults(flickrocket, embedded):
    response = embedded(1202).post("oauth/install")
    assert parse_qs(urlsplit(response["Location"]).query)["scope"] == ["orders,products,webhooks"]
