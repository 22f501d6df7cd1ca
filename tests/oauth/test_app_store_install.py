"""Installs started from the App Store's Authorization URL: bound to no shop until proven."""

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth.crypto import decrypt
from oauth.models import Installation, OAuthFlow, OAuthFlowWindow, PendingGrant
from oauth.tokens import access_token
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


# --- Hostile review (issue 9): anonymous storage, and who confirmed what ---------------------


@pytest.fixture
def one_minute(monkeypatch):
    """Every flow in the test starts in the same minute (no minute boundary halfway)."""
    from oauth import flows

    monkeypatch.setattr(flows, "_current_minute", lambda: 29_000_000)


def test_authorize_is_capped_per_client_address_with_a_plain_429(flickrocket, client, one_minute, settings):
    assert settings.OAUTH_FLOWS_PER_MINUTE_PER_IP == 20 and settings.OAUTH_FLOWS_PER_MINUTE == 120
    answers = [client.get("/oauth/authorize?scope=orders").status_code for _ in range(30)]
    assert answers == [302] * 20 + [429] * 10
    assert OAuthFlow.objects.count() == 20
    refused = client.get("/oauth/authorize?scope=orders")
    assert b"Too many install attempts" in refused.content and refused["Retry-After"] == "60"
    # another address still gets its own share
    assert client.get("/oauth/authorize?scope=orders", REMOTE_ADDR="203.0.113.9").status_code == 302


def test_flows_are_capped_in_total_across_addresses(flickrocket, client, one_minute, settings):
    settings.OAUTH_FLOWS_PER_MINUTE = 7
    answers = [
        client.get("/oauth/authorize?scope=orders", REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(10)
    ]
    assert answers == [302] * 7 + [429] * 3
    assert OAuthFlow.objects.count() == 7
    # a full minute writes nothing more: one window for the total, one for each address let in
    assert OAuthFlowWindow.objects.count() == 8


def test_the_install_button_counts_toward_the_cap(flickrocket, embedded, one_minute, settings):
    settings.OAUTH_FLOWS_PER_MINUTE_PER_IP = 2
    shop = embedded(1202)
    assert [shop.post("oauth/install").status_code for _ in range(3)] == [302, 302, 429]
    assert OAuthFlow.objects.count() == 2


def test_the_cap_is_per_minute(flickrocket, client, monkeypatch, settings):
    from oauth import flows

    settings.OAUTH_FLOWS_PER_MINUTE_PER_IP = 1
    monkeypatch.setattr(flows, "_current_minute", lambda: 29_000_000)
    assert client.get("/oauth/authorize").status_code == 302
    assert client.get("/oauth/authorize").status_code == 429
    monkeypatch.setattr(flows, "_current_minute", lambda: 29_000_001)
    assert client.get("/oauth/authorize").status_code == 302


def test_junk_callbacks_during_an_outage_are_kept_but_never_offered(flickrocket, embedded, one_minute):
    """A code FlickRocket could not exchange is kept (it may be a real refresh token), yet no shop
    is shown it; the retry when the owner opens the app discards what FlickRocket refuses."""
    from django.test import Client

    flickrocket.faults(outage=True)
    for company in range(2000, 2005):
        browser = Client()
        browser.get("/oauth/authorize?scope=orders")
        assert browser.get(f"/oauth/callback?code=junk{company}&companyid={company}").status_code == 502
    for _attempt in range(4):  # more than a shop may hold
        browser = Client()
        browser.get("/oauth/authorize?scope=orders")
        browser.get("/oauth/callback?code=junk&companyid=1202")
    assert PendingGrant.objects.filter(company_id=1202).count() == 3
    assert PendingGrant.objects.count() == 8
    assert not PendingGrant.objects.exclude(exchanged_at=None).exists()

    shop = embedded(1202, "4711")  # still down
    assert b"Finish connecting" not in shop.get("fulfillments/").content
    for grant in PendingGrant.objects.filter(company_id=1202):
        shop.post(f"oauth/pending/{grant.pk}/confirm")
    assert not Installation.objects.exists()

    flickrocket.faults()
    page = embedded(1202, "4711").get("fulfillments/")
    assert b"Finish connecting" not in page.content
    assert not PendingGrant.objects.filter(company_id=1202).exists()  # FlickRocket refused them


def test_confirm_and_discard_are_logged_and_the_confirm_recorded(flickrocket, embedded, caplog):
    from django.test import Client

    flickrocket.reset(open_orders=0, shipped_orders=0)
    app_store_install(Client(), flickrocket, 1305)
    app_store_install(Client(), flickrocket, 1305)
    first, second = PendingGrant.objects.order_by("pk")
    shop = embedded(1305, "5120")

    shop.post(f"oauth/pending/{first.pk}/discard")
    assert (
        "user '5120' of company 1305 discarded the pending grant of FlickRocket account "
        "'owner@alpine-audio.example'" in caplog.text
    )
    shop.post(f"oauth/pending/{second.pk}/confirm")
    assert (
        "user '5120' of company 1305 confirms the pending grant of FlickRocket account "
        "'owner@alpine-audio.example'" in caplog.text
    )
    installation = Installation.objects.get(company_id=1305)
    assert installation.installed_by == "5120"
    assert installation.account_name == "owner@alpine-audio.example"


def test_a_proven_app_store_install_records_its_account(flickrocket, client):
    app_store_install(client, flickrocket, 1305)
    assert Installation.objects.get(company_id=1305).account_name == "owner@alpine-audio.example"


def test_the_pending_page_names_the_account_and_warns(flickrocket, client, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    app_store_install(client, flickrocket, 1305)
    page = " ".join(embedded(1305, "5120").get("fulfillments/").content.decode().split())
    assert "<strong>owner@alpine-audio.example</strong>" in page
    assert (
        "Connect only if owner@alpine-audio.example is your FlickRocket account. If you did not just "
        "install the app from the App Store, discard this." in page
    )
