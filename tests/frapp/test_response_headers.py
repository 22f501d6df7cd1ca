"""What every embedded response carries (frapp/headers.py, frapp/middleware.py) stays what Django's
own helpers would have produced, now that the finished values are kept between requests."""

import pytest
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.csp import CSP, build_policy

from frapp.headers import NEVER_CACHE, allow_framing, never_cache

pytestmark = pytest.mark.django_db


def test_never_cache_gives_a_fresh_response_what_django_gives_it():
    ours, django = HttpResponse(), HttpResponse()
    never_cache(ours)
    add_never_cache_headers(django)
    assert ours["Cache-Control"] == django["Cache-Control"] == NEVER_CACHE
    assert ours["Expires"] == django["Expires"]


@pytest.mark.parametrize(
    ("cache_control", "expires"),
    [
        ("max-age=3600, public", None),
        (NEVER_CACHE, None),
        (NEVER_CACHE, "Tue, 24 Nov 2026 10:00:00 GMT"),  # @never_cache already ran
        ("no-transform", None),
        (None, "Tue, 24 Nov 2026 10:00:00 GMT"),
    ],
)
def test_never_cache_merges_what_a_view_set_itself_like_django(cache_control, expires):
    ours, django = HttpResponse(), HttpResponse()
    for response in ours, django:
        if cache_control:
            response["Cache-Control"] = cache_control
        if expires:
            response["Expires"] = expires
    never_cache(ours)
    add_never_cache_headers(django)
    assert ours["Cache-Control"] == django["Cache-Control"]
    assert ours["Expires"] == django["Expires"]
    assert "no-store" in ours["Cache-Control"] and "public" not in ours["Cache-Control"]


def test_embedded_page_policy_is_the_one_the_csp_middleware_would_build(shop, settings):
    response = shop.get("fulfillments/")
    expected = build_policy({**settings.SECURE_CSP, "frame-ancestors": [settings.FLICKROCKET_ADMIN_ORIGIN]})
    assert response["Content-Security-Policy"] == expected
    assert "X-Frame-Options" not in response
    assert response["Cache-Control"] == NEVER_CACHE


def test_framing_follows_a_changed_admin_origin(settings):
    settings.FLICKROCKET_ADMIN_ORIGIN = "https://admin.example.test"
    response = HttpResponse()
    allow_framing(response)
    assert "frame-ancestors https://admin.example.test" in response["Content-Security-Policy"]


def test_a_policy_with_a_nonce_is_left_to_the_middleware_for_each_request(client, settings):
    settings.SECURE_CSP = {**settings.SECURE_CSP, "script-src": [CSP.SELF, CSP.NONCE]}
    response = HttpResponse()
    allow_framing(response)
    assert "Content-Security-Policy" not in response
    # The middleware renders it (with the nonce when the page used one), framing included.
    launch_page = client.get("/")
    assert f"frame-ancestors {settings.FLICKROCKET_ADMIN_ORIGIN}" in launch_page["Content-Security-Policy"]


def test_a_well_formed_incoming_request_id_is_kept_and_a_bad_one_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abcdef12-3456")["X-Request-ID"] == "abcdef12-3456"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert len(replaced) == 32 and replaced.isalnum()


def test_browser_language_sets_content_language_and_vary(shop):
    german = shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert german["Content-Language"] == "de"
    assert "Accept-Language" in german["Vary"]
    assert shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")["Content-Language"] == "en"
