"""The OAuth install on the shared transport: one exchange per refresh token, typed errors."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import flickrocket as fr


def exchange(platform, **kwargs):
    return fr.exchange_refresh_token("R1", auth_base=platform.url, client_id="app", **kwargs)


def test_the_consent_url_names_the_app_its_scopes_and_the_state():
    url = fr.authorize_url(
        auth_base="https://auth.test/",
        client_id="app",
        redirect_uri="https://app.test/oauth/callback",
        scopes=["orders", "webhooks"],
        state="s1",
    )
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("auth.test", "/oauth2/auth")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "app",
        "scope": "orders,webhooks",
        "access_type": "offline",
        "redirect_uri": "https://app.test/oauth/callback",
        "state": "s1",
    }


def test_a_granted_exchange_returns_both_tokens_and_when_the_access_token_ends(fake_platform):
    answer = {"access_token": "A", "refresh_token": "R2", "expires_in": 600, "scope": "orders", "userName": 7}
    platform = fake_platform(lambda method, path, query: (200, {}, answer))
    before = datetime.now(UTC)
    grant = exchange(platform)
    assert (grant.access_token, grant.refresh_token, grant.scope, grant.user_name) == (
        "A",
        "R2",
        "orders",
        "7",
    )
    assert before + timedelta(seconds=599) < grant.expires_at < datetime.now(UTC) + timedelta(seconds=601)
    ((method, path, _, body, _),) = platform.requests
    assert (method, path) == ("POST", "/token")
    assert parse_qs(body.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["R1"],
        "client_id": ["app"],
    }


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client", "unauthorized_client"])
def test_a_refused_grant_needs_a_reinstall(fake_platform, error):
    platform = fake_platform(lambda method, path, query: (400, {}, {"error": error}))
    with pytest.raises(fr.NeedsReinstall):
        exchange(platform)


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "0"}, fr.RateLimited, 0.0),
        (429, {"Retry-After": "3"}, fr.RateLimited, 3.0),
        (503, {}, fr.Unavailable, None),
        (400, {}, fr.BadResponse, None),
        (200, {}, fr.BadResponse, None),
    ],
)
def test_an_exchange_is_sent_once_whatever_comes_back(fake_platform, status, headers, error, retry_after):
    body = {"access_token": "A"} if status == 200 else {"error": "other"}  # 200 without a refresh token
    platform = fake_platform(lambda method, path, query: (status, headers, body))
    with pytest.raises(error) as caught:
        exchange(platform, transport=fr.Transport(fr.Policy(max_attempts=3, max_rate_wait=5)))
    assert len(platform.requests) == 1  # a refresh token is good for one exchange
    assert isinstance(caught.value, fr.Transient)
    if retry_after is not None:
        assert caught.value.retry_after == retry_after


def test_an_exchange_keeps_to_the_transports_deadline(fake_platform):
    import time

    platform = fake_platform(lambda method, path, query: (200, {}, {}))
    transport = fr.Transport()
    transport.deadline = time.monotonic() - 1
    with pytest.raises(fr.Unavailable):
        exchange(platform, transport=transport)
    assert platform.requests == []
