from urllib.parse import urlencode

import pytest

from tests.factories import launch, launch_query, make_installation

pytestmark = pytest.mark.django_db


def test_valid_launch_opens_a_session_and_redirects_into_it(client):
    response = client.get(launch_query(1202, "4711"))
    assert response.status_code == 302
    assert response["Location"].startswith("/s/")
    assert not response.cookies  # nothing rides in a third-party cookie


def test_launch_without_install_shows_the_install_page(client):
    prefix = launch(client, 1202)
    response = client.get(prefix + "/", follow=True)
    assert response.status_code == 200
    assert b"Install FlickRocket Fulfillment" in response.content
    assert b'target="_top"' in response.content


def test_launch_with_install_lands_on_open_orders(client):
    make_installation(1202)
    prefix = launch(client, 1202)
    response = client.get(prefix + "/")
    assert response.status_code == 302
    assert response["Location"] == prefix + "/fulfillments/"


@pytest.mark.parametrize(
    "query, status",
    [
        ({"UserID": "4711", "CompanyID": "1202"}, 400),
        ({"UserID": "4711", "hmac": "a" * 64}, 400),
        ({"UserID": "4711", "CompanyID": "1202", "hmac": "not-hex"}, 403),
        ({"UserID": "4711", "CompanyID": "1202", "hmac": "0" * 64}, 403),
    ],
)
def test_bad_launches_are_refused_with_a_page_that_says_what_to_do(client, query, status):
    response = client.get("/?" + urlencode(query))
    assert response.status_code == status
    assert b"Open this app from your FlickRocket admin" in response.content


def test_tampered_company_is_refused(client):
    url = launch_query(1202, "4711").replace("CompanyID=1202", "CompanyID=1305")
    response = client.get(url)
    assert response.status_code == 403


def test_start_url_without_parameters_asks_to_open_from_flickrocket(client):
    response = client.get("/")
    assert response.status_code == 400
    assert b"Extensions / Manage Apps" in response.content


def test_refused_launch_is_logged_without_the_secret(client, caplog, settings):
    client.get("/?" + urlencode({"UserID": "1", "CompanyID": "1202", "hmac": "0" * 64}))
    assert "bad signature" in caplog.text
    assert settings.FLICKROCKET_CLIENT_SECRET not in caplog.text


def test_launch_page_may_be_framed_only_by_the_flickrocket_admin(client, settings):
    response = client.get(launch_query(1202))
    csp = response["Content-Security-Policy"]
    assert f"frame-ancestors {settings.FLICKROCKET_ADMIN_ORIGIN}" in csp
    assert "X-Frame-Options" not in response


def test_pages_outside_the_iframe_keep_clickjacking_protection(client):
    response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
