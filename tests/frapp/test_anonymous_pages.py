import pytest
from django.contrib.sessions.models import Session

pytestmark = pytest.mark.django_db


def test_refused_launches_and_error_pages_store_no_session(client):
    for url in ("/", "/?UserID=1&CompanyID=1&hmac=" + "0" * 64, "/s/" + "a" * 32 + "/fulfillments/"):
        client.get(url)
    assert Session.objects.count() == 0
    assert not client.cookies
