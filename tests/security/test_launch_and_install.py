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
from oauth.services import access_token
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
