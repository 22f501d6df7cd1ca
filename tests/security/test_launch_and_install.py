"""Launches (docs/flickrocket.md, Launch) and the install callback (OAuth install), attacked."""

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.contrib.sessions.models import Session

import flickrocket as fr
from flickrocket.signing import launch_hmac
from oauth.crypto import decrypt
from oauth.models import Installation, OAuthFlow, PendingGrant
from oauth.tokens import access_token
from oauth.views import FLOW_COOKIE
from tests.factories import launch, launch_query, make_installation

pytestmark = pytest.mark.django_db

SECRET = "sandbox-app-secret"


def _company_sessions() -> list[int]:
    companies = [s.get_decoded().get("company_id") for s in Session.objects.all()]
    return [c for c in companies if c is not None]


def _query(user="4711", company="1202", signature=None, **extra):
    if signature is None:
        signature = launch_hmac(secret=SECRET, user_id=user, company_id=company)
    return "/?" + urlencode({"UserID": user, "CompanyID": company, "hmac": signature, **extra})


def _tampered():
    good = launch_hmac(secret=SECRET, user_id="4711", company_id="1202")
    message = b"?UserID=4711&CompanyID=1202"
    raw_message = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    flipped = ("0" if good[0] != "0" else "1") + good[1:]
    return {
        "wrong secret": _query(signature=launch_hmac(secret="guess", user_id="4711", company_id="1202")),
        "company changed": _query(company="1305", signature=good),
        "user changed": _query(user="4712", signature=good),
        "one hex digit changed": _query(signature=flipped),
        "truncated": _query(signature=good[:63]),
        "extended": _query(signature=good + "00"),
        "no base64 step": _query(signature=raw_message),
        "base64 of the signature": _query(signature=base64.b64encode(bytes.fromhex(good)).decode()),
        "empty signature": _query(signature=""),
        "sha1 length": _query(signature=good[:40]),
        "company not a number": _query(company="1202abc"),
        "second company appended": _query(signature=good) + "&CompanyID=1305",
    }


@pytest.mark.parametrize("case", list(_tampered()))
def test_forged_and_tampered_launches_open_no_session(case, client, caplog):
    make_installation(1202)
    make_installation(1305)
    response = client.get(_tampered()[case])
    assert response.status_code in (400, 403), case
    assert not response.has_header("Location")
    assert _company_sessions() == []
    assert b"Open this app from your FlickRocket admin" in response.content
    assert SECRET not in caplog.text


def test_repeated_company_parameter_never_opens_an_unsigned_company(client):
    make_installation(1305)
    good_1202 = launch_hmac(secret=SECRET, user_id="4711", company_id="1202")
    params = [("UserID", "4711"), ("CompanyID", "1202"), ("CompanyID", "1305"), ("hmac", good_1202)]
    url = "/?" + urlencode(params)
    assert client.get(url).status_code == 403
    assert _company_sessions() == []


def test_launch_replayed_after_the_session_expired_does_not_revive_it(client, settings):
    make_installation(1202)
    settings.APP_SESSION_IDLE_SECONDS = 1
    url = launch_query(1202, "4711")
    prefix = launch(client, 1202)
    assert client.get(prefix + "/oauth/install").status_code == 200
    time.sleep(1.2)

    assert client.get(prefix + "/oauth/install").status_code == 403
    replayed = client.get(url)  # the signed URL has no expiry (docs/flickrocket.md, Launch): a new session
    assert replayed.status_code == 302
    assert not replayed["Location"].startswith(prefix)
    # The old key stays dead: nothing it points to came back, nothing was re-saved under it.
    expired = client.get(prefix + "/fulfillments/")
    assert expired.status_code == 403
    assert b"Your session has ended" in expired.content
    old = Session.objects.filter(session_key=prefix.removeprefix("/s/")).first()
    assert old is None or old.expire_date.timestamp() < time.time()


def test_session_company_cannot_be_switched_by_the_url(client):
    make_installation(1202)
    prefix = launch(client, 1202)
    page = client.get(prefix + "/oauth/install?CompanyID=1305&company_id=1305")
    assert page.status_code == 200
    session = Session.objects.get(session_key=prefix.removeprefix("/s/")).get_decoded()
    assert session["company_id"] == 1202


# --- The install callback ---------------------------------------------------------------


def _start(embedded_client):
    response = embedded_client.post("oauth/install")
    assert response.status_code == 302
    return response["Location"]


def _consent(sandbox, authorize_url, company):
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    response = requests.post(
        sandbox.url + "/oauth2/auth",
        data={**query, "decision": "approve", "company": company},
        allow_redirects=False,
        timeout=10,
    )
    location = urlsplit(response.headers["Location"])
    return f"{location.path}?{location.query}"


def test_attackers_callback_in_a_victims_browser_is_refused(flickrocket, embedded, client):
    """Login CSRF: the victim (1202) has a flow running; the attacker's answer is for 1305."""
    make_installation(1202, refresh_token="victims-token")
    _start(embedded(1202))
    attacker_code = flickrocket.grant(1305)
    response = client.get(f"/oauth/callback?code={attacker_code}&companyid=1305")
    assert response.status_code == 400
    assert b"different shop" in response.content
    assert not Installation.objects.filter(company_id=1305).exists()
    assert decrypt(Installation.objects.get(company_id=1202).refresh_token_encrypted) == "victims-token"


def test_callback_with_a_tampered_flow_cookie_is_refused(flickrocket, embedded, client):
    url = _start(embedded(1202))
    callback = _consent(flickrocket, url, 1202)
    client.cookies[FLOW_COOKIE] = client.cookies[FLOW_COOKIE].value[:-2] + "xx"
    client.cookies[FLOW_COOKIE]["path"] = "/oauth/"
    response = client.get(callback)
    assert response.status_code == 400
    assert not Installation.objects.exists()
    assert OAuthFlow.objects.get().completed_at is None


def test_an_app_store_start_cannot_replace_an_installed_shops_grant(flickrocket, installed, client):
    """Anyone can start an unbound flow and name any shop in the (unsigned) companyid."""
    installation = installed(1202)
    code_before = decrypt(installation.refresh_token_encrypted)
    assert client.get("/oauth/authorize?scope=orders").status_code == 302
    response = client.get("/oauth/callback?code=not-a-real-code&companyid=1202")
    assert response.status_code == 400
    installation.refresh_from_db()
    assert installation.status == Installation.Status.INSTALLED
    assert decrypt(installation.refresh_token_encrypted) == code_before


def test_install_callback_only_returns_to_the_configured_admin_url(flickrocket, embedded, client, settings):
    callback = _consent(flickrocket, _start(embedded(1202)), 1202)
    hostile = "&" + urlencode(
        {
            "next": "https://evil.example/",
            "redirect_uri": "https://evil.example/",
            "return_to": "//evil.example",
            "url": "https://evil.example",
        }
    )
    response = client.get(callback + hostile)
    assert response.status_code == 302
    assert response["Location"] == settings.FLICKROCKET_APP_ADMIN_URL.replace("{company_id}", "1202")


def test_refused_callback_links_only_to_flickrocket(flickrocket, client, settings):
    response = client.get("/oauth/callback?code=x&companyid=1202&next=https://evil.example/")
    assert response.status_code == 400
    assert b"evil.example" not in response.content
    assert f'href="{settings.FLICKROCKET_ADMIN_ORIGIN}/"'.encode() in response.content


# --- Install takeover: an App Store grant for one shop, claimed for another ----------------


def _takeover_callback(client, sandbox, *, attacker=1305, victim=1202, scope="orders,products,webhooks"):
    """The attacker starts at the Authorization URL naming the victim, consents for their own
    shop and edits ``companyid`` in the callback to the victim's."""
    response = client.get(f"/oauth/authorize?CompanyID={victim}&scope={scope}")
    assert response.status_code == 302
    callback = _consent(sandbox, response["Location"], attacker)
    assert f"companyid={attacker}" in callback
    return callback.replace(f"companyid={attacker}", f"companyid={victim}")


def test_takeover_of_a_shop_without_install_is_refused_when_the_grant_reads_another_shops_orders(
    flickrocket, client
):
    response = client.get(_takeover_callback(client, flickrocket))
    assert response.status_code == 400
    assert b"different shop" in response.content
    assert not Installation.objects.exists()
    assert not PendingGrant.objects.exists()  # the attacker's grant is discarded, token and all


def test_takeover_of_an_installed_shop_is_refused_and_leaves_its_install_untouched(
    flickrocket, installed, client
):
    installation = installed(1202)
    token_before = decrypt(installation.refresh_token_encrypted)
    response = client.get(_takeover_callback(client, flickrocket))
    assert response.status_code == 400
    installation.refresh_from_db()
    assert installation.status == Installation.Status.INSTALLED
    assert decrypt(installation.refresh_token_encrypted) == token_before
    assert not PendingGrant.objects.exists()


def _victims_page_is_the_confirm_page(embedded, victim=1202):
    page = embedded(victim).get("fulfillments/")
    assert page.status_code == 200
    assert b"Finish connecting" in page.content
    assert b"owner@alpine-audio.example" in page.content  # the account that granted it, shown
    assert b"/api/" not in page.content and b"Alpine" not in page.content
    return page


def test_takeover_of_a_shop_without_orders_is_only_held_pending_and_serves_no_page(
    flickrocket, client, embedded
):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    response = client.get(_takeover_callback(client, flickrocket))
    assert response.status_code == 302
    assert not Installation.objects.exists()
    assert PendingGrant.objects.get().company_id == 1202
    with pytest.raises(fr.NotInstalled):
        access_token(company_id=1202)  # the token store never hands out a pending grant
    calls_before = len(flickrocket.calls()["calls"])
    _victims_page_is_the_confirm_page(embedded)
    assert len(flickrocket.calls()["calls"]) == calls_before  # no page read with that grant


def test_takeover_without_the_orders_scope_is_only_held_pending(flickrocket, client, embedded):
    response = client.get(_takeover_callback(client, flickrocket, scope="products"))
    assert response.status_code == 302
    assert not Installation.objects.exists()
    assert PendingGrant.objects.get().company_id == 1202
    _victims_page_is_the_confirm_page(embedded)


def test_pending_grant_that_reads_another_shops_orders_by_confirm_time_is_discarded(
    flickrocket, client, embedded
):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    client.get(_takeover_callback(client, flickrocket))
    pending = PendingGrant.objects.get()
    flickrocket.create_order(1305)  # the attacker's shop now has an order the grant can read
    shop = embedded(1202)
    response = shop.post(f"oauth/pending/{pending.pk}/confirm")
    assert response.status_code == 302
    assert not Installation.objects.exists()
    assert not PendingGrant.objects.exists()
    assert b"another FlickRocket shop" in shop.get("oauth/install").content


def test_a_pending_grant_can_only_be_confirmed_from_its_own_shops_launch(flickrocket, client, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    client.get(_takeover_callback(client, flickrocket))
    pending = PendingGrant.objects.get()
    attacker = embedded(1305)
    assert b"Finish connecting" not in attacker.get("fulfillments/").content
    assert attacker.post(f"oauth/pending/{pending.pk}/confirm").status_code == 302
    assert attacker.post(f"oauth/pending/{pending.pk}/discard").status_code == 302
    assert not Installation.objects.exists()
    assert PendingGrant.objects.filter(pk=pending.pk).exists()
    assert client.post(f"/oauth/pending/{pending.pk}/confirm").status_code == 403  # no session


def test_takeover_of_an_installed_shop_without_orders_never_replaces_its_install(
    flickrocket, installed, client, embedded
):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    installation = installed(1202)
    token_before = decrypt(installation.refresh_token_encrypted)
    response = client.get(_takeover_callback(client, flickrocket))
    assert response.status_code == 400
    assert not PendingGrant.objects.exists()
    installation.refresh_from_db()
    assert decrypt(installation.refresh_token_encrypted) == token_before


def test_a_pending_grant_never_replaces_an_install_made_after_it(flickrocket, client, installed, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    client.get(_takeover_callback(client, flickrocket))
    pending = PendingGrant.objects.get()
    installation = installed(1202)
    shop = embedded(1202)
    assert b"Finish connecting" not in shop.get("fulfillments/").content
    installation.refresh_from_db()
    token_before = decrypt(installation.refresh_token_encrypted)  # the page view renewed it
    exchanges_before = flickrocket.calls()["token_exchanges"]
    response = shop.post(f"oauth/pending/{pending.pk}/confirm")
    assert response.status_code == 302
    installation.refresh_from_db()
    assert decrypt(installation.refresh_token_encrypted) == token_before
    assert flickrocket.calls()["token_exchanges"] == exchanges_before
    assert not PendingGrant.objects.exists()


def test_an_install_from_the_shops_own_launch_drops_pending_grants_for_it(flickrocket, client, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    client.get(_takeover_callback(client, flickrocket))
    assert PendingGrant.objects.exists()
    callback = _consent(flickrocket, _start(embedded(1202)), 1202)
    assert client.get(callback).status_code == 302
    assert Installation.objects.get(company_id=1202).status == Installation.Status.INSTALLED
    assert not PendingGrant.objects.exists()


def test_launch_bound_flow_answered_for_another_shop_is_refused_before_any_exchange(
    flickrocket, embedded, client
):
    callback = _consent(flickrocket, _start(embedded(1202)), 1305)
    flickrocket.clear_calls()
    response = client.get(callback)
    assert response.status_code == 400
    assert b"different shop" in response.content
    assert flickrocket.calls()["token_exchange_attempts"] == 0
    assert not Installation.objects.exists() and not PendingGrant.objects.exists()


# --- Hostile review of the install binding (issue 9): a grant nothing could check ------------

ATTACKER_ACCOUNT = "owner@alpine-audio.example"  # 1305's owner, the attacker in these tests
APP_STORE_WARNING = (
    f"Connect only if {ATTACKER_ACCOUNT} is your FlickRocket account. If you did not just install "
    "the app from the App Store, discard this."
)


def _text(response) -> str:
    return " ".join(response.content.decode().split())


def _order_ids(sandbox, company) -> set[str]:
    return {str(order["id"]) for order in sandbox.fulfillments(company)}


def test_grant_without_the_orders_scope_is_offered_only_with_its_account_and_a_plain_warning(
    flickrocket, client, embedded
):
    """Review 1: leaving ``orders`` out of the grant makes the data check prove nothing. The grant
    is held, and the victim sees whose FlickRocket account it is and what to do if it is not theirs;
    even a careless confirm gives the victim's app nothing of the attacker's orders to show."""
    assert client.get(_takeover_callback(client, flickrocket, scope="products")).status_code == 302
    pending = PendingGrant.objects.get(company_id=1202)
    assert pending.user_name == ATTACKER_ACCOUNT and pending.exchanged_at is not None

    victim = embedded(1202)
    page = victim.get("fulfillments/")
    assert b"Finish connecting" in page.content
    assert f"<strong>{ATTACKER_ACCOUNT}</strong>".encode() in page.content  # prominently
    assert APP_STORE_WARNING in _text(page)

    assert victim.post(f"oauth/pending/{pending.pk}/confirm").status_code == 302
    installation = Installation.objects.get(company_id=1202)
    assert installation.account_name == ATTACKER_ACCOUNT and installation.installed_by == "4711"
    page = victim.get("fulfillments/")
    assert not any(order_id.encode() in page.content for order_id in _order_ids(flickrocket, 1305))


def test_empty_shop_grant_confirmed_then_filled_with_orders_is_refused_not_shown(
    flickrocket, client, embedded, caplog
):
    """Review 1, empty-shop variant: the attacker's shop is empty at confirm time and gets an
    order later. The app refuses a list that names another company: not shown, not cached, the
    installation needs a reinstall with a plain reason, and the log says why."""
    from fulfillment.orders.models import ListCache

    flickrocket.reset(open_orders=0, shipped_orders=0)
    client.get(_takeover_callback(client, flickrocket))
    pending = PendingGrant.objects.get(company_id=1202)
    victim = embedded(1202)
    assert victim.post(f"oauth/pending/{pending.pk}/confirm").status_code == 302
    assert Installation.objects.get(company_id=1202).is_usable

    order = flickrocket.create_order(1305)
    page = victim.get("fulfillments/")
    assert page.status_code == 200
    assert str(order["id"]).encode() not in page.content
    assert b"Reconnect FlickRocket Fulfillment" in page.content
    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.NEEDS_REINSTALL
    assert "another shop (company 1305)" in installation.status_reason
    assert not installation.refresh_token_encrypted  # the other account's token is forgotten
    assert all(str(order["id"]).encode() not in bytes(cache.body) for cache in ListCache.objects.all())
    assert "company 1202 needs reinstall: FlickRocket answered with orders of another shop" in caplog.text


def test_installation_holding_another_shops_token_shows_none_of_its_orders(flickrocket, embedded):
    """Defence in depth, wherever the wrong token came from: the list and the single order."""
    make_installation(1202, refresh_token=flickrocket.grant(1305))
    foreign = next(iter(_order_ids(flickrocket, 1305)))
    shop = embedded(1202)
    detail = shop.get(f"fulfillments/{foreign}/")
    assert foreign.encode() not in detail.content
    assert Installation.objects.get(company_id=1202).status == Installation.Status.NEEDS_REINSTALL

    make_installation(1410, refresh_token=flickrocket.grant(1305))
    page = embedded(1410).get("fulfillments/")
    assert not any(order_id.encode() in page.content for order_id in _order_ids(flickrocket, 1305))
    assert Installation.objects.get(company_id=1410).status == Installation.Status.NEEDS_REINSTALL


def test_client_for_refuses_fulfillments_of_another_company(flickrocket):
    from oauth.clients import client_for

    make_installation(1202, refresh_token=flickrocket.grant(1305))
    with pytest.raises(fr.WrongCompany):
        client_for(1202).open_fulfillments()
    assert Installation.objects.get(company_id=1202).status == Installation.Status.NEEDS_REINSTALL
    make_installation(1410, refresh_token=flickrocket.grant(1410))
    assert client_for(1410).open_fulfillments()  # its own orders pass


def test_shop_needing_a_reinstall_sees_a_foreign_grant_only_with_its_account_and_warning(
    flickrocket, client, embedded
):
    """Review 1/7: a shop whose install is not working is shown held grants (its owner may be
    reinstalling from the App Store right now), so the account and the warning come with them."""
    make_installation(1202, refresh_token="dead", scopes="orders")
    Installation.objects.filter(company_id=1202).update(status="needs_reinstall", refresh_token_encrypted="")
    client.get(_takeover_callback(client, flickrocket, scope="products"))
    page = embedded(1202).get("fulfillments/")
    assert b"Finish connecting" in page.content
    assert APP_STORE_WARNING in _text(page)


def test_a_shop_holds_at_most_three_pending_grants_and_keeps_the_newest(flickrocket, client, embedded):
    flickrocket.reset(open_orders=0, shipped_orders=0)
    for _attempt in range(5):
        assert client.get(_takeover_callback(client, flickrocket)).status_code == 302
    kept = PendingGrant.objects.filter(company_id=1202).order_by("pk")
    assert kept.count() == 3
    assert flickrocket.calls()["token_exchanges"] == 5
    page = embedded(1202).get("fulfillments/")
    assert page.content.count(b'class="btn btn-primary btn-sm confirm-pending"') == 3


def test_launch_flow_answered_with_another_shops_code_and_no_state_is_refused(flickrocket, embedded, client):
    """Review 2 (login CSRF): the victim clicked Install (its browser holds the flow cookie); another
    page sends that browser to the callback with the attacker's code, the victim's companyid and no
    state. The code's data names the attacker's shop: refused, discarded, the working install kept."""
    make_installation(1202, refresh_token=flickrocket.grant(1202))
    _start(embedded(1202))
    attacker_code = flickrocket.grant(1305)
    response = client.get(f"/oauth/callback?code={attacker_code}&companyid=1202")  # no state
    assert response.status_code == 400
    assert b"different shop" in response.content
    assert not PendingGrant.objects.exists()
    rows = fr.FlickRocketClient(base_url=flickrocket.url, token=lambda stale: access_token(company_id=1202))
    assert {row.company_id for row in rows.open_fulfillments()} == {1202}


def test_launch_flow_with_an_unproven_code_never_replaces_a_working_install(flickrocket, embedded, client):
    """Review 2, the attacker's grant without ``orders``: the working install stays; the grant waits
    in the victim's app, with its account and a warning, until the owner connects or discards it."""
    installation = make_installation(1202, refresh_token=flickrocket.grant(1202))
    token_before = decrypt(installation.refresh_token_encrypted)
    _start(embedded(1202))
    attacker_code = flickrocket.grant(1305, "products")
    assert client.get(f"/oauth/callback?code={attacker_code}&companyid=1202").status_code == 302
    installation.refresh_from_db()
    assert installation.status == Installation.Status.INSTALLED
    assert decrypt(installation.refresh_token_encrypted) == token_before
    pending = PendingGrant.objects.get(company_id=1202)
    assert pending.from_launch and pending.user_name == ATTACKER_ACCOUNT

    shop = embedded(1202, "4711")
    page = shop.get("fulfillments/")
    assert b"Finish connecting" in page.content
    assert f"Connect only if {ATTACKER_ACCOUNT} is your FlickRocket account." in _text(page)
    assert b"stays connected as it is" in page.content
    assert shop.post(f"oauth/pending/{pending.pk}/discard").status_code == 302
    assert not PendingGrant.objects.exists()
    assert b"Finish connecting" not in shop.get("fulfillments/").content
    installation.refresh_from_db()
    assert installation.status == Installation.Status.INSTALLED


def test_launch_flow_with_an_unproven_code_installs_a_shop_without_a_working_install(
    flickrocket, embedded, client
):
    """The launch proves the shop and its owner clicked Install a moment ago: no extra click."""
    flickrocket.reset(open_orders=0, shipped_orders=0)
    make_installation(1202, refresh_token="", status=Installation.Status.NEEDS_REINSTALL)
    assert client.get(_consent(flickrocket, _start(embedded(1202, "4711")), 1202)).status_code == 302
    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.INSTALLED and installation.installed_by == "4711"
    assert not PendingGrant.objects.exists()


def test_reconnect_of_a_working_install_whose_code_reads_its_own_orders_needs_no_click(
    flickrocket, embedded, client
):
    make_installation(1202, refresh_token=flickrocket.grant(1202), scopes="orders,products,webhooks")
    url = embedded(1202, "4712").post("oauth/install", {"scope": "customers"})["Location"]
    assert client.get(_consent(flickrocket, url, 1202)).status_code == 302
    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.INSTALLED and installation.installed_by == "4712"
    assert "customers" in installation.scope_list
    assert not PendingGrant.objects.exists()


def test_confirm_while_flickrocket_does_not_answer_keeps_the_grant_and_says_try_again(
    flickrocket, client, embedded
):
    """Review 3: a confirm never promotes a grant on a read that did not succeed."""
    flickrocket.reset(open_orders=0, shipped_orders=0)
    client.get(_takeover_callback(client, flickrocket))
    pending = PendingGrant.objects.get()
    shop = embedded(1202)
    flickrocket.faults(outage=True)
    assert shop.post(f"oauth/pending/{pending.pk}/confirm").status_code == 302
    assert not Installation.objects.exists()
    assert PendingGrant.objects.filter(pk=pending.pk).exists()
    flickrocket.faults()
    assert b"try again in a moment" in shop.get("oauth/install").content

    flickrocket.create_order(1305)  # by the retry, the grant reads the attacker's shop
    assert shop.post(f"oauth/pending/{pending.pk}/confirm").status_code == 302
    assert not Installation.objects.exists() and not PendingGrant.objects.exists()


def test_code_kept_during_an_outage_is_neither_shown_nor_confirmable_until_exchanged(
    flickrocket, client, embedded
):
    """Review 3/5: the attacker's code arrives while FlickRocket is down. It is kept (it is a refresh
    token), but no prompt offers it; when the owner opens the app later, it is exchanged and checked:
    this one reads the attacker's orders, so it is discarded without ever being offered."""
    callback = _takeover_callback(client, flickrocket)
    flickrocket.faults(outage=True)
    assert client.get(callback).status_code == 502
    pending = PendingGrant.objects.get(company_id=1202)
    assert pending.exchanged_at is None

    shop = embedded(1202)  # still down: the retry at launch fails, the code waits
    page = shop.get("fulfillments/")
    assert b"Finish connecting" not in page.content and b"not yet known" not in page.content
    assert shop.post(f"oauth/pending/{pending.pk}/confirm").status_code == 302
    assert not Installation.objects.exists()
    assert PendingGrant.objects.filter(pk=pending.pk).exists()

    flickrocket.faults()
    page = embedded(1202).get("fulfillments/")
    assert b"Finish connecting" not in page.content
    assert not PendingGrant.objects.exists() and not Installation.objects.exists()
