"""CSRF on every route: a POST without the session's token is refused before the view runs.

Routes come from the URLconf; int ids are filled with a dummy (the view's own 404 proves the
request got past CSRF when the token is present).
"""

import re

import pytest
from django.test import Client

from tests.factories import launch, make_installation

from .conftest import app_patterns, fill, int_params

pytestmark = pytest.mark.django_db

# Authenticated by the body's hash instead (docs/flickrocket.md, Webhook deliveries);
# FlickRocket has no CSRF token.
CSRF_EXEMPT = {"webhooks/flickrocket"}
ROUTES = [fill(route, dict.fromkeys(int_params(p), 999999)) for route, p in app_patterns()]


def test_only_the_webhook_receiver_is_csrf_exempt():
    exempt = {route for route, p in app_patterns() if getattr(p.callback, "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT


def _csrf_token(client, prefix) -> str:
    page = client.get(prefix + "/oauth/install")
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


@pytest.mark.parametrize("route", sorted(set(ROUTES) - CSRF_EXEMPT))
def test_post_without_the_token_is_refused(route, flickrocket, installed):
    installed(1202)
    client = Client(enforce_csrf_checks=True)
    prefix = launch(client, 1202)
    url = f"{prefix}/{route}"

    refused = client.post(url, {"tracking_number": "CSRF-1", "action": "ship"})
    foreign = client.post(url, {"csrfmiddlewaretoken": "x" * 64}, HTTP_X_CSRFTOKEN="y" * 32)

    assert refused.status_code == 403, route
    assert foreign.status_code == 403, route
    # Not vacuous: with the session's token the same request gets past CSRF.
    token = _csrf_token(client, prefix)
    accepted = client.post(url, {"csrfmiddlewaretoken": token})
    assert accepted.status_code != 403, route
    via_htmx = client.post(url, {}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert via_htmx.status_code != 403, route


def test_a_token_from_another_session_is_refused(flickrocket, installed):
    installed(1202)
    make_installation(1305)
    client = Client(enforce_csrf_checks=True)
    mine, theirs = launch(client, 1202), launch(client, 1305)
    their_token = _csrf_token(client, theirs)
    response = client.post(mine + "/oauth/disconnect", {"csrfmiddlewaretoken": their_token})
    assert response.status_code == 403
    assert client.get(mine + "/oauth/install").status_code == 200


def test_every_embedded_form_carries_the_token(shop):
    for path in (
        "fulfillments/",
        "prices/",
        "subscriptions/",
        "oauth/install",
        "fulfillments/import/",
        "fulfillments/scan/",
    ):
        body = shop.get(path).content.decode()
        forms = re.findall(r"<form\b[^>]*>.*?</form>", body, flags=re.S | re.I)
        posts = [f for f in forms if re.search(r'method="post"', f, flags=re.I)]
        for form in posts:
            assert "csrfmiddlewaretoken" in form, (path, form[:200])
        assert "X-CSRFToken" in body  # htmx requests carry it from <body hx-headers>
