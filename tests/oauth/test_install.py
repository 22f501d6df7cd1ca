"""The OAuth install, driven through the sandbox's real consent page and token endpoint."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from oauth.crypto import decrypt
from oauth.models import Installation, OAuthFlow, PendingGrant
from oauth.views import FLOW_COOKIE

pytestmark = pytest.mark.django_db


def start_install(embedded_client):
    """Press the install button; returns FlickRocket's consent URL the browser is sent to."""
    response = embedded_client.post("oauth/install")
    assert response.status_code == 302
    return response["Location"]


def consent(sandbox, authorize_url, *, decision="approve", company=1202):
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    response = requests.post(
        sandbox.url + "/oauth2/auth",
        data={**query, "decision": decision, "company": company},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    return f"{location.path}?{location.query}"


def test_install_button_sends_the_browser_to_flickrocket_with_a_bound_state(flickrocket, embedded, client):
    url = start_install(embedded(1202))
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(flickrocket.url + "/oauth2/auth?")
    assert query["client_id"] == ["fr-fulfillment"]
    assert query["access_type"] == ["offline"]
    assert query["scope"] == ["orders,products,webhooks"]
    assert query["redirect_uri"] == ["http://localhost:8000/oauth/callback"]
    assert OAuthFlow.objects.get(state=query["state"][0]).company_id == 1202
    cookie = client.cookies[FLOW_COOKIE]
    assert cookie["samesite"] == "Lax" and cookie["httponly"]


def test_full_install_stores_the_new_refresh_token_and_returns_into_flickrocket(
    flickrocket, embedded, client
):
    callback = consent(flickrocket, start_install(embedded(1202, "4711")))
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = client.get(callback)

    assert response.status_code == 302
    assert response["Location"] == flickrocket.url + "/shell/1202/apps"
    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.INSTALLED
    assert installation.installed_by == "4711"
    assert installation.scope_list == ["orders", "products", "webhooks"]
    stored = decrypt(installation.refresh_token_encrypted)
    assert stored and stored != code  # the exchange's new refresh token, not the used code
    assert code not in installation.refresh_token_encrypted  # encrypted at rest
    assert flickrocket.calls()["token_exchanges"] == 1
    # the stored token is the live one: using it works exactly once more
    assert flickrocket.exchange(stored).status_code == 200


def test_install_then_launch_lands_on_the_app(flickrocket, embedded, client):
    shop = embedded(1202)
    client.get(consent(flickrocket, start_install(shop)))
    response = shop.get("")
    assert response.status_code == 302
    assert response["Location"].endswith("/fulfillments/")


def test_authorization_url_from_the_app_store_starts_the_same_flow(flickrocket, client):
    response = client.get("/oauth/authorize?scope=orders,products")
    assert response.status_code == 302
    url = response["Location"]
    assert parse_qs(urlsplit(url).query)["scope"] == ["orders,products"]
    response = client.get(consent(flickrocket, url, company=1305))
    assert response.status_code == 302
    assert Installation.objects.get(company_id=1305).scope_list == ["orders", "products"]


def test_callback_without_a_flow_cookie_is_refused_and_stores_nothing(flickrocket, client):
    code = flickrocket.grant(1202)
    response = client.get(f"/oauth/callback?code={code}&companyid=1202&state=guessed")
    assert response.status_code == 400
    assert b"Nothing was stored" in response.content
    assert not Installation.objects.exists()


def test_replayed_callback_is_refused(flickrocket, embedded, client):
    callback = consent(flickrocket, start_install(embedded(1202)))
    cookie = client.cookies[FLOW_COOKIE].value
    assert client.get(callback).status_code == 302
    client.cookies[FLOW_COOKIE] = cookie
    client.cookies[FLOW_COOKIE]["path"] = "/oauth/"
    response = client.get(callback)
    assert response.status_code == 400
    assert b"already used" in response.content


def test_expired_flow_is_refused(flickrocket, embedded, client):
    url = start_install(embedded(1202))
    OAuthFlow.objects.update(created_at=timezone.now() - timedelta(hours=1))
    response = client.get(consent(flickrocket, url))
    assert response.status_code == 400
    assert b"expired" in response.content
    assert not Installation.objects.exists()


def test_callback_for_another_company_is_refused(flickrocket, embedded, client):
    url = start_install(embedded(1202))
    response = client.get(consent(flickrocket, url, company=1305))
    assert response.status_code == 400
    assert b"different shop" in response.content
    assert not Installation.objects.exists()


def test_state_that_does_not_match_the_browser_flow_is_refused(flickrocket, embedded, client):
    callback = consent(flickrocket, start_install(embedded(1202)))
    tampered = callback.replace("state=", "state=x")
    assert client.get(tampered).status_code == 400
    assert not Installation.objects.exists()


def test_owner_denying_gets_a_page_with_a_way_to_try_again(flickrocket, embedded, client):
    response = client.get(consent(flickrocket, start_install(embedded(1202)), decision="deny"))
    assert response.status_code == 200
    assert b"Install cancelled" in response.content
    assert b"try again" in response.content
    assert not Installation.objects.exists()


def test_invalid_code_gets_its_own_page(flickrocket, embedded, client):
    callback = consent(flickrocket, start_install(embedded(1202)))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert flickrocket.exchange(code).status_code == 200  # someone used it first
    response = client.get(callback)
    assert response.status_code == 400
    assert b"did not accept this install code" in response.content


def test_flickrocket_unreachable_keeps_the_code_and_says_so(flickrocket, embedded, client):
    callback = consent(flickrocket, start_install(embedded(1202)))
    flickrocket.faults(outage=True)
    response = client.get(callback)
    assert response.status_code == 502
    assert b"did not answer" in response.content
    # the code is kept (never as an installation nothing has checked yet), so opening the app
    # once FlickRocket is back finishes connecting
    assert not Installation.objects.exists()
    assert PendingGrant.objects.get(company_id=1202).exchanged_at is None
    flickrocket.faults()
    from oauth.tokens import access_token

    assert b"Install FlickRocket Fulfillment" not in embedded(1202).get("fulfillments/").content
    assert access_token(company_id=1202)
    assert Installation.objects.get(company_id=1202).token_exchanges == 1
    assert not PendingGrant.objects.exists()


def test_the_connection_page_shows_the_grant_and_disconnects(shop):
    page = shop.get("oauth/connection")
    assert page.status_code == 200
    assert b"orders" in page.content and b"Disconnect" in page.content
    response = shop.post("oauth/disconnect", {"confirm": "yes"})
    assert response.status_code == 302
    assert Installation.objects.get(company_id=1202).status == Installation.Status.UNINSTALLED
    assert b"FlickRocket Fulfillment is disconnected" in shop.get("fulfillments/").content
