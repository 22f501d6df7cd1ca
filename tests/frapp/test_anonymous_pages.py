import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

pytestmark = pytest.mark.django_db


def test_refused_launches_and_error_pages_store_no_session(client):
    for url in ("/", "/?UserID=1&CompanyID=1&hmac=" + "0" * 64, "/s/" + "a" * 32 + "/fulfillments/"):
        client.get(url)
    assert Session.objects.count() == 0
    assert not client.cookies


def test_staff_login_page_stores_no_session(client):
    for _ in range(3):
        response = client.get("/staff/login/")
        assert response.status_code == 200
    assert Session.objects.count() == 0
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_staff_sign_in_through_the_real_form_with_csrf_enforced(db):
    User.objects.create_superuser("staff", "staff@example.com", "correct horse battery")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/staff/login/?next=/staff/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)[1].decode()
    assert settings.CSRF_COOKIE_NAME in page.cookies  # first-party, outside the iframe
    assert Session.objects.count() == 0

    refused = Client(enforce_csrf_checks=True).post(
        "/staff/login/?next=/staff/", {"username": "staff", "password": "correct horse battery"}
    )
    assert refused.status_code == 403  # no CSRF cookie, no sign-in
    signed_in = browser.post(
        "/staff/login/?next=/staff/",
        {"username": "staff", "password": "correct horse battery", "csrfmiddlewaretoken": token},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200
    assert Session.objects.count() == 1
