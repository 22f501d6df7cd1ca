import pytest

from oauth.crypto import decrypt
from tests.factories import make_installation

pytestmark = pytest.mark.django_db


def test_staff_see_installations_without_any_token(admin_client):
    installation = make_installation(1202, refresh_token="rt-visible?", access_token="at-visible?")
    listing = admin_client.get("/staff/oauth/installation/")
    detail = admin_client.get(f"/staff/oauth/installation/{installation.pk}/change/")
    assert listing.status_code == detail.status_code == 200
    assert b"1202" in listing.content and b"orders,products,webhooks" in detail.content
    for secret in (
        "rt-visible?",
        "at-visible?",
        installation.refresh_token_encrypted,
        installation.access_token_encrypted,
    ):
        assert secret.encode() not in listing.content + detail.content
    assert decrypt(installation.refresh_token_encrypted) == "rt-visible?"


def test_staff_admin_is_not_framable(admin_client):
    response = admin_client.get("/staff/")
    assert response["X-Frame-Options"] == "DENY"
